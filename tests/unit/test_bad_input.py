"""Bad input is data: every case is a diagnostic with file, line and column; the other files are still
checked; nothing raises and nothing hangs."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from meshlint.load import files as load_files
from tests.helpers import check_in, golden_lines

GOOD = "meshName: shop\nspec: {}\n"


def _lines(folder: Path) -> list[str]:
    return [line for line in golden_lines(check_in(folder).diagnostics) if not line.startswith(" ")]


def _with_good_neighbour(tmp_path: Path, name: str, content: str | bytes) -> list[str]:
    bad = tmp_path / name
    bad.write_bytes(content if isinstance(content, bytes) else content.encode())
    (tmp_path / "good.yaml").write_text(GOOD + "---\nmeshName: shop\nvirtualNodeName: web\nspec: {nonsense: 1}\n")
    lines = _lines(tmp_path)
    # the neighbour is still checked: its schema error is reported beside the bad file's diagnostic
    assert any(line.startswith("good.yaml:6:8: error[schema] unknown field 'nonsense'") for line in lines)
    return [line for line in lines if line.startswith(name)]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        # App Mesh input (it names meshName); another tool's file that does not parse is an ignored-input note
        ("meshName: [1, 2\n", "bad.yaml:2:1: error[parse-error] not valid YAML/JSON: did not find expected ',' or ']'"),
        ("meshName: a\nmeshName: b\n",
         "bad.yaml:2:1: error[parse-error] duplicate key 'meshName' (first at line 1); the later value wins"),
        ("a: &x\n  b: *x\n", "bad.yaml:1:4: error[parse-error] recursive YAML alias: a node contains itself"),
        ("meshName: <<: 1\n",
         "bad.yaml:1:13: error[parse-error] not valid YAML/JSON: mapping values are not allowed in this context"),
        ("- " * 0 + "[" * 120 + "]" * 120 + "\n", "bad.yaml:1:102: error[parse-error] nesting deeper than 100 levels"),
        ("a: 1\n\x00\n", "bad.yaml:2:1: error[parse-error] file contains NUL bytes; it is not text"),
    ],
    ids=["syntax", "duplicate-key", "recursive-alias", "mapping-in-scalar", "deep-nesting", "nul-byte"],
)
def test_malformed_yaml(tmp_path: Path, content: str, expected: str) -> None:
    assert _with_good_neighbour(tmp_path, "bad.yaml", content) == [expected]


def test_not_utf8(tmp_path: Path) -> None:
    assert _with_good_neighbour(tmp_path, "bad.yaml", b"meshName: caf\xe9\n") == [
        "bad.yaml:1:14: error[parse-error] not UTF-8: byte 0xe9 cannot be decoded"]


def test_utf16(tmp_path: Path) -> None:
    assert _with_good_neighbour(tmp_path, "bad.yaml", GOOD.encode("utf-16")) == [
        "bad.yaml:1:1: error[parse-error] file is UTF-16; meshlint reads UTF-8"]


def test_utf8_bom_is_fine(tmp_path: Path) -> None:
    (tmp_path / "bom.yaml").write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert _lines(tmp_path) == []


def test_json_with_placeholder_names_it(tmp_path: Path) -> None:
    """A placeholder where a whole value belongs is read as that text: reported once, the rest is checked."""
    result = check_in_file(tmp_path, "bad.json", '{"meshName": ${MESH}, "spec": {"egressFilter": {"type": "ANY"}}}\n')
    assert [line for line in golden_lines(result) if not line.startswith(" ")] == [
        "bad.json:1:14: warning[template-placeholder] template placeholder ${MESH} left in a value",
        "bad.json:1:57: error[schema] spec.egressFilter.type is 'ANY', not one of ALLOW_ALL, DROP_ALL",
    ]


def check_in_file(tmp_path: Path, name: str, text: str) -> list:  # type: ignore[type-arg]
    (tmp_path / name).write_text(text)
    return check_in(tmp_path).diagnostics


def test_json_duplicate_key_is_placed(tmp_path: Path) -> None:
    lines = golden_lines(check_in_file(tmp_path, "d.json", '{\n  "meshName": "a",\n  "meshName": "b"\n}\n'))
    assert lines[0] == "d.json:3:3: error[parse-error] duplicate key 'meshName' (first at line 2); the later value wins"


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        prev, cur = chr(96 + i), chr(97 + i)
        levels.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    (tmp_path / "bomb.yaml").write_text("\n".join(levels) + "\n")
    started = time.monotonic()
    lines = _lines(tmp_path)
    assert time.monotonic() - started < 10  # a bound against a hang, not a benchmark
    assert lines == ["bomb.yaml:1:1: error[parse-error] document expands to more than 2,000,000 nodes through YAML "
                     "aliases"]


def test_huge_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load_files, "MAX_FILE_BYTES", 1024)
    (tmp_path / "big.yaml").write_text("# padding\n" * 200)
    assert _lines(tmp_path) == ["big.yaml:1:1: error[parse-error] file is 0.0 MiB, over the 0 MiB limit"]


def test_symlink_loop_in_folder(tmp_path: Path) -> None:
    (tmp_path / "mesh").mkdir()
    (tmp_path / "mesh" / "m.yaml").write_text(GOOD)
    os.symlink("..", tmp_path / "mesh" / "up")
    lines = _lines(tmp_path)
    assert lines == ["mesh/up:1:1: error[parse-error] symlink loop: this folder was already read"]


def test_symlink_loop_on_a_file(tmp_path: Path) -> None:
    os.symlink("b.yaml", tmp_path / "a.yaml")
    os.symlink("a.yaml", tmp_path / "b.yaml")
    assert _lines(tmp_path) == [
        "a.yaml:1:1: error[parse-error] cannot read: symlink loop",
        "b.yaml:1:1: error[parse-error] cannot read: symlink loop",
    ]


def test_wrong_types_everywhere_do_not_crash(tmp_path: Path) -> None:
    docs = ["[]", "42", "'text'", "meshName: [a]", "meshName: shop\nspec: []", "meshName: shop\nvirtualNodeName: 7",
            "meshName: shop\nvirtualNodeName: n\nspec: {listeners: 5, backends: {a: 1}}", "virtualNode: 5"]
    (tmp_path / "types.yaml").write_text("\n---\n".join(docs) + "\n")
    lines = _lines(tmp_path)
    assert "types.yaml:7:11: error[schema] meshName must be a string, not a list" in lines
    assert "types.yaml:10:7: error[schema] spec must be a mapping, not a list" in lines
    assert "types.yaml:13:18: error[schema] virtualNodeName must be a string, not the number 7" in lines
    assert any("spec.listeners must be a list, not the number 5" in line for line in lines)


def test_names_that_look_like_paths_are_only_names(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(
        "meshName: ../../etc\nspec: {}\n---\nmeshName: ../../etc\nvirtualNodeName: /etc/passwd\nspec: {}\n")
    lines = _lines(tmp_path)
    assert lines == ["m.yaml:5:18: warning[unreachable-node] virtual node '/etc/passwd' receives no traffic: no "
                     "virtual service provides it and no route targets it"]


def test_stdin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"meshName: shop\nspec: {egressFilter: 1}\n")))
    lines = [line for line in golden_lines(check_in(tmp_path, ["-"]).diagnostics) if not line.startswith(" ")]
    assert lines == ["<stdin>:2:22: error[schema] spec.egressFilter must be a mapping, not the number 1"]
