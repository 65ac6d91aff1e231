"""Text -> documents (plain data), with positions on request.

libyaml (through PyYAML's C parser) composes the node tree, which carries start/end marks; one walk turns
it into plain Python data. The same walk can record a source map (JSON Pointer -> span); the loader asks
for that only when a diagnostic needs a position, so clean files never pay for it.

The walk is also where the safety limits live: duplicate keys, alias expansion (a "billion laughs" file
is refused before anything expands it), recursive aliases and nesting depth.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from meshlint.diagnostics import Position, join_pointer

MAX_DEPTH = 100
MAX_EXPANDED_NODES = 2_000_000  # per document, counting every aliased subtree each time it is used

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_STR = "tag:yaml.org,2002:str"
_CONSTRUCTOR = yaml.constructor.SafeConstructor()

# CloudFormation short-form tags become their long form so that later stages see one shape.
_CFN_TAGS = {
    "!Ref": "Ref", "!Condition": "Condition", "!GetAtt": "Fn::GetAtt", "!Sub": "Fn::Sub", "!If": "Fn::If",
    "!Join": "Fn::Join", "!ImportValue": "Fn::ImportValue", "!Select": "Fn::Select",
    "!Split": "Fn::Split", "!Equals": "Fn::Equals", "!And": "Fn::And", "!Or": "Fn::Or", "!Not": "Fn::Not",
    "!FindInMap": "Fn::FindInMap", "!Base64": "Fn::Base64", "!Cidr": "Fn::Cidr", "!GetAZs": "Fn::GetAZs",
}

Span = tuple[int, int, int, int]  # start line, start column, end line, end column (1-based)


@dataclass
class SourceMap:
    values: dict[str, Span] = field(default_factory=dict)
    keys: dict[str, Span] = field(default_factory=dict)


@dataclass
class ParsedDoc:
    data: Any
    start: Position
    source_map: SourceMap | None = None
    stream_index: int = 0  # which document of the YAML stream (refused documents leave gaps)


@dataclass
class Problem:
    message: str
    position: Position
    help: str | None = None
    fatal: bool = True  # a fatal problem drops the document; a non-fatal one (duplicate key) keeps it


class _Refused(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _pos(mark: Any) -> Position:
    return Position(mark.line + 1, mark.column + 1)


def _span(node: yaml.Node) -> Span:
    return (node.start_mark.line + 1, node.start_mark.column + 1, node.end_mark.line + 1,
            node.end_mark.column + 1)


class _Walker:
    def __init__(self, record: bool) -> None:
        self.source_map = SourceMap() if record else None
        self.problems: list[Problem] = []
        self._sizes: dict[int, int] = {}
        self._open: set[int] = set()
        self._budget = MAX_EXPANDED_NODES

    def document(self, root: yaml.Node) -> Any:
        self._charge(root)
        return self._value(root, "", 0)

    def _charge(self, root: yaml.Node) -> None:
        """Refuse documents whose aliases would expand beyond the budget, before building anything."""
        total = self._size(root)
        if total > self._budget:
            raise _Refused(Problem(
                f"document expands to more than {MAX_EXPANDED_NODES:,} nodes through YAML aliases",
                _pos(root.start_mark), "an alias bomb, or a document far larger than any mesh needs"))

    def _size(self, node: yaml.Node) -> int:
        key = id(node)
        cached = self._sizes.get(key)
        if cached is not None:
            return cached
        if key in self._open:
            raise _Refused(Problem("recursive YAML alias: a node contains itself", _pos(node.start_mark)))
        self._open.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += self._size(k) + self._size(v)
                if total > self._budget:
                    break
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                total += self._size(item)
                if total > self._budget:
                    break
        self._open.discard(key)
        self._sizes[key] = total
        return total

    def _value(self, node: yaml.Node, pointer: str, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise _Refused(Problem(f"nesting deeper than {MAX_DEPTH} levels", _pos(node.start_mark)))
        if self.source_map is not None:
            self.source_map.values[pointer] = _span(node)
        if isinstance(node, yaml.MappingNode):
            value: Any = self._mapping(node, pointer, depth)
        elif isinstance(node, yaml.SequenceNode):
            value = [self._value(item, f"{pointer}/{i}", depth + 1) for i, item in enumerate(node.value)]
        else:
            value = _scalar(node)
        long_form = _CFN_TAGS.get(node.tag)
        if long_form is not None:
            if long_form == "Fn::GetAtt" and isinstance(value, str):
                value = value.split(".", 1)
            value = {long_form: value}
        return value

    def _mapping(self, node: yaml.MappingNode, pointer: str, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first_seen: dict[str, Position] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _Refused(Problem("YAML merge keys (<<) are not supported in App Mesh definitions",
                                       _pos(key_node.start_mark), "write the merged fields out"))
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Refused(Problem("mapping keys must be plain strings", _pos(key_node.start_mark)))
            key = str(key_node.value)
            where = _pos(key_node.start_mark)
            if key in first_seen:
                earlier = first_seen[key]
                self.problems.append(Problem(
                    f"duplicate key {key!r} (first at line {earlier.line}); the later value wins",
                    where, "remove one of the two", fatal=False))
            first_seen[key] = where
            child = join_pointer(pointer, key) if "~" in key or "/" in key else f"{pointer}/{key}"
            if self.source_map is not None:
                self.source_map.keys[child] = _span(key_node)
            out[key] = self._value(value_node, child, depth + 1)
        return out


def _scalar(node: Any) -> Any:
    tag = node.tag
    if tag == _STR or tag.startswith("!"):
        return node.value
    if tag == _INT:
        return _CONSTRUCTOR.construct_yaml_int(node)
    if tag == _FLOAT:
        return _CONSTRUCTOR.construct_yaml_float(node)
    if tag == _BOOL:
        return _CONSTRUCTOR.construct_yaml_bool(node)
    if tag == _NULL:
        return None
    return node.value  # timestamps, binary, ...: App Mesh has none of these; keep the text


class _Unusual(Exception):
    """The fast walk met something the careful walk must judge (a duplicate or odd key, deep nesting)."""


_MAPPING, _SEQUENCE = yaml.MappingNode, yaml.SequenceNode


def _plain(node: Any, depth: int) -> Any:
    """Node -> data with no positions and no checks beyond those that send it to the careful walk. This
    is the path every clean file takes, so it does as little per node as it can."""
    if depth > MAX_DEPTH:
        raise _Unusual
    cls = type(node)
    if cls is _MAPPING:
        out = {}
        for key_node, value_node in node.value:
            if type(key_node) is not yaml.ScalarNode or key_node.tag == "tag:yaml.org,2002:merge":
                raise _Unusual
            out[key_node.value] = _plain(value_node, depth + 1)
        if len(out) != len(node.value):
            raise _Unusual  # a duplicate key: the careful walk reports where
        value: Any = out
    elif cls is _SEQUENCE:
        value = [_plain(item, depth + 1) for item in node.value]
    else:
        value = _scalar(node)
    if node.tag[0] == "!" and node.tag in _CFN_TAGS:
        long_form = _CFN_TAGS[node.tag]
        if long_form == "Fn::GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        value = {long_form: value}
    return value


def _document(root: yaml.Node, record: bool, may_alias: bool) -> tuple[Any, _Walker | None]:
    """One document's data, the fast way when nothing needs a closer look."""
    if not record:
        try:
            if may_alias:
                _Walker(False)._charge(root)
            return _plain(root, 0), None
        except _Unusual:
            pass
    walker = _Walker(record)
    return walker.document(root), walker


