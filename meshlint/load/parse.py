"""Text -> documents (plain data), with positions on request.

libyaml (through PyYAML's C parser) composes the node tree, which carries start/end marks; one walk turns
it into plain Python data. The same walk can record a source map (JSON Pointer -> span); the loader asks
for that only when a diagnostic needs a position, so clean files never pay for it.

The walk is also where the safety limits live: duplicate keys, alias expansion (a "billion laughs" file
is refused before anything expands it), recursive aliases and nesting depth.
"""

from __future__ import annotations

import json
import operator
import re
import sys
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import yaml
from yaml._yaml import CParser

from meshlint.diagnostics import Position, join_pointer
from meshlint.numbers import MAX_DIGITS, MAX_TEXT, as_int, in_range, out_of_range, preview

if TYPE_CHECKING:
    from meshlint.load.hcl import HclDocument

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


Marks: TypeAlias = "array[int]"  # (line, column, subtree entries) triples; see `_plain`, `locate_marked`
# entry of a mapping or sequence value in Marks -> entry of each key (by name) or of each item (by position)
MarkIndex: TypeAlias = "dict[int, dict[str, int] | list[int]]"


@dataclass
class ParsedDoc:
    data: Any
    start: Position
    source_map: SourceMap | None = None
    stream_index: int = 0  # which document of the YAML stream (refused documents leave gaps)
    marks: Marks | None = None  # positions of `data`, when the fast walk read it (not for JSON or odd YAML)
    hcl: HclDocument | None = None  # a Terraform file: `data` is its syntax tree, positions come from here
    index: MarkIndex = field(default_factory=dict)  # built by `locate_marked` as positions are asked for


@dataclass
class Problem:
    message: str
    position: Position
    help: str | None = None
    fatal: bool = True  # a fatal problem drops the document; a non-fatal one (duplicate key) keeps it
    # a YAML feature other tools use and App Mesh definitions do not (merge keys, keys that are not strings):
    # a problem of App Mesh input only, never of a docker-compose file or a Rails config beside it
    foreign: bool = False


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
            try:
                value = _scalar(node)
            except _BadScalar as bad:
                self.problems.append(Problem(str(bad), _pos(node.start_mark), "it is read as text", fatal=False))
                value = node.value
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
                                       _pos(key_node.start_mark), "write the merged fields out", foreign=True))
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Refused(Problem("mapping keys must be plain strings", _pos(key_node.start_mark), foreign=True))
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
    """A scalar node's value. Raises _BadScalar for a value its tag cannot have (`!!int abc`) and for an
    integer out of range (meshlint.numbers): the careful walk reports those and keeps the text."""
    tag = node.tag
    if tag == _STR or tag.startswith("!"):
        return node.value
    if tag == _INT:
        value = node.value
        # plain decimal is the common case; YAML 1.1 also reads 010 as octal, 0x.., 1_000 and 1:30
        if value.isascii() and value.isdigit() and (value[0] != "0" or value == "0"):
            if len(value) > MAX_DIGITS:
                raise _BadScalar(out_of_range(len(value)))
            return int(value)
        return _checked(_CONSTRUCTOR.construct_yaml_int, node, "an integer")
    if tag == _FLOAT:
        return _checked(_CONSTRUCTOR.construct_yaml_float, node, "a number")
    if tag == _BOOL:
        return _checked(_CONSTRUCTOR.construct_yaml_bool, node, "true or false")
    if tag == _NULL:
        return None
    return node.value  # timestamps, binary, ...: App Mesh has none of these; keep the text


def _checked(construct: Any, node: Any, what: str) -> Any:
    """PyYAML's constructor for an explicitly tagged or unusual scalar, never raising: `!!int abc` or `!!bool
    maybe` is a problem, and so is text too long to convert cheaply or an integer beyond 64 bits."""
    text = node.value
    if len(text) > MAX_TEXT:
        raise _BadScalar(f"{preview(text)} is too long for {what}")
    try:
        value = construct(node)
    except (ValueError, IndexError, KeyError):
        raise _BadScalar(f"{preview(text)} is not {what}") from None
    if type(value) is int and not in_range(value):
        raise _BadScalar(f"{preview(text)} is out of range (App Mesh integers are 64-bit)")
    return value


