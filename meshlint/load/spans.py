"""Where each scalar's text is: character offsets into the text, for the few places that work on the text
itself rather than on the data (suppression comments, template substitution, `--fix` edits).

Offsets are libyaml's mark indexes: characters (code points) of the text, the same units as Python's
`str` indexes, with a CRLF pair counted as two characters. A span is half-open, `[start, end)`; a node
with a tag or anchor starts at the tag or anchor (`!Ref X`, `&w 80`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from meshlint.load.parse import _CFN_TAGS, _Loader

_SUB_TAG = "!Sub"
_SUB_KEY = "Fn::Sub"

Span = tuple[int, int]


@dataclass
class ScalarScan:
    """The spans of every scalar (keys and values) in document order, so sorted and disjoint, and those of
    CloudFormation `Fn::Sub` template strings (`!Sub "..."`, `Fn::Sub: "..."`, the first item of the list
    form). `complete` is False when a syntax error ended the scan: nothing is known about the text after it."""

    spans: list[Span] = field(default_factory=list)
    sub_templates: list[Span] = field(default_factory=list)
    complete: bool = True


@dataclass
class _Open:
    """A collection being scanned."""

    mapping: bool
    sub: bool = False  # a sequence that is the argument of Fn::Sub: its first item is the template
    expect_key: bool = True
    key: str | None = None
    index: int = 0


def scan_scalars(text: str) -> ScalarScan:
    """The scalar spans of `text` (YAML or JSON), from libyaml's events: no node tree, no alias expansion."""
    scan = ScalarScan()
    stack: list[_Open] = []
    loader = _Loader(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.CollectionEndEvent):
                stack.pop()
            elif isinstance(event, yaml.NodeEvent):
                _node(event, stack, scan)
    except yaml.YAMLError:
        scan.complete = False
    finally:
        loader.dispose()
    return scan


def _node(event: Any, stack: list[_Open], scan: ScalarScan) -> None:
    is_key, sub_arg, template = False, getattr(event, "tag", None) == _SUB_TAG, False
    if stack:
        parent = stack[-1]
        if parent.mapping:
            is_key, parent.expect_key = parent.expect_key, not parent.expect_key
            sub_arg = sub_arg or (not is_key and parent.key == _SUB_KEY)
        else:
            template = parent.sub and parent.index == 0
            parent.index += 1
    if isinstance(event, yaml.ScalarEvent):
        start, end = event.start_mark, event.end_mark
        assert start is not None and end is not None  # libyaml marks every event
        span = (start.index, end.index)
        scan.spans.append(span)
        if is_key:
            stack[-1].key = event.value
        elif sub_arg or template:
            scan.sub_templates.append(span)
    elif isinstance(event, yaml.CollectionStartEvent):
        if is_key:
            stack[-1].key = None
        stack.append(_Open(isinstance(event, yaml.MappingStartEvent), sub=sub_arg))


def find_node(root: yaml.Node, tokens: list[str]) -> yaml.Node | None:
    """The node at the JSON Pointer `tokens` below `root`, or None when the path does not exist exactly (or
    passes a key written twice). A CloudFormation short tag (`!If [...]`) reads as `{"Fn::If": [...]}`: its
    token steps into the tagged node itself."""
    node, unwrapped = root, False
    for token in tokens:
        long_form = _CFN_TAGS.get(node.tag)
        if long_form is not None and not unwrapped:
            if token != long_form:
                return None
            unwrapped = True
            continue
        unwrapped = False
        if isinstance(node, yaml.MappingNode):
            found = [v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == token]
            if len(found) != 1:
                return None
            node = found[0]
        elif isinstance(node, yaml.SequenceNode) and token.isdigit() and int(token) < len(node.value):
            node = node.value[int(token)]
        else:
            return None
    return node if not unwrapped else None
