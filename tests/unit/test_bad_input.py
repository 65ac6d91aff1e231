"""Bad input is data: every case is a diagnostic with file, line and column; the other files are still
checked; nothing raises and nothing hangs."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest

from meshlint.cli import report
from meshlint.cli.options import Format
from meshlint.diagnostics import Diagnostic, ResourceRef, Severity
from meshlint.load import files as load_files
from tests.helpers import check_in, golden_lines, watchdog

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


def test_utf16_file_of_another_tool_is_only_noted(tmp_path: Path) -> None:
    """A Kubernetes Ingress saved as UTF-16 (Windows PowerShell's `>`) beside the mesh is not App Mesh input:
    a note, never an error."""
    ingress = "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web}\n"
    assert _with_good_neighbour(tmp_path, "ingress.yaml", ingress.encode("utf-16")) == [
        "ingress.yaml:1:1: info[ignored-input] a YAML or JSON file that is not App Mesh input: not read (UTF-16)"]


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


# --- special files: never opened, never a hang -------------------------------------------------------------
def test_fifo_and_socket_in_a_folder_are_skipped(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "sock.yaml"))
        (tmp_path / "mesh.yaml").write_text(GOOD)
        with watchdog(30):
            lines = _lines(tmp_path)
    assert lines == ["pipe.yaml:1:1: info[ignored-input] a named pipe (FIFO), not a regular file: not read",
                     "sock.yaml:1:1: info[ignored-input] a socket, not a regular file: not read"]


def test_special_files_named_on_the_command_line_are_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    with watchdog(30):
        lines = golden_lines(check_in(tmp_path, ["pipe.yaml", "/dev/zero"]).diagnostics)
    help_line = "    help: meshlint reads regular files; give this one's text on stdin instead: meshlint check - < FILE"
    assert lines == ["/dev/zero:1:1: error[parse-error] not read: a character device, not a regular file", help_line,
                     "pipe.yaml:1:1: error[parse-error] not read: a named pipe (FIFO), not a regular file", help_line]


def test_a_file_swapped_for_a_fifo_after_the_walk_is_not_read(tmp_path: Path) -> None:
    """The guard is in the reader too: what the walk saw as a file may be a FIFO by the time it is opened."""
    os.mkfifo(tmp_path / "pipe.yaml")
    with watchdog(30):
        text, problem = load_files.read_text(load_files.InputFile(tmp_path / "pipe.yaml", "pipe.yaml", False))
    assert text is None and problem is not None
    assert problem.message == "not read: a named pipe (FIFO), not a regular file"


def test_the_reader_reads_to_the_end_not_to_the_size_stat_gave(tmp_path: Path) -> None:
    """A file's size is a hint: a file written while it is read, or one the kernel sizes 0 (/proc), is read to
    its end; what passes the limit is cut at limit + 1, which the caller reports as too large."""
    proc = Path("/proc/self/status")
    if proc.is_file():
        assert os.stat(proc).st_size == 0
        assert load_files.read_regular(proc, 1 << 20).startswith(b"Name:")
    (tmp_path / "big.yaml").write_bytes(b"x" * 5000)
    assert load_files.read_regular(tmp_path / "big.yaml", 5000) == b"x" * 5000
    with pytest.raises(load_files.TooLarge):
        load_files.read_regular(tmp_path / "big.yaml", 4999)
    if proc.is_file():  # sized 0, longer than the limit: cut at limit + 1
        assert len(load_files.read_regular(proc, 10)) == 11


# --- links out of the checked tree ----------------------------------------------------------------------------
SECRET = "aws_secret_access_key: AKIAEXAMPLESECRET"


def _credentials(tmp_path: Path) -> Path:
    outside = tmp_path / "home" / "credentials"
    outside.parent.mkdir()
    outside.write_text(f"meshName: shop\nspec: {{}}\n{SECRET}\n")  # a schema error quotes line 3
    return outside


def test_a_folder_walk_does_not_follow_links_out_of_the_tree(tmp_path: Path) -> None:
    outside = _credentials(tmp_path)
    repo = tmp_path / "repo"
    (repo / "mesh").mkdir(parents=True)
    (repo / "mesh" / "m.yaml").write_text(GOOD)
    os.symlink(outside, repo / "mesh" / "leak.yaml")
    os.symlink(outside.parent, repo / "mesh" / "home")
    os.symlink("m.yaml", repo / "mesh" / "inside.yaml")  # inside the tree: followed
    result = check_in(repo, ["mesh"])
    assert golden_lines(result.diagnostics) == [
        "mesh/home:1:1: info[ignored-input] a symlink to a folder outside mesh: not followed",
        "    help: a folder walk reads only what lies inside the folder checked; name the target on the command "
        "line to check it",
        "mesh/leak.yaml:1:1: info[ignored-input] a symlink to a file outside mesh: not followed",
        "    help: a folder walk reads only what lies inside the folder checked; name the target on the command "
        "line to check it",
        "mesh/m.yaml:1:11: error[duplicate-resource] mesh 'shop' is defined twice; the first definition is in "
        "mesh/inside.yaml",
        "    help: delete one definition or rename it; App Mesh keeps only one resource per name",
    ]
    assert "AKIA" not in report.render(result, Format.text)


def test_a_named_link_out_of_its_folder_is_read_but_never_quoted(tmp_path: Path) -> None:
    outside = _credentials(tmp_path)
    (tmp_path / "repo").mkdir()
    os.symlink(outside, tmp_path / "repo" / "leak.yaml")
    (tmp_path / "repo" / "own.yaml").write_text(f"meshName: other\nspec: {{}}\n{SECRET}\n")
    result = check_in(tmp_path / "repo", ["leak.yaml", "own.yaml"])
    assert [line for line in golden_lines(result.diagnostics) if not line.startswith(" ")] == [
        "leak.yaml:3:1: error[schema] unknown field 'aws_secret_access_key' in the document",
        "own.yaml:3:1: error[schema] unknown field 'aws_secret_access_key' in the document",
    ]
    text = report.render(result, Format.text)
    assert text.count("AKIA") == 1  # own.yaml's excerpt only
    assert "3 | aws_secret_access_key: AKIAEXAMPLESECRET" in text.split("own.yaml:3:1")[1]


# --- numbers: one parser, 64-bit at most, never a traceback ------------------------------------------------
NODE_WITH_PORT = "meshName: m\nvirtualNodeName: n\nspec:\n  listeners:\n    - portMapping: {{port: {port}, protocol: http}}\n"


@pytest.mark.parametrize(("name", "port", "message"), [
    ("big.yaml", "9" * 5000, "a number of 5,000 digits is out of range (App Mesh integers are 64-bit: at most 20 "
     "digits)"),
    ("hex.yaml", "0x" + "f" * 5000, f"'0x{'f' * 38}...' is too long for an integer"),
    ("hex64.yaml", "0x1ffffffffffffffffffff", "'0x1ffffffffffffffffffff' is out of range (App Mesh integers are "
     "64-bit)"),
    ("tag.yaml", "!!int abc", "'abc' is not an integer"),
    ("superscript.yaml", "!!int ²", "'²' is not an integer"),
    ("float.yaml", "!!float x", "'x' is not a number"),
    ("bool.yaml", "!!bool maybe", "'maybe' is not true or false"),
])
def test_numbers_no_app_mesh_field_holds_are_parse_errors(tmp_path: Path, name: str, port: str, message: str) -> None:
    (tmp_path / name).write_text(NODE_WITH_PORT.format(port=port))
    lines = [line for line in golden_lines(check_in(tmp_path).diagnostics) if "unreachable" not in line]
    assert lines[:2] == [f"{name}:5:27: error[parse-error] {message}", "    help: it is read as text"]
    assert lines[2].startswith(f"{name}:5:27: error[schema] spec.listeners[0].portMapping.port must be an integer, "
                               "not the string")
    assert len(lines[2]) < 400  # the value is shortened in the message


def test_a_json_number_of_5000_digits_is_placed(tmp_path: Path) -> None:
    (tmp_path / "big.json").write_text('{"meshName": "m",\n "spec": {"egressFilter": {"type": ' + "9" * 5000 + "}}}\n")
    lines = golden_lines(check_in(tmp_path).diagnostics)
    assert lines[0] == ("big.json:2:36: error[parse-error] a number of 5,000 digits is out of range (App Mesh "
                        "integers are 64-bit: at most 20 digits)")


def test_numbers_in_another_tools_file_are_not_reported(tmp_path: Path) -> None:
    (tmp_path / "values.yaml").write_text("checksum: " + "7" * 64 + "\nreplicas: 3\n")
    (tmp_path / "mesh.yaml").write_text(GOOD)
    assert _lines(tmp_path) == []


# --- CloudFormation intrinsics on hostile shapes --------------------------------------------------------------
def _template(mesh_name: str, extra: str = "") -> str:
    return f"{extra}Resources:\n  M:\n    Type: AWS::AppMesh::Mesh\n    Properties:\n      MeshName: {mesh_name}\n"


def _chain(n: int) -> str:
    """n virtual nodes, each named after the next one's name (a GetAtt chain n long)."""
    out = ["Resources:", "  M:", "    Type: AWS::AppMesh::Mesh", "    Properties: {MeshName: m}"]
    for i in range(n):
        name = f"!GetAtt N{i + 1}.VirtualNodeName" if i < n - 1 else "leaf"
        out += [f"  N{i}:", "    Type: AWS::AppMesh::VirtualNode",
                f"    Properties: {{MeshName: m, VirtualNodeName: {name}, Spec: {{}}}}"]
    return "\n".join(out) + "\n"


CONDITIONS = "Conditions:\n" + "".join(f"  C{i}: !Condition C{i + 1}\n" for i in range(600)) + "  C600: !Equals [a, a]\n"


@pytest.mark.parametrize(("text", "expected"), [
    (_template("!Select ['²', [a, b]]"), ["t.yaml:5:17: warning[unresolved-value] Fn::Select has arguments meshlint "
                                          "cannot evaluate"]),
    (_template(f"!Select ['{'1' * 5000}', [a, b]]"), ["t.yaml:5:17: warning[unresolved-value] Fn::Select has "
                                                      "arguments meshlint cannot evaluate"]),
    (_template("!Select [0, !Split ['', abc]]"), [
        "t.yaml:5:17: warning[unresolved-value] Fn::Select has arguments meshlint cannot evaluate",
        "t.yaml:5:29: warning[unresolved-value] Fn::Split has arguments meshlint cannot evaluate"]),
    (_template("!Select [0, !Split [',', '" + "," * 20_000 + "']]"), [
        "t.yaml:5:17: warning[unresolved-value] Fn::Select has arguments meshlint cannot evaluate",
        "t.yaml:5:29: warning[unresolved-value] Fn::Split makes more than 10,000 items"]),
    (_template("!FindInMap [[a], b, c]", "Mappings: [1, 2]\n"), [
        "t.yaml:6:17: warning[unresolved-value] Fn::FindInMap has arguments meshlint cannot evaluate"]),
    (_template("!FindInMap [a, b, c]", "Mappings: {a: [1]}\n"), [
        "t.yaml:6:17: warning[unresolved-value] Fn::FindInMap has arguments meshlint cannot evaluate"]),
    (_template("!Ref P", "Parameters: {P: {Type: Number, Default: '²'}}\n"), []),
    (_template("!Sub '" + "${!x}" * 200_000 + "'"), [
        "t.yaml:5:17: warning[unresolved-value] Fn::Sub evaluates to more than 65,536 characters"]),
    (CONDITIONS + _template("m").replace("    Properties:", "    Condition: C0\n    Properties:"),
     ["t.yaml:65:8: warning[unresolved-value] condition C64 nests conditions more than 64 deep"]),
    (_chain(600), ["t.yaml:199:48: warning[unresolved-value] Fn::GetAtt nests intrinsic functions more than 64 deep "
                   "(a chain of GetAtt, Ref or conditions)"]),
], ids=["select-superscript", "select-5000-digits", "split-empty-separator", "split-huge", "findinmap-list-mappings",
        "findinmap-list-map", "number-parameter-superscript", "sub-200000-placeholders", "condition-chain-600", "getatt-chain-600"])
def test_cloudformation_intrinsics_on_hostile_shapes(tmp_path: Path, text: str, expected: list[str]) -> None:
    (tmp_path / "t.yaml").write_text(text)
    with watchdog(60):
        lines = [line for line in golden_lines(check_in(tmp_path).diagnostics) if "unresolved-value" in line]
    assert lines == expected


def test_names_that_double_at_every_step_are_bounded(tmp_path: Path) -> None:
    """Each node named twice the next one's name: 2**40 characters unless each name is evaluated once and
    results are bounded."""
    out = ["Resources:", "  M:", "    Type: AWS::AppMesh::Mesh", "    Properties: {MeshName: m}"]
    for i in range(40):
        twice = f"!Join ['', [!GetAtt N{i + 1}.VirtualNodeName, !GetAtt N{i + 1}.VirtualNodeName]]"
        out += [f"  N{i}:", "    Type: AWS::AppMesh::VirtualNode",
                f"    Properties: {{MeshName: m, VirtualNodeName: {twice if i < 39 else 'ab'}, Spec: {{}}}}"]
    (tmp_path / "t.yaml").write_text("\n".join(out) + "\n")
    with watchdog(60):
        lines = golden_lines(check_in(tmp_path).diagnostics)
    assert any("virtualNodeName is 256 characters, longer than 255" in line for line in lines)


# --- surrogates and report order ------------------------------------------------------------------------------
def test_a_lone_surrogate_in_a_json_string_is_reported_in_every_format(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text('{"meshName": "m\\ud800", "virtualNodeName": "n\\udfff", "spec": {}}\n')
    result = check_in(tmp_path)
    assert [d.rule for d in result.diagnostics] == ["mesh-not-defined", "unreachable-node"]
    for fmt in Format:
        rendered = report.render(result, fmt).encode("utf-8", "backslashreplace").decode("utf-8")
        assert "\\ud800" in rendered
    parsed = json.loads(report.render(result, Format.json).encode("utf-8", "backslashreplace"))
    assert parsed["diagnostics"][0]["resource"]["mesh"] == "m\ud800"


def test_diagnostics_sort_by_everything_they_show() -> None:
    """Two findings at one place with one message (two resources translated from one template node) sort the
    same way whatever order they were found in."""
    def at(name: str) -> Diagnostic:
        return Diagnostic("schema", "ML002", Severity.ERROR, "bad", "t.yaml", 3, 5, "/spec",
                          resource=ResourceRef("VirtualNode", "m", name))

    one, two = at("a"), at("b")
    assert sorted([two, one], key=lambda d: d.sort_key) == sorted([one, two], key=lambda d: d.sort_key) == [one, two]