class _Unusual(Exception):
    """The fast walk met something the careful walk must judge (a duplicate or odd key, deep nesting)."""


class _BadScalar(_Unusual):
    """A scalar whose value cannot be read (see `_scalar`); the message says why."""


_MAPPING, _SEQUENCE, _SCALAR = yaml.MappingNode, yaml.SequenceNode, yaml.ScalarNode
_MERGE = "tag:yaml.org,2002:merge"
_intern = sys.intern


def _plain(node: Any, depth: int, marks: array[int]) -> Any:
    """Node -> data with no positions and no checks beyond those that send it to the careful walk. This
    is the path every clean file takes, so it does as little per node as it can.

    `marks` receives the node's position table (see `Marks`): one entry per value and per key, in document
    order, each (line, column, entries in its subtree).

    Keys are interned: the same few dozen names recur in every document, and one string each rather than one
    per occurrence takes a tenth off the memory of a large mesh (lookups by those keys then compare by
    identity)."""
    if depth > MAX_DEPTH:
        raise _Unusual
    start = len(marks)
    mark = node.start_mark
    marks.extend((mark.line, mark.column, 1))
    cls = type(node)
    if cls is _MAPPING:
        out = {}
        leaves = depth < MAX_DEPTH  # a scalar value is within the depth limit, so it may be read right here
        for key_node, value_node in node.value:
            if type(key_node) is not _SCALAR or key_node.tag == _MERGE:
                raise _Unusual
            key_mark = key_node.start_mark
            # Most values are untagged scalars: reading them here, with their key's entry and theirs in one
            # extend, saves a call per value (a fifth of the walk). Tagged ones (`!Ref`) take the full path.
            if leaves and type(value_node) is _SCALAR:
                tag = value_node.tag
                if tag[0] != "!":
                    value_mark = value_node.start_mark
                    marks.extend((key_mark.line, key_mark.column, 1, value_mark.line, value_mark.column, 1))
                    out[_intern(key_node.value)] = value_node.value if tag == _STR else _scalar(value_node)
                    continue
            marks.extend((key_mark.line, key_mark.column, 1))
            out[_intern(key_node.value)] = _plain(value_node, depth + 1, marks)
        if len(out) != len(node.value):
            raise _Unusual  # a duplicate key: the careful walk reports where
        value: Any = out
    elif cls is _SEQUENCE:
        value = []
        leaves = depth < MAX_DEPTH
        for item in node.value:
            if leaves and type(item) is _SCALAR:  # the same for the items of a list (ports, retry events)
                tag = item.tag
                if tag[0] != "!":
                    item_mark = item.start_mark
                    marks.extend((item_mark.line, item_mark.column, 1))
                    value.append(item.value if tag == _STR else _scalar(item))
                    continue
            value.append(_plain(item, depth + 1, marks))
    else:
        value = _scalar(node)
    marks[start + 2] = (len(marks) - start) // 3
    if node.tag[0] == "!" and node.tag in _CFN_TAGS:
        long_form = _CFN_TAGS[node.tag]
        here = (mark.line, mark.column)
        if long_form == "Fn::GetAtt" and isinstance(value, str):
            value = value.split(".", 1)  # one scalar became a list: its items all sit where the scalar does
            marks[start:] = array("i", (*here, 1 + len(value), *(*here, 1) * len(value)))
        value = {long_form: value}  # the wrapper and its key sit where the tagged node does
        marks[start:start] = array("i", (*here, 0, *here, 1))
        marks[start + 2] = (len(marks) - start) // 3
    return value


def _document(root: yaml.Node, record: bool, may_alias: bool) -> tuple[Any, _Walker | None, Marks | None]:
    """One document's data, the fast way (with its position table) when nothing needs a closer look."""
    if not record:
        try:
            if may_alias:
                _Walker(False)._charge(root)
            marks = array("i")
            return _plain(root, 0, marks), None, marks
        except _Unusual:
            pass
    walker = _Walker(record)
    return walker.document(root), walker, None