def parse_text(text: str, *, record: bool, json_fallback: bool = False) -> tuple[list[ParsedDoc], list[Problem]]:
    """Parse every document of one file. Documents before a syntax error are kept."""
    docs: list[ParsedDoc] = []
    problems: list[Problem] = []
    may_alias = "&" in text  # no anchor, no alias: nothing can expand
    try:
        for index, root in enumerate(_compose(text)):
            try:
                data, walker = _document(root, record, may_alias)
            except _Refused as refused:
                problems.append(refused.problem)
                continue
            if walker is not None:
                problems.extend(walker.problems)
            docs.append(ParsedDoc(data, _pos(root.start_mark), walker.source_map if walker else None, index))
    except yaml.MarkedYAMLError as err:
        if json_fallback and not docs:
            parsed = _json_only(text)
            if parsed is not None:
                return [parsed], problems
        problems.append(_syntax_problem(err, text))
    except yaml.YAMLError as err:  # errors without marks (reader errors on odd control characters)
        problems.append(Problem(f"not valid YAML: {err}", Position(1, 1)))
    return docs, problems


def parse_json(text: str, *, record: bool) -> tuple[list[ParsedDoc], list[Problem]]:
    """A .json file must be JSON (not merely YAML): `"name": $VAR` is a template, not a string.

    The C JSON parser does the work; the YAML path runs only to record positions or to place duplicate keys.
    """
    if not text.strip():
        return [], []
    duplicates = False

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal duplicates
        out = dict(pairs)
        duplicates = duplicates or len(out) != len(pairs)
        return out

    try:
        data = json.loads(text, object_pairs_hook=pairs_hook)
    except json.JSONDecodeError as err:
        line = text.splitlines()[err.lineno - 1] if err.lineno <= len(text.splitlines()) else ""
        placeholder = _placeholder_near(line, err.colno)
        hint = (f"{placeholder!r} looks like a template placeholder; render the template (envsubst, helm template) "
                "before checking") if placeholder else None
        return [], [Problem(f"not valid JSON: {err.msg}", Position(err.lineno, err.colno), hint)]
    except RecursionError:
        return [], [Problem(f"nesting deeper than {MAX_DEPTH} levels", Position(1, 1))]
    if duplicates or record:
        return parse_text(text, record=record, json_fallback=True)
    return [ParsedDoc(data, Position(1, 1))], []


