"""Evaluate HCL expressions to plain values, offline.

References (`var.`, `local.`, `module.`, `data.`, resources) are answered by a `Resolver` (the module being
read); everything else (operators, conditionals, templates, `for`, splats, functions) is evaluated here.
What cannot be known becomes an `Unknown` showing the expression as written; an operation on an unknown
operand is unknown as a whole, so the smallest unknown part shows where it can (`vn-${var.env}-blue`).
https://developer.hashicorp.com/terraform/language/expressions
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from meshlint.load import hcl_syntax as s
from meshlint.load.hcl import HclDocument
from meshlint.normalize.terraform.functions import FUNCTIONS
from meshlint.normalize.terraform.values import (
    EvalError,
    NeedsKnown,
    Unknown,
    as_bool,
    as_list,
    as_number,
    as_string,
    known,
    normal_number,
)

Names = dict[str, Any]
_ROOTS = {"var", "local", "module", "data", "path", "terraform", "self", "count", "each"}


@dataclass(frozen=True)
class Site:
    """Where an expression is written: the file (as diagnostics show it), its document, the pointer of the
    attribute that holds it."""

    path: str
    doc: HclDocument
    pointer: str


class Resolver(Protocol):
    def reference(self, root: str, steps: list[s.Expr], evaluator: Evaluator, names: Names) -> tuple[Any, int]:
        """The value of a reference and how many of `steps` it used (`var.x` uses one)."""

    def unresolved(self, name: str, site: Site, node: Any, message: str, help: str | None = None) -> None:
        """Report once that `name` is unknown, at its first use."""

    def attribute(self, value: Any, name: str, node: s.Expr, evaluator: Evaluator) -> Any:
        """`value.name` when `value` is something only the resolver understands (a resource instance)."""


class Evaluator:
    def __init__(self, resolver: Resolver, site: Site) -> None:
        self.resolver = resolver
        self.site = site

    def text(self, node: Any) -> str:
        return self.site.doc.text(node)

    def unknown(self, node: Any) -> Unknown:
        return Unknown.of(self.text(node))

    def value(self, expr: s.Expr, names: Names) -> Any:
        """The expression's value; what Terraform would refuse is reported and becomes unknown."""
        try:
            return self.eval(expr, names)
        except EvalError as err:
            self.resolver.unresolved(f"error:{self.site.path}:{expr.start}", self.site, expr,
                                     f"{self.text(expr)[:80]} cannot be evaluated: {err}",
                                     "terraform plan would refuse this expression too")
            return self.unknown(expr)

    def eval(self, expr: s.Expr, names: Names) -> Any:
        try:
            return self._eval(expr, names)
        except NeedsKnown:
            return self.unknown(expr)

    def _eval(self, expr: s.Expr, names: Names) -> Any:
        if isinstance(expr, s.Lit):
            return expr.value
        if isinstance(expr, s.Template):
            return self.template(expr, names)
        if isinstance(expr, (s.Ref, s.GetAttr, s.Index)):
            return self.traversal(expr, names)
        if isinstance(expr, s.Splat):
            return self.splat(expr, names)
        if isinstance(expr, s.Call):
            return self.call(expr, names)
        if isinstance(expr, s.Conditional):
            cond = self.eval(expr.cond, names)
            if isinstance(cond, Unknown):
                return self.unknown(expr)
            return self.eval(expr.then if as_bool(cond) else expr.otherwise, names)
        if isinstance(expr, s.Unary):
            operand = known(self.eval(expr.operand, names))
            return (not as_bool(operand)) if expr.op == "!" else normal_number(-as_number(operand))
        if isinstance(expr, s.Binary):
            return self.binary(expr, names)
        if isinstance(expr, s.TupleExpr):
            return [self.eval(item, names) for item in expr.items]
        if isinstance(expr, s.ObjectExpr):
            out: dict[str, Any] = {}
            for item in expr.items:
                out[as_string(self.eval(item.key, names))] = self.eval(item.value, names)
            return out
        if isinstance(expr, s.ForExpr):
            return self.for_expr(expr, names)
        raise EvalError("unsupported expression")

    # -- references --------------------------------------------------------------------------------------
    def traversal(self, expr: s.Expr, names: Names) -> Any:
        chain: list[s.Expr] = []
        node: s.Expr = expr
        while isinstance(node, (s.GetAttr, s.Index)):
            chain.append(node)
            node = node.obj
        chain.reverse()
        if isinstance(node, s.Ref):
            if node.name in names:
                value: Any = names[node.name]
                used = 0
            elif node.name in _ROOTS or "_" in node.name or not chain:
                value, used = self.resolver.reference(node.name, chain, self, names)
            else:
                self.resolver.unresolved(f"name:{node.name}", self.site, node, f"{node.name} names nothing meshlint "
                                         "knows in this module")
                return self.unknown(expr)
        else:
            value, used = self.eval(node, names), 0
        for step in chain[used:]:
            value = self.step(value, step, names)
        return value

    def step(self, value: Any, step: s.Expr, names: Names) -> Any:
        if isinstance(value, Unknown):
            return value if value.id_of is not None and isinstance(step, s.GetAttr) is False else self.unknown(step)
        if isinstance(step, s.GetAttr):
            if isinstance(value, dict):
                if step.name not in value:
                    raise EvalError(f"no attribute {step.name!r}")
                return value[step.name]
            if value is None:
                raise EvalError(f"null value has no attribute {step.name!r}")
            if isinstance(value, (list, str, int, float, bool)):
                raise EvalError(f"a {type(value).__name__} has no attribute {step.name!r}")
            return self.resolver.attribute(value, step.name, step, self)
        assert isinstance(step, s.Index)
        key = self.eval(step.key, names)
        if isinstance(key, Unknown):
            return self.unknown(step)
        if isinstance(value, list):
            index = int(as_number(key))
            if not 0 <= index < len(value):
                raise EvalError(f"index {index} out of range")
            return value[index]
        if isinstance(value, dict):
            name = as_string(key)
            if name not in value:
                raise EvalError(f"no key {name!r}")
            return value[name]
        raise EvalError("only lists and maps can be indexed")

    def splat(self, expr: s.Splat, names: Names) -> Any:
        base = self.eval(expr.obj, names)
        if isinstance(base, Unknown):
            return self.unknown(expr)
        items = [] if base is None else base if isinstance(base, list) else [base]
        return [self.eval(expr.each, {**names, "": item}) for item in items]

    # -- operators and the rest --------------------------------------------------------------------------
    def binary(self, expr: s.Binary, names: Names) -> Any:
        left = self.eval(expr.left, names)
        if expr.op in ("&&", "||"):
            if not isinstance(left, Unknown) and as_bool(left) == (expr.op == "||"):
                return expr.op == "||"
            right = self.eval(expr.right, names)
            if isinstance(right, Unknown) or isinstance(left, Unknown):
                if not isinstance(right, Unknown) and as_bool(right) == (expr.op == "||"):
                    return expr.op == "||"
                return self.unknown(expr)
            return as_bool(right)
        right = self.eval(expr.right, names)
        if isinstance(left, Unknown) or isinstance(right, Unknown):
            return self.unknown(expr)
        if expr.op == "==":
            return _equal(left, right)
        if expr.op == "!=":
            return not _equal(left, right)
        a, b = as_number(left), as_number(right)
        if expr.op in ("<", ">", "<=", ">="):
            return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[expr.op]
        if expr.op in ("/", "%") and b == 0:
            raise EvalError("division by zero")
        if expr.op == "+":
            return normal_number(a + b)
        if expr.op == "-":
            return normal_number(a - b)
        if expr.op == "*":
            return normal_number(a * b)
        if expr.op == "/":
            return normal_number(a / b)
        if expr.op == "%":
            return normal_number(a % b)
        raise EvalError(f"unknown operator {expr.op}")

    def template(self, expr: s.Template, names: Names) -> Any:
        if len(expr.parts) == 1 and not isinstance(expr.parts[0], (str, s.TemplateIf, s.TemplateFor)):
            return self.eval(expr.parts[0], names)  # "${x}" is x itself, of its own type
        text, unknown = self.parts(expr.parts, names)
        return Unknown(text) if unknown else text

    def parts(self, parts: tuple[s.TemplatePart, ...], names: Names) -> tuple[str, bool]:
        out: list[str] = []
        unknown = False
        for part in parts:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, s.TemplateIf):
                cond = self.eval(part.cond, names)
                if isinstance(cond, Unknown):
                    out.append(self.unknown(part).text)
                    unknown = True
                    continue
                text, more = self.parts(part.then if as_bool(cond) else part.otherwise, names)
                out.append(text)
                unknown = unknown or more
            elif isinstance(part, s.TemplateFor):
                collection = self.eval(part.collection, names)
                if isinstance(collection, Unknown):
                    out.append(self.unknown(part).text)
                    unknown = True
                    continue
                for key, item in _pairs(collection):
                    scope = {**names, part.value: item, **({part.key: key} if part.key else {})}
                    text, more = self.parts(part.body, scope)
                    out.append(text)
                    unknown = unknown or more
            else:
                value = self.eval(part, names)
                if isinstance(value, Unknown):
                    out.append(value.text)
                    unknown = True
                else:
                    out.append("" if value is None else as_string(value))
        return "".join(out), unknown

    def for_expr(self, expr: s.ForExpr, names: Names) -> Any:
        collection = self.eval(expr.collection, names)
        if isinstance(collection, Unknown):
            return self.unknown(expr)
        items: list[Any] = []
        grouped: dict[str, Any] = {}
        for key, item in _pairs(collection):
            scope = {**names, expr.value_var: item, **({expr.key_var: key} if expr.key_var else {})}
            if expr.cond is not None:
                keep = self.eval(expr.cond, scope)
                if isinstance(keep, Unknown):
                    return self.unknown(expr)
                if not as_bool(keep):
                    continue
            value = self.eval(expr.value, scope)
            if expr.key is None:
                items.append(value)
                continue
            name = self.eval(expr.key, scope)
            if isinstance(name, Unknown):
                return self.unknown(expr)
            if expr.grouping:
                grouped.setdefault(as_string(name), []).append(value)
            else:
                grouped[as_string(name)] = value
        return items if expr.key is None else grouped

    def call(self, expr: s.Call, names: Names) -> Any:
        name = expr.name.rsplit("::", 1)[-1]
        if name in ("try", "can"):
            for arg in expr.args:
                try:
                    value = self._eval(arg, names)
                except EvalError:
                    continue
                except NeedsKnown:
                    return self.unknown(expr)
                return True if name == "can" else value
            if name == "can":
                return False
            raise EvalError("try: no argument could be evaluated")
        function = FUNCTIONS.get(name) if "::" not in expr.name else None
        if function is None:
            self.resolver.unresolved(f"function:{name}", self.site, expr, f"function {name}() is not evaluated "
                                     "offline by meshlint", "its result is checked as an unknown value")
            return self.unknown(expr)
        args = [self.eval(arg, names) for arg in expr.args]
        if expr.expand_final and args:
            args = [*args[:-1], *as_list(args[-1])]
        try:
            return function(args)
        except NeedsKnown:
            return self.unknown(expr)
        except (TypeError, ValueError, IndexError, KeyError) as err:
            raise EvalError(f"{name}(): {err}") from None


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, (int, float)) and isinstance(right, (int, float)) and not isinstance(left, bool):
        return bool(float(left) == float(right))
    return bool(left == right)


def _pairs(collection: Any) -> list[tuple[Any, Any]]:
    if isinstance(collection, dict):
        return sorted(collection.items())
    return list(enumerate(as_list(collection)))