def parse_text(text: str, *, record: bool, json_fallback: bool = False) -> tuple[list[ParsedDoc], list[Problem]]:
    """Parse every document of one file. Documents before a syntax error are kept."""
    docs: list[ParsedDoc] = []
    problems: list[Problem] = []
    may_alias = "&" in text  # no anchor, no alias: nothing can expand
    try:
        for index, root in enumerate(_compose(text)):
            try:
                data, walker, marks = _document(root, record, may_alias)
            except _Refused as refused:
                problems.append(refused.problem)
                continue
            if walker is not None:
                problems.extend(walker.problems)
            docs.append(ParsedDoc(data, _pos(root.start_mark), walker.source_map if walker else None, index, marks))
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
        data = json.loads(text, object_pairs_hook=pairs_hook, parse_int=_json_int)
    except _BadScalar:  # the YAML walk reports it where it is
        return parse_text(text, record=record, json_fallback=True)
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


HCL_SUFFIXES = (".tf", ".tfvars")


def parse_hcl_doc(text: str, *, record: bool) -> tuple[list[ParsedDoc], list[Problem]]:
    """A Terraform file: one document whose data is the syntax tree (load.hcl_syntax.Body)."""
    from meshlint.load.hcl import error_position, parse_hcl  # tree-sitter: only for Terraform input

    document, error = parse_hcl(text)
    if document is None:
        assert error is not None
        return [], [Problem(str(error), error_position(text, error))]
    return [ParsedDoc(document.body, Position(1, 1), hcl=document)], []


def compose_roots(text: str) -> list[yaml.Node]:
    """The node trees of every document, for finding positions (see `locate`); [] when YAML cannot read
    the text (a JSON file with escapes YAML rejects: positions then fall back to 1:1)."""
    try:
        return list(_compose(text))
    except yaml.YAMLError:
        return []


def locate_marked(data: Any, marks: Marks, tokens: list[str], at_key: bool, index: MarkIndex | None = None
                  ) -> Position:
    """`locate` for a document read by the fast walk, from its position table instead of its node tree.

    The table lists, in document order, one (line, column, size) entry for every value of `data` and for
    every mapping key, `size` being the number of entries of that value's subtree (1 for a scalar or key).
    A value's subtree therefore starts right after its key, and a sibling is skipped by adding its size.
    `index` (the document's own, kept between calls) remembers where the children of each mapping and
    sequence on a looked-up path start: each is listed once, so every lookup costs the pointer's length,
    however many siblings there are (a node with 20,000 backends, a diagnostic on each).
    """
    index = {} if index is None else index
    entry, value = 0, data
    for n, token in enumerate(tokens):
        if type(value) is dict and token in value:
            keys = index.get(entry)
            if keys is None:
                keys = index[entry] = _children(value, marks, entry)
            assert type(keys) is dict
            key = keys[token]
            if at_key and n == len(tokens) - 1:
                entry = key
                break
            entry, value = key + 1, value[token]
        elif type(value) is list and (item := as_int(token, signed=False)) is not None and item < len(value):
            items = index.get(entry)
            if items is None:
                items = index[entry] = _children(value, marks, entry)
            assert type(items) is list
            entry, value = items[item], value[item]
        else:
            break
    return Position(marks[3 * entry] + 1, marks[3 * entry + 1] + 1)


def _children(value: dict[str, Any] | list[Any], marks: Marks, entry: int) -> dict[str, int] | list[int]:
    """Where each key of a mapping (or each item of a sequence) at table entry `entry` sits in the table."""
    at = entry + 1
    if type(value) is dict:
        keys: dict[str, int] = {}
        for name in value:
            keys[name] = at
            at += 1 + marks[3 * (at + 1) + 2]
        return keys
    items: list[int] = []
    for _ in value:
        items.append(at)
        at += marks[3 * at + 2]
    return items


