"""`SourceFile.value_span(doc, pointer)`: the characters of one value in the file as it is on disk, the one
thing `--fix` asks of an input format. Pinned here as a contract (any new format must answer the same way)."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshlint.load.sources import SourceFile, load_sources

TEXT = """a: 80
b: "80"
c: '80'
d: !Ref Weight
e: &w 80
f: *w
g: {x: 1}
h: [1, 2]
i: !!int 8
dup: 1
dup: 2
k: {Fn::Sub: x}
l: ${W}
m: x${W}
"""


def _source(tmp_path: Path, text: str, name: str = "a.yaml", env: dict[str, str] | None = None) -> SourceFile:
    (tmp_path / name).write_bytes(text.encode())
    return load_sources([str(tmp_path / name)], substitutions=env).files[0]


@pytest.mark.parametrize(("pointer", "written"), [
    ("/a", "80"), ("/b", '"80"'), ("/c", "'80'"), ("/k/Fn::Sub", "x"), ("/l", "${W}"), ("/m", "x${W}"),
])
def test_the_text_of_a_plain_value(tmp_path: Path, pointer: str, written: str) -> None:
    source = _source(tmp_path, TEXT)
    span = source.value_span(0, pointer)
    assert span is not None and (source.file_text or "")[span[0]:span[1]] == written


@pytest.mark.parametrize("pointer", [
    "/d", "/d/Ref", "/e", "/f", "/g", "/h", "/i", "/dup", "/nothing", "/a/deeper", "/h/5", "",
])
def test_none_where_there_is_no_plain_value_to_edit(tmp_path: Path, pointer: str) -> None:
    assert _source(tmp_path, TEXT).value_span(0, pointer) is None


def test_offsets_are_into_the_file_text(tmp_path: Path) -> None:
    """Characters, not bytes; the BOM is not part of the text; CR, CRLF, NEL and U+2028 are line breaks to
    YAML but each one or two characters here."""
    text = "\ufeffnote: \"\U0001f600 a\u2028b\x85c\"\r\nx: 1\ry: 2\nweight: 80\n"
    source = _source(tmp_path, text)
    span = source.value_span(0, "/weight")
    assert span is not None and source.file_text is not None
    assert source.file_text[span[0]:span[1]] == "80" and source.file_text == text[1:]


def test_json_and_later_documents(tmp_path: Path) -> None:
    source = _source(tmp_path, '{"spec": {"weight": 80}}', "a.json")
    span = source.value_span(0, "/spec/weight")
    assert span is not None and (source.file_text or "")[span[0]:span[1]] == "80"
    source = _source(tmp_path, "a: 1\n---\na: 2\n")
    span = source.value_span(1, "/a")
    assert span == (12, 13)
    assert source.value_span(2, "/a") is None


def test_substituted_values_map_back_or_are_refused(tmp_path: Path) -> None:
    source = _source(tmp_path, TEXT, env={"W": "80"})
    assert source.text != source.file_text  # the text was filled in; the file was not
    assert source.value_span(0, "/l") is None  # the value came from the environment
    assert source.value_span(0, "/m") is None
    text = "name: ${NAME}\nweight: 80\n"
    source = _source(tmp_path, text, env={"NAME": "a-much-longer-name"})
    assert source.value_span(0, "/weight") == (text.index("80"), text.index("80") + 2)
