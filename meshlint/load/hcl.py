"""HCL (Terraform `.tf`, `.tfvars`) text -> the syntax tree of `load.hcl_syntax`, with positions.

tree-sitter-hcl parses (C, error-tolerant, a byte span on every node: measured 17x faster than
python-hcl2 on the Terraform corpus, which python-hcl2 also fails to read); this module turns its concrete
tree into the small typed tree meshlint evaluates. A syntax error is a `Problem`, never an exception.

Pointers into a `.tf` document name bodies the way Terraform's JSON syntax does: an attribute by its name,
a block by its type, its labels and its index among the blocks of the same type and labels
(`/resource/aws_appmesh_route/r/0/spec/0/priority`); below an attribute, object keys and tuple indexes.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from meshlint.diagnostics import Position
from meshlint.load import hcl_syntax as s

MAX_DEPTH = 100
_POSTFIX = {"get_attr", "index", "splat"}
_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


class HclError(Exception):
    def __init__(self, message: str, at: int) -> None:
        super().__init__(message)
        self.at = at


@cache
def _parser() -> Any:
    import tree_sitter
    import tree_sitter_hcl

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_hcl.language()))


@dataclass
class HclDocument:
    """One parsed `.tf`/`.tfvars` file: its body and what turns byte offsets into positions."""

    body: s.Body
    source: bytes
    _ascii: bool
    _starts: list[int] | None = None  # byte offset of each line, computed when a position is first asked

    def position(self, offset: int) -> Position:
        """1-based line and column (in characters) of a byte offset."""
        if self._starts is None:
            self._starts = [0, *(m.end() for m in re.finditer(b"\n", self.source))]
        line = bisect.bisect_right(self._starts, offset) - 1
        start = self._starts[line]
        column = offset - start if self._ascii else len(self.source[start:offset].decode("utf-8", "replace"))
        return Position(line + 1, column + 1)

    def char_offset(self, offset: int) -> int:
        return offset if self._ascii else len(self.source[:offset].decode("utf-8", "replace"))

    def text(self, node: s.Expr | s.Attribute | s.Block) -> str:
        return self.source[node.start:node.end].decode("utf-8", "replace")

    def locate(self, tokens: list[str], at_key: bool = False) -> Position:
        """Position of what `tokens` names (the key: an attribute's name), or of the nearest enclosing node."""
        found = self.find(tokens)
        if found is None:
            return Position(1, 1)
        node, complete = found
        if isinstance(node, s.Attribute):
            return self.position(node.start if at_key and complete else node.expr.start)
        return self.position(node.start)

    def value_span(self, tokens: list[str]) -> tuple[int, int] | None:
        """(start, end) character offsets in the text of the literal value `tokens` names; None when the
        value there is not a literal written in this file (an expression, a block, nothing)."""
        found = self.find(tokens)
        if found is None or not found[1]:
            return None
        node = found[0]
        expr = node.expr if isinstance(node, s.Attribute) else node
        if not isinstance(expr, s.Lit):
            return None
        return self.char_offset(expr.start), self.char_offset(expr.end)

    def find(self, tokens: list[str]) -> tuple[s.Attribute | s.Block | s.Expr, bool] | None:
        """The deepest node on the pointer's path, and whether the whole pointer was matched."""
        node: s.Attribute | s.Block | s.Expr | None = None
        body: s.Body | None = self.body
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if body is not None:
                if token in body.attributes:
                    node, body = body.attributes[token], None
                    i += 1
                    continue
                block, used = _block_at(body, tokens[i:])
                if block is None:
                    break
                node, body = block, block.body
                i += used
                continue
            expr = node.expr if isinstance(node, s.Attribute) else node
            child = _child_expr(expr, token)
            if child is None:
                break
            node = child
            i += 1
        return (node, i == len(tokens)) if node is not None else None


def _block_at(body: s.Body, tokens: list[str]) -> tuple[s.Block | None, int]:
    for block, index in s.indexed_blocks(body):
        want = s.block_tokens(block, index)
        if tuple(tokens[: len(want)]) == want:
            return block, len(want)
    return None, 0


def _child_expr(expr: Any, token: str) -> s.Expr | None:
    if isinstance(expr, s.TupleExpr) and token.isdigit() and int(token) < len(expr.items):
        return expr.items[int(token)]
    if isinstance(expr, s.ObjectExpr):
        for item in expr.items:
            if isinstance(item.key, s.Lit) and str(item.key.value) == token:
                return item.value
    return None


def parse_hcl(text: str) -> tuple[HclDocument | None, HclError | None]:
    """The document, or the first syntax error."""
    source = text.encode("utf-8")
    tree = _parser().parse(source)
    document = HclDocument(s.Body(), source, len(source) == len(text))
    if tree.root_node.has_error:
        return None, _first_error(tree.root_node)
    try:
        document.body = _Reader(source).body(_only_body(tree.root_node), 0)
    except HclError as err:
        return None, err
    except RecursionError:
        return None, HclError(f"nesting deeper than {MAX_DEPTH} levels", 0)
    return document, None


def error_position(document_text: str, err: HclError) -> Position:
    source = document_text.encode("utf-8")
    before = source[: err.at]
    line = before.count(b"\n") + 1
    column = len(before[before.rfind(b"\n") + 1:].decode("utf-8", "replace")) + 1
    return Position(line, column)


def _only_body(root: Any) -> Any:
    for child in root.named_children:
        if child.type == "body":
            return child
    return None


def _first_error(root: Any) -> HclError:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            what = "missing " + node.type if node.is_missing else _describe(node)
            return HclError(f"not valid HCL: {what}", node.start_byte)
        if node.has_error:
            stack.extend(reversed(node.children))
    return HclError("not valid HCL", 0)


def _describe(node: Any) -> str:
    text = node.text.decode("utf-8", "replace").strip().splitlines()
    return f"unexpected {text[0][:40]!r}" if text else "unexpected end of file"


class _Reader:
    """tree-sitter's concrete tree -> hcl_syntax nodes."""

    def __init__(self, source: bytes) -> None:
        self.source = source

    def raw(self, start: int, end: int) -> str:
        return self.source[start:end].decode("utf-8", "replace")

    def body(self, node: Any, depth: int) -> s.Body:
        attributes: dict[str, s.Attribute] = {}
        blocks: list[s.Block] = []
        for child in node.named_children if node is not None else ():
            if child.type == "attribute":
                name_node, expr_node = child.named_children[0], child.named_children[-1]
                name = self.raw(name_node.start_byte, name_node.end_byte)
                if name in attributes:
                    raise HclError(f"not valid HCL: attribute {name!r} is defined twice", name_node.start_byte)
                attributes[name] = s.Attribute(name, self.expr(expr_node, depth), child.start_byte,
                                               child.end_byte)
            elif child.type == "block":
                blocks.append(self.block(child, depth))
        return s.Body(attributes, tuple(blocks))

    def block(self, node: Any, depth: int) -> s.Block:
        if depth > MAX_DEPTH:
            raise HclError(f"nesting deeper than {MAX_DEPTH} levels", node.start_byte)
        kids = node.named_children
        kind = self.raw(kids[0].start_byte, kids[0].end_byte)
        labels = tuple(self.string(k) if k.type == "string_lit" else self.raw(k.start_byte, k.end_byte)
                       for k in kids[1:] if k.type in ("string_lit", "identifier"))
        body = next((k for k in kids if k.type == "body"), None)
        return s.Block(kind, labels, self.body(body, depth + 1), node.start_byte, node.end_byte)

    def string(self, node: Any) -> str:
        """A string literal's value: what is between its quotes (no interpolation in a `string_lit`)."""
        return _unescape(self.raw(node.start_byte + 1, node.end_byte - 1))

    # -- expressions --------------------------------------------------------------------------------------
    def expr(self, node: Any, depth: int) -> s.Expr:
        if depth > MAX_DEPTH:
            raise HclError(f"nesting deeper than {MAX_DEPTH} levels", node.start_byte)
        kind = node.type
        if kind == "expression":
            return self.sequence([c for c in node.children if c.type != "comment"], depth + 1)
        if kind == "literal_value":
            return self.literal(node.named_children[0])
        if kind == "template_expr":
            return self.template(node.named_children[0], depth)
        if kind == "collection_value":
            return self.expr(node.named_children[0], depth)
        if kind == "tuple":
            items = tuple(self.expr(c, depth + 1) for c in node.named_children if c.type == "expression")
            return s.TupleExpr(items, node.start_byte, node.end_byte)
        if kind == "object":
            pairs = tuple(s.ObjectItem(self.key(e.child_by_field_name("key"), depth),
                                       self.expr(e.child_by_field_name("val"), depth + 1))
                          for e in node.named_children if e.type == "object_elem")
            return s.ObjectExpr(pairs, node.start_byte, node.end_byte)
        if kind == "variable_expr":
            return s.Ref(self.raw(node.start_byte, node.end_byte), node.start_byte, node.end_byte)
        if kind == "function_call":
            return self.call(node, depth)
        if kind == "for_expr":
            return self.for_expr(node.named_children[0], depth)
        if kind == "operation":
            return self.operation(node.named_children[0], depth)
        if kind == "conditional":
            cond, then, otherwise = (self.expr(c, depth + 1) for c in node.named_children if c.type == "expression")
            return s.Conditional(cond, then, otherwise, node.start_byte, node.end_byte)
        raise HclError(f"not valid HCL: unexpected {kind}", node.start_byte)

    def key(self, node: Any, depth: int) -> s.Expr:
        """An object key: a bare identifier is its own name (`{a = 1}`), not a variable."""
        inner = [c for c in node.children if c.type != "comment"]
        if len(inner) == 1 and inner[0].type == "variable_expr":
            return s.Lit(self.raw(inner[0].start_byte, inner[0].end_byte), node.start_byte, node.end_byte)
        return self.expr(node, depth + 1)

    def sequence(self, kids: list[Any], depth: int) -> s.Expr:
        """A term and its postfix operators (`.attr`, `[i]`, splats), or `( expr )`."""
        if not kids:
            raise HclError("not valid HCL: empty expression", 0)
        if kids[0].type == "(":
            inner = self.expr(kids[1], depth)
            rest = kids[3:]
            value: s.Expr = _respan(inner, kids[0].start_byte, kids[2].end_byte)
        else:
            value, rest = self.expr(kids[0], depth), kids[1:]
        start = kids[0].start_byte
        for post in rest:
            value = self.postfix(value, post, start, depth)
        return value

    def postfix(self, value: s.Expr, node: Any, start: int, depth: int) -> s.Expr:
        if node.type == "get_attr":
            name = node.named_children[-1]
            return s.GetAttr(value, self.raw(name.start_byte, name.end_byte), start, node.end_byte)
        if node.type == "index":
            inner = node.named_children[0]
            if inner.type == "legacy_index":
                digits = self.raw(inner.start_byte, inner.end_byte).lstrip(".")
                key: s.Expr = s.Lit(int(digits) if digits.isdigit() else digits, inner.start_byte, inner.end_byte)
            else:
                key = self.expr(next(c for c in inner.named_children if c.type == "expression"), depth + 1)
            return s.Index(value, key, start, node.end_byte)
        if node.type == "splat":
            splat = node.named_children[0]
            each: s.Expr = s.Ref("", splat.start_byte, splat.start_byte)
            for op in splat.named_children:
                each = self.postfix(each, op, splat.start_byte, depth)
            return s.Splat(value, each, start, node.end_byte)
        raise HclError(f"not valid HCL: unexpected {node.type}", node.start_byte)

    def call(self, node: Any, depth: int) -> s.Call:
        name_node = node.named_children[0]
        args_node = next((c for c in node.named_children if c.type == "function_arguments"), None)
        args: list[s.Expr] = []
        expand = False
        for child in args_node.named_children if args_node is not None else ():
            if child.type == "expression":
                args.append(self.expr(child, depth + 1))
            elif child.type == "ellipsis":
                expand = True
        return s.Call(self.raw(name_node.start_byte, name_node.end_byte), tuple(args), expand, node.start_byte,
                      node.end_byte)

    def for_expr(self, node: Any, depth: int) -> s.ForExpr:
        intro = next(c for c in node.named_children if c.type == "for_intro")
        names = [self.raw(c.start_byte, c.end_byte) for c in intro.named_children if c.type == "identifier"]
        collection = self.expr(next(c for c in intro.named_children if c.type == "expression"), depth + 1)
        exprs = [self.expr(c, depth + 1) for c in node.named_children if c.type == "expression"]
        cond_node = next((c for c in node.named_children if c.type == "for_cond"), None)
        cond = self.expr(cond_node.named_children[0], depth + 1) if cond_node is not None else None
        grouping = any(c.type == "ellipsis" for c in node.named_children)
        key_var, value_var = (names[0], names[1]) if len(names) == 2 else (None, names[0])
        key, value = (exprs[0], exprs[1]) if node.type == "for_object_expr" else (None, exprs[0])
        return s.ForExpr(key_var, value_var, collection, key, value, cond, grouping, node.start_byte,
                         node.end_byte)

    def operation(self, node: Any, depth: int) -> s.Expr:
        kids = [c for c in node.children if c.type != "comment"]
        if node.type == "unary_operation":
            return s.Unary(kids[0].type, self.sequence(kids[1:], depth + 1), node.start_byte, node.end_byte)
        level, split = 0, -1
        for i, kid in enumerate(kids):
            if kid.type == "(":
                level += 1
            elif kid.type == ")":
                level -= 1
            elif level == 0 and not kid.is_named and i > 0:
                split = i
                break
        return s.Binary(kids[split].type, self.sequence(kids[:split], depth + 1),
                        self.sequence(kids[split + 1:], depth + 1), node.start_byte, node.end_byte)

    def literal(self, node: Any) -> s.Lit:
        text = self.raw(node.start_byte, node.end_byte)
        value: Any
        if node.type == "numeric_lit":
            value = int(text) if text.isdigit() else float(text)
        elif node.type == "bool_lit":
            value = text == "true"
        elif node.type == "null_lit":
            value = None
        else:
            value = self.string(node)
        return s.Lit(value, node.start_byte, node.end_byte)

    # -- templates -----------------------------------------------------------------------------------------
    def template(self, node: Any, depth: int) -> s.Expr:
        kids = [c for c in node.children if c.type != "comment"]
        if node.type == "heredoc_template":
            return self.heredoc(node, kids, depth)
        parts = self.parts(kids[1:-1], kids[0].end_byte, kids[-1].start_byte, depth, _unescape)
        return _template(parts, node.start_byte, node.end_byte)

    def heredoc(self, node: Any, kids: list[Any], depth: int) -> s.Expr:
        strip = self.raw(kids[0].start_byte, kids[0].end_byte).startswith("<<-")
        opening, closing = kids[1], kids[-1]
        begin = self.source.index(b"\n", opening.end_byte) + 1
        end = self.source.rfind(b"\n", begin - 1, closing.start_byte) + 1
        parts = self.parts(kids[2:-1], begin, end, depth, _template_escapes)
        if strip:
            parts = _dedent(parts)
        return _template(parts, node.start_byte, node.end_byte)

    def parts(self, kids: list[Any], begin: int, end: int, depth: int, unescape: Any) -> tuple[s.TemplatePart, ...]:
        """Literal text is everything between interpolations and directives (tree-sitter's literal nodes
        leave out surrounding blanks, so the text is taken from the source)."""
        out: list[s.TemplatePart] = []
        cursor = begin
        for kid in kids:
            if kid.type not in ("template_interpolation", "template_directive"):
                continue
            if kid.start_byte > cursor:
                out.append(unescape(self.raw(cursor, kid.start_byte)))
            if kid.type == "template_interpolation":
                inner = [c for c in kid.named_children if c.type == "expression"]
                if inner:
                    out.append(self.expr(inner[0], depth + 1))
            else:
                out.append(self.directive(kid.named_children[0], depth, unescape))
            cursor = kid.end_byte
        if end > cursor:
            out.append(unescape(self.raw(cursor, end)))
        return tuple(out)

    def directive(self, node: Any, depth: int, unescape: Any) -> s.TemplateIf | s.TemplateFor:
        kids = node.named_children
        if node.type == "template_for":
            head = kids[0]
            names = [self.raw(c.start_byte, c.end_byte) for c in head.named_children if c.type == "identifier"]
            collection = self.expr(next(c for c in head.named_children if c.type == "expression"), depth + 1)
            body = self.parts(kids[1:-1], head.end_byte, kids[-1].start_byte, depth, unescape)
            key, value = (names[0], names[1]) if len(names) == 2 else (None, names[0])
            return s.TemplateFor(key, value, collection, body, node.start_byte, node.end_byte)
        intro = kids[0]
        cond = self.expr(next(c for c in intro.named_children if c.type == "expression"), depth + 1)
        middle = next((i for i, k in enumerate(kids) if k.type == "template_else_intro"), None)
        last = kids[-1]
        if middle is None:
            then = self.parts(kids[1:-1], intro.end_byte, last.start_byte, depth, unescape)
            otherwise: tuple[s.TemplatePart, ...] = ()
        else:
            then = self.parts(kids[1:middle], intro.end_byte, kids[middle].start_byte, depth, unescape)
            otherwise = self.parts(kids[middle + 1:-1], kids[middle].end_byte, last.start_byte, depth, unescape)
        return s.TemplateIf(cond, then, otherwise, node.start_byte, node.end_byte)


def _template(parts: tuple[s.TemplatePart, ...], start: int, end: int) -> s.Expr:
    if all(isinstance(p, str) for p in parts):
        return s.Lit("".join(str(p) for p in parts), start, end)
    return s.Template(parts, start, end)


def _respan(expr: s.Expr, start: int, end: int) -> s.Expr:
    """The same expression, spanning its parentheses (so the text as written keeps them)."""
    fields = {k: getattr(expr, k) for k in expr.__slots__}
    fields.update(start=start, end=end)
    return type(expr)(**fields)


def _template_escapes(text: str) -> str:
    return text.replace("$${", "${").replace("%%{", "%{")


def _unescape(text: str) -> str:
    """A quoted string's escapes (https://github.com/hashicorp/hcl/blob/main/hclsyntax/spec.md#template-literals)."""
    if "\\" not in text:
        return _template_escapes(text)
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in _SIMPLE_ESCAPES:
                out.append(_SIMPLE_ESCAPES[nxt])
                i += 2
                continue
            width = {"u": 4, "U": 8}.get(nxt)
            digits = text[i + 2: i + 2 + width] if width else ""
            if width and len(digits) == width and all(c in "0123456789abcdefABCDEF" for c in digits):
                code = int(digits, 16)
                if code <= 0x10FFFF and not 0xD800 <= code < 0xE000:
                    out.append(chr(code))
                    i += 2 + width
                    continue
        out.append(char)
        i += 1
    return _template_escapes("".join(out))


def _dedent(parts: tuple[s.TemplatePart, ...]) -> tuple[s.TemplatePart, ...]:
    """`<<-` heredocs lose the smallest indentation of their lines."""
    text = "".join(p if isinstance(p, str) else "\x00" for p in parts)
    lines = [line for line in text.split("\n") if line.strip(" \t\x00") or "\x00" in line]
    indent = min((len(line) - len(line.lstrip(" ")) for line in lines), default=0)
    if not indent:
        return parts
    out: list[s.TemplatePart] = []
    at_line_start = True
    for part in parts:
        if isinstance(part, str):
            pieces = part.split("\n")
            fixed = [p[indent:] if (i > 0 or at_line_start) and p[:indent].strip() == "" else p
                     for i, p in enumerate(pieces)]
            out.append("\n".join(fixed))
            at_line_start = part.endswith("\n")
        else:
            out.append(part)
            at_line_start = False
    return tuple(out)