def locate(root: yaml.Node, tokens: list[str], at_key: bool, index: NodeIndex | None = None) -> Position:
    """Position of the node at the JSON Pointer `tokens` below `root` (of the key, with `at_key`), or of the
    nearest enclosing node when the path does not exist. Only the path is walked: no map is built, and
    `index` (kept by the caller between lookups) remembers each mapping's keys once looked through.

    A CloudFormation short tag (`!Join [...]`) reads as `{"Fn::Join": [...]}`: its token steps into the
    tagged node itself, as `locate_marked` does."""
    index = {} if index is None else index
    node, unwrapped = root, False
    for i, token in enumerate(tokens):
        last = i == len(tokens) - 1
        long_form = _CFN_TAGS.get(node.tag)
        if long_form is not None and not unwrapped:
            if token != long_form or (at_key and last):
                break  # the wrapper's key sits where the tagged node does
            unwrapped = True
            continue
        unwrapped = False
        if isinstance(node, yaml.MappingNode):
            pairs = index.get(id(node))
            if pairs is None:
                pairs = index[id(node)] = {}
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode):
                        pairs.setdefault(key.value, (key, value))  # the first of duplicate keys, as written
            pair = pairs.get(token)
            if pair is None:
                break
            if at_key and last:
                return _pos(pair[0].start_mark)
            node = pair[1]
        elif (isinstance(node, yaml.SequenceNode) and (item := as_int(token, signed=False)) is not None
              and item < len(node.value)):
            node = node.value[item]
        else:
            break
    return _pos(node.start_mark)


NodeIndex: TypeAlias = "dict[int, dict[str, tuple[yaml.Node, yaml.Node]]]"  # id(mapping node) -> key -> pair


class _Loader(CParser):
    """libyaml's composer with YAML 1.1 tag resolution memoised per plain scalar text.

    The composer asks for a tag for every node; PyYAML's resolver answers by trying its regexes each time.
    Mesh definitions repeat the same keys and values thousands of times, so the answer for a text is looked
    up once: composing costs about a quarter less, with the very same tags (the resolver still decides).
    """

    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if not implicit[0]:
                return _STR  # quoted or block scalar without a tag
            tag = _PLAIN_TAGS.get(value)
            if tag is None:
                if len(_PLAIN_TAGS) >= _MAX_MEMO:
                    _PLAIN_TAGS.clear()
                tag = _PLAIN_TAGS[value] = _RESOLVER.resolve(  # type: ignore[no-untyped-call]
                    yaml.ScalarNode, value, (True, False))
            return tag
        return _MAP if kind is yaml.MappingNode else _SEQ

    # No path-based resolvers are registered, so there is nothing to track on the way down and up; the
    # composer still calls both for every node (half a million calls at 1,000 services). Builtins take the
    # calls without entering the interpreter: `operator.is_(parent, index)` and `tuple()`, results unused.
    descend_resolver = operator.is_
    ascend_resolver = tuple


_RESOLVER = yaml.resolver.Resolver()
_PLAIN_TAGS: dict[str, str] = {}
_MAX_MEMO = 200_000  # distinct plain scalars remembered (a few MB at most)
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


def _compose(text: str) -> Iterator[yaml.Node]:
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                yield node
    finally:
        loader.dispose()


def _json_only(text: str) -> ParsedDoc | None:
    """JSON that YAML cannot read (surrogate-pair escapes): keep the data, positions fall back to 1:1."""
    try:
        return ParsedDoc(json.loads(text, parse_int=_json_int), Position(1, 1), SourceMap())
    except (ValueError, RecursionError, _BadScalar):  # the YAML error is then reported
        return None


def _json_int(text: str) -> int:
    """A JSON integer (`-?(0|[1-9][0-9]*)`, the decoder checked), refused beyond 64 bits as YAML's are."""
    digits = len(text) - text.startswith("-")
    if digits > MAX_DIGITS:
        raise _BadScalar(out_of_range(digits))
    return int(text)


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
