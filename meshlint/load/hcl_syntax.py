"""The syntax tree of an HCL (Terraform) file: bodies of attributes and blocks, and expressions.

Every node keeps the byte span it was read from (`start`, `end`), so that positions, the expression as
written (`Unknown` values show it) and the exact text span of a value (`--fix`) come from the node itself.
The tree is produced by `load.hcl` and evaluated by `normalize.terraform`; nothing here evaluates.
https://github.com/hashicorp/hcl/blob/main/hclsyntax/spec.md
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias


@dataclass(frozen=True, slots=True)
class Lit:
    """A literal: number, bool, null or a string without interpolation."""

    value: Any
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Template:
    """A quoted or heredoc template; `parts` are literal text, expressions and directives."""

    parts: tuple[TemplatePart, ...]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class TemplateIf:
    cond: Expr
    then: tuple[TemplatePart, ...]
    otherwise: tuple[TemplatePart, ...]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class TemplateFor:
    key: str | None
    value: str
    collection: Expr
    body: tuple[TemplatePart, ...]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Ref:
    """A bare name: `var`, `local`, `each`, `aws_appmesh_mesh`, a for-expression's variable."""

    name: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class GetAttr:
    obj: Expr
    name: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Index:
    obj: Expr
    key: Expr
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Splat:
    """`obj[*].a.b` / `obj.*.a`: `each` applies to every element (`Ref('')` stands for the element)."""

    obj: Expr
    each: Expr
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Expr, ...]
    expand_final: bool
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Conditional:
    cond: Expr
    then: Expr
    otherwise: Expr
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Unary:
    op: str
    operand: Expr
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: Expr
    right: Expr
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class TupleExpr:
    items: tuple[Expr, ...]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ObjectItem:
    key: Expr  # a bare identifier key is a Lit string
    value: Expr


@dataclass(frozen=True, slots=True)
class ObjectExpr:
    items: tuple[ObjectItem, ...]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ForExpr:
    key_var: str | None
    value_var: str
    collection: Expr
    key: Expr | None  # set for `{for ... : k => v}`
    value: Expr
    cond: Expr | None
    grouping: bool
    start: int
    end: int


Expr: TypeAlias = (Lit | Template | Ref | GetAttr | Index | Splat | Call | Conditional | Unary | Binary | TupleExpr
                   | ObjectExpr | ForExpr)
TemplatePart: TypeAlias = "str | Expr | TemplateIf | TemplateFor"


@dataclass(frozen=True, slots=True)
class Attribute:
    name: str
    expr: Expr
    start: int  # where the name is written
    end: int


@dataclass(frozen=True, slots=True)
class Block:
    type: str
    labels: tuple[str, ...]
    body: Body
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Body:
    attributes: dict[str, Attribute] = field(default_factory=dict)
    blocks: tuple[Block, ...] = ()

    def blocks_of(self, kind: str) -> list[Block]:
        return [b for b in self.blocks if b.type == kind]


def block_tokens(block: Block, index: int) -> tuple[str, ...]:
    """The pointer tokens of a block: its type, its labels, then its index among the blocks of the same
    type and labels in its body (`resource/aws_appmesh_route/r/0`, `spec/0`, `dynamic/listener/0`)."""
    return (block.type, *block.labels, str(index))


def indexed_blocks(body: Body) -> list[tuple[Block, int]]:
    """Every block of `body` with its index among the blocks of the same type and labels."""
    seen: dict[tuple[str, ...], int] = {}
    out = []
    for block in body.blocks:
        key = (block.type, *block.labels)
        out.append((block, seen.get(key, 0)))
        seen[key] = seen.get(key, 0) + 1
    return out