def compose_roots(text: str) -> list[yaml.Node]:
    """The node trees of every document, for finding positions (see `locate`); [] when YAML cannot read
    the text (a JSON file with escapes YAML rejects: positions then fall back to 1:1)."""
    try:
        return list(_compose(text))
    except yaml.YAMLError:
        return []


def locate(root: yaml.Node, tokens: list[str], at_key: bool) -> Position:
    """Position of the node at the JSON Pointer `tokens` below `root` (of the key, with `at_key`), or of the
    nearest enclosing node when the path does not exist. Only the path is walked: no map is built."""
    node = root
    for i, token in enumerate(tokens):
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == token), None)
            if pair is None:
                break
            if at_key and i == len(tokens) - 1:
                return _pos(pair[0].start_mark)
            node = pair[1]
        elif isinstance(node, yaml.SequenceNode) and token.isdigit() and int(token) < len(node.value):
            node = node.value[int(token)]
        else:
            break
    return _pos(node.start_mark)


def _compose(text: str) -> Iterator[yaml.Node]:
    yield from yaml.compose_all(text, Loader=yaml.CSafeLoader)


def _json_only(text: str) -> ParsedDoc | None:
    """JSON that YAML cannot read (surrogate-pair escapes): keep the data, positions fall back to 1:1."""
    try:
        return ParsedDoc(json.loads(text), Position(1, 1), SourceMap())
    except ValueError:
        return None


def _syntax_problem(err: yaml.MarkedYAMLError, text: str) -> Problem:
    mark = err.problem_mark or err.context_mark
    position = _pos(mark) if mark is not None else Position(1, 1)
    problem = (err.problem or "syntax error").strip()
    if err.context:
        problem = f"{err.context.strip()}: {problem}" if "while" not in err.context else problem
    message = f"not valid YAML/JSON: {problem}"
    line = text.splitlines()[position.line - 1] if position.line - 1 < len(text.splitlines()) else ""
    placeholder = _placeholder_near(line, position.column)
    help_text = None
    if placeholder:
        help_text = (f"{placeholder!r} looks like a template placeholder; render the template "
                     "(envsubst, helm template) before checking")
    elif "\t" in line[: position.column]:
        help_text = "YAML does not allow tabs for indentation; indent with spaces"
    return Problem(message, position, help_text)


_PLACEHOLDER = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\{\{[^}]*\}\}|<[A-Za-z][^<>]*>")


def _placeholder_near(line: str, column: int) -> str | None:
    """The template placeholder closest to the error column on the failing line, if any."""
    found = [(abs(m.start() + 1 - column), m.group(0)) for m in _PLACEHOLDER.finditer(line)]
    return min(found)[1] if found else None
