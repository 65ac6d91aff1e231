"""CloudFormation templates (YAML or JSON): `AWS::AppMesh::*` resources -> the API shape.

Property names are PascalCase versions of the API's camelCase (`Spec.Listeners[].PortMapping.Port`); the
schema decides the API spelling (see shape.member). Intrinsics are resolved offline where the template
decides them: Ref to parameters (defaults, overridden by `--parameter KEY=VALUE`) and resources, GetAtt of
App Mesh name attributes, Sub, Join, Select, Split, FindInMap, If with decidable Conditions. What cannot be
known offline (ImportValue, a parameter without default, another service's attributes) becomes a
`cfn-unresolved` finding naming it, and the value is kept as visible `${...}` text so the rest is checked.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/AWS_AppMesh.html
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from meshlint.diagnostics import Finding, join_pointer
from meshlint.kinds import NAME_KEY, PARENT_KEY
from meshlint.load.sources import translated_base
from meshlint.model.entities import Origin
from meshlint.normalize import shape
from meshlint.normalize.appmesh_api import RawResource, read_resource
from meshlint.numbers import as_int

PREFIX = "AWS::AppMesh::"
KINDS = {"Mesh", "VirtualService", "VirtualRouter", "Route", "VirtualNode", "VirtualGateway", "GatewayRoute"}
RULE = "unresolved-value"
_PSEUDO_DEFAULTS = {"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}
# GetAtt attribute -> API property it reads (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-appmesh-virtualnode.html#aws-resource-appmesh-virtualnode-return-values)
_ATTRS = {k[0].upper() + k[1:]: k for k in {*NAME_KEY.values(), "meshOwner"}} | {"ResourceOwner": "meshOwner"}
# Bounds on evaluating intrinsics offline, so that a hostile template is reported, never a hang or a crash:
# nested evaluations (a GetAtt or Condition chain), items Fn::Split may make, characters a result may hold.
MAX_NESTING = 64
MAX_ITEMS = 10_000
MAX_CHARS = 65_536
_ARN_SEGMENT = {"VirtualService": "virtualService", "VirtualRouter": "virtualRouter", "Route": "route",
                "VirtualNode": "virtualNode", "VirtualGateway": "virtualGateway", "GatewayRoute": "gatewayRoute"}


def is_template(data: Any) -> bool:
    resources = data.get("Resources") if isinstance(data, dict) else None
    return isinstance(resources, dict) and any(
        isinstance(r, dict) and str(r.get("Type", "")).startswith(PREFIX) for r in resources.values())


def appmesh_resources(data: dict[str, Any]) -> list[str]:
    """Logical ids of the template's App Mesh resources."""
    return [k for k, v in (data.get("Resources") or {}).items()
            if isinstance(v, dict) and str(v.get("Type", "")).removeprefix(PREFIX) in KINDS
            and str(v.get("Type", "")).startswith(PREFIX)]


def read_template(data: dict[str, Any], path: str, doc: int, parameters: Mapping[str, str]
                  ) -> tuple[list[RawResource], list[Finding], dict[str, str]]:
    """Every App Mesh resource of one template, in the API shape, with findings about the template and the
    pointer translation of the document (for SourceFile.translate)."""
    template = _Template(data, dict(parameters), path, doc)
    raws: list[RawResource] = []
    findings: list[Finding] = []
    for index, (logical_id, body) in enumerate(sorted(template.appmesh.items())):
        raw, notes = template.resource(logical_id, body, index)
        findings.extend(notes)
        if raw is not None:
            raws.append(raw)
    findings.extend(template.problems.values())
    return raws, findings, template.table


@dataclass
class _Template:
    data: dict[str, Any]
    parameters: dict[str, str]
    path: str
    doc: int
    problems: dict[tuple[str, str], Finding] = field(default_factory=dict)
    table: dict[str, str] = field(default_factory=dict)  # translated pointer -> original, all resources
    _resolving: set[str] = field(default_factory=set)
    _depth: int = 0  # intrinsics being evaluated inside one another
    _cut: bool = False  # the evaluation under way met MAX_NESTING: that is reported once, not at every level
    # what a GetAtt or Condition evaluates to does not depend on where it is used: each is evaluated once,
    # so a template whose resources read each other's names twice over costs linear time, not exponential
    _attributes: dict[tuple[str, str], Any] = field(default_factory=dict)
    _conditions: dict[str, bool | None] = field(default_factory=dict)

    # the template's resources, and its App Mesh ones by logical id: read once per template, not at every
    # Ref or GetAtt that looks one up (that was a scan of the whole template per value, quadratic in its size)
    resources: dict[str, Any] = field(init=False)
    appmesh: dict[str, dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.resources = self.data.get("Resources") or {}
        self.appmesh = {k: self.resources[k] for k in appmesh_resources(self.data)}

    def resource(self, logical_id: str, body: dict[str, Any], index: int
                 ) -> tuple[RawResource | None, list[Finding]]:
        kind = str(body["Type"]).removeprefix(PREFIX)
        where = join_pointer("", "Resources", logical_id)
        condition = body.get("Condition")
        if isinstance(condition, str) and self.condition(condition, join_pointer(where, "Condition")) is False:
            return None, []
        props = body.get("Properties")
        props = props if isinstance(props, dict) else {}
        out = shape.Translation(translated_base(index))
        obj = shape.convert(props, shape.kind_schema(kind), join_pointer(where, "Properties"), out.base, out,
                            self.resolve, coerce=True)
        out.note(where)
        self.table.update(out.table)
        if not isinstance(obj, dict) or not all(isinstance(obj.get(k), str) for k in _names(kind)):
            missing = ", ".join(k for k in _names(kind) if not isinstance(obj.get(k), str))
            return None, [Finding("schema", f"{kind} {logical_id} has no {missing}", self.path,
                                  join_pointer(where, "Properties"), self.doc,
                                  help="CloudFormation requires the name properties of every App Mesh resource")]
        return read_resource(kind, obj, Origin(self.path, self.doc, out.base, "cloudformation"))

    # -- intrinsics -------------------------------------------------------------------------------------
    def resolve(self, value: Any, at: str) -> Any:
        if not isinstance(value, dict) or len(value) != 1:
            return value
        ((fn, arg),) = value.items()
        if not isinstance(fn, str) or not (fn == "Ref" or fn.startswith("Fn::")):
            return value
        if self._depth >= MAX_NESTING:
            self._cut = True
            return self.unresolved(fn, join_pointer(at, fn), f"{fn} nests intrinsic functions more than "
                                   f"{MAX_NESTING} deep (a chain of GetAtt, Ref or conditions)")
        self._depth += 1
        try:
            resolved = self._intrinsic(fn, arg, join_pointer(at, fn), value)
        finally:
            self._depth -= 1
            self._cut = self._cut and self._depth > 0
        if isinstance(resolved, str) and len(resolved) > MAX_CHARS:
            return self.unresolved(fn, join_pointer(at, fn), f"{fn} evaluates to more than {MAX_CHARS:,} characters")
        return resolved

    def _intrinsic(self, fn: str, arg: Any, inner: str, value: Any) -> Any:
        if fn == "Ref":
            return self.ref(str(arg), inner) if isinstance(arg, str) else self.unresolved(
                fn, inner, "Ref needs the name of a parameter or resource")
        if fn == "Fn::GetAtt" and (isinstance(arg, list) or (isinstance(arg, str) and "." in arg)):
            parts = arg if isinstance(arg, list) else arg.split(".", 1)
            if all(isinstance(p, str) for p in parts):
                return self.get_att([str(p) for p in parts], inner)
        if fn == "Fn::Sub":
            return self.sub(arg, inner)
        if fn == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str):
            items = self.resolve(arg[1], join_pointer(inner, 1))
            if isinstance(items, list) and len(items) > MAX_ITEMS:
                return self.unresolved(fn, inner, f"Fn::Join of more than {MAX_ITEMS:,} items")
            if isinstance(items, list):
                return self._join(arg[0], items, inner)
        if fn == "Fn::Select" and isinstance(arg, list) and len(arg) == 2:
            items = self.resolve(arg[1], join_pointer(inner, 1))
            index = self.resolve(arg[0], join_pointer(inner, 0))
            position = _index(index)
            if isinstance(items, list) and position is not None and position < len(items):
                return self.resolve(items[position], inner)
        if fn == "Fn::Split" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and arg[0]:
            text = self.resolve(arg[1], join_pointer(inner, 1))
            if isinstance(text, str) and "${" not in text:
                if text.count(arg[0]) >= MAX_ITEMS:
                    return self.unresolved(fn, inner, f"Fn::Split makes more than {MAX_ITEMS:,} items")
                return text.split(arg[0])
        if fn == "Fn::FindInMap" and isinstance(arg, list) and len(arg) == 3:
            keys = [self.resolve(a, join_pointer(inner, i)) for i, a in enumerate(arg)]
            found = self.data.get("Mappings")
            for key in keys:
                found = found.get(key) if isinstance(found, dict) and isinstance(key, str) else None
            if found is not None:
                return self.resolve(found, inner)
        if fn == "Fn::If" and isinstance(arg, list) and len(arg) == 3:
            chosen = self.condition(str(arg[0]), inner)
            return self.resolve(arg[1] if chosen is not False else arg[2], inner)
        if fn in ("Fn::ImportValue", "Fn::GetAZs", "Fn::Cidr", "Fn::Base64", "Fn::GetAtt"):
            resolved = self.resolve(arg, inner)
            detail = f"{fn} {resolved}" if isinstance(resolved, str) and resolved else fn
            return self.unresolved(detail, inner, f"{detail} cannot be resolved without deploying")
        if fn.startswith("Fn::"):
            return self.unresolved(fn, inner, f"{fn} has arguments meshlint cannot evaluate",
                                   "see the intrinsic function reference for the arguments it takes")
        return value

    def _join(self, separator: str, items: list[Any], at: str) -> str:
        parts, size = [], 0
        for item in items:
            parts.append(str(self.resolve(item, at)))
            size += len(parts[-1]) + len(separator)
            if size > MAX_CHARS:  # stop before building what the bound refuses anyway
                return self.unresolved("Fn::Join", at, f"Fn::Join evaluates to more than {MAX_CHARS:,} characters")
        return separator.join(parts)

    def ref(self, name: str, at: str) -> Any:
        params = self.data.get("Parameters") or {}
        found = params.get(name)
        declared: dict[str, Any] = found if isinstance(found, dict) else {}
        if name in self.parameters:
            return _typed(self.parameters[name], declared)
        if name == "AWS::NoValue":
            return shape.DROP
        if name in params:
            default = declared.get("Default")
            if default is not None:
                return _typed(default, declared)
            return self.unresolved(name, at, f"parameter {name} has no Default",
                                   f"pass it with --parameter {name}=VALUE")
        if name in _PSEUDO_DEFAULTS:
            return _PSEUDO_DEFAULTS[name]
        body = self.appmesh.get(name)
        if body is not None:
            return self.arn(name, body, at)
        if name.startswith("AWS::"):
            return self.unresolved(name, at, f"pseudo parameter {name} is not known offline",
                                   f"pass it with --parameter {name}=VALUE")
        if name not in self.resources:
            return self.unresolved(name, at, f"Ref {name} names no parameter or resource of this template")
        return self.unresolved(name, at, f"Ref {name} is not known before deployment")

    def get_att(self, parts: list[str], at: str) -> Any:
        logical_id, attr = [*parts, ""][:2]
        if (logical_id, attr) not in self._attributes:
            self._attributes[(logical_id, attr)] = self._get_att(logical_id, attr, at)
        return self._attributes[(logical_id, attr)]

    def _get_att(self, logical_id: str, attr: str, at: str) -> Any:
        body = self.appmesh.get(logical_id)
        if body is None:
            return self.unresolved(f"{logical_id}.{attr}", at, f"GetAtt {logical_id}.{attr} is not known "
                                   "before deployment")
        if attr == "Arn":
            return self.arn(logical_id, body, at)
        key = _ATTRS.get(attr)
        found = body.get("Properties")
        props: dict[str, Any] = found if isinstance(found, dict) else {}
        cfn_key = key[0].upper() + key[1:] if key else ""
        if logical_id in self._resolving:
            return self.unresolved(f"{logical_id}.{attr}", at, f"GetAtt {logical_id}.{attr} depends on itself")
        if key is None or cfn_key not in props:
            return self.unresolved(f"{logical_id}.{attr}", at, f"GetAtt {logical_id}.{attr} is not known "
                                   "before deployment")
        self._resolving.add(logical_id)
        try:
            return self.resolve(props[cfn_key], join_pointer("", "Resources", logical_id, "Properties", cfn_key))
        finally:
            self._resolving.discard(logical_id)

    def arn(self, logical_id: str, body: dict[str, Any], at: str) -> str:
        kind = str(body["Type"]).removeprefix(PREFIX)

        def name(api_key: str) -> str:
            return str(self.get_att([logical_id, api_key[0].upper() + api_key[1:]], at))

        parts = [name("meshName")]
        if kind in PARENT_KEY:
            parent_kind = "VirtualRouter" if kind == "Route" else "VirtualGateway"
            parts += [_ARN_SEGMENT[parent_kind], name(PARENT_KEY[kind])]
        if kind != "Mesh":
            parts += [_ARN_SEGMENT[kind], name(NAME_KEY[kind])]
        return "arn:aws:appmesh:${AWS::Region}:${AWS::AccountId}:mesh/" + "/".join(parts)

    def sub(self, arg: Any, at: str) -> Any:
        text, local = (arg[0], arg[1]) if isinstance(arg, list) and len(arg) == 2 else (arg, {})
        if not isinstance(text, str):
            return self.unresolved("Fn::Sub", at, "Fn::Sub needs a string")
        local = local if isinstance(local, dict) else {}
        out: list[str] = []
        size, at_char = 0, 0  # scanned by index: re-slicing the rest at each `${` is quadratic in the text
        while (start := text.find("${", at_char)) >= 0:
            close = text.find("}", start + 2)
            if close < 0:
                break
            out.append(text[at_char:start])
            name = text[start + 2:close]
            if name.startswith("!"):
                out.append("${" + name[1:] + "}")
            elif name in local:
                out.append(str(self.resolve(local[name], join_pointer(at, 1, name))))
            elif "." in name and not name.startswith("AWS::"):
                out.append(str(self.get_att(name.split(".", 1), at)))
            else:
                out.append(str(self.ref(name, at)))
            size += len(out[-1]) + start - at_char
            if size > MAX_CHARS:
                return self.unresolved("Fn::Sub", at, f"Fn::Sub evaluates to more than {MAX_CHARS:,} characters")
            at_char = close + 1
        out.append(text[at_char:])
        return "".join(out)

    def condition(self, name: str, at: str) -> bool | None:
        if name in self._conditions:
            return self._conditions[name]
        conditions = self.data.get("Conditions")
        if not isinstance(conditions, dict) or name not in conditions or name in self._resolving:
            self.unresolved(f"Condition {name}", at, f"condition {name} is not defined")
            return None
        if self._depth >= MAX_NESTING:
            self._cut = True
            self.unresolved(f"Condition {name}", at, f"condition {name} nests conditions more than {MAX_NESTING} "
                            "deep")
            return None
        self._resolving.add(name)
        self._depth += 1
        try:
            decided = self._evaluate(conditions[name], join_pointer("", "Conditions", name))
        finally:
            self._resolving.discard(name)
            self._depth -= 1
        self._conditions[name] = decided
        cut, self._cut = self._cut, self._cut and self._depth > 0
        if decided is None and not cut:
            self.unresolved(f"Condition {name}", at, f"condition {name} cannot be decided offline; "
                            "its true branch was used", "give the parameters it reads with --parameter")
        return decided

    def _evaluate(self, expr: Any, at: str) -> bool | None:
        if not isinstance(expr, dict) or len(expr) != 1:
            return None
        ((fn, arg),) = expr.items()
        if fn == "Condition":
            return self.condition(str(arg), at)
        args = arg if isinstance(arg, list) else []
        if fn == "Fn::Equals" and len(args) == 2:
            a, b = (self.resolve(x, at) for x in args)
            if any(isinstance(x, str) and "${" in x for x in (a, b)) or a is shape.DROP or b is shape.DROP:
                return None
            return str(a) == str(b)
        values = [self._evaluate(x, at) for x in args]
        if fn == "Fn::Not" and len(values) == 1:
            return None if values[0] is None else not values[0]
        if fn == "Fn::And":
            return False if False in values else (None if None in values else True)
        if fn == "Fn::Or":
            return True if True in values else (None if None in values else False)
        return None

    def unresolved(self, name: str, at: str, message: str, help: str | None = None) -> str:
        key = (name, "")  # once per name: the first use is where it is reported
        if key not in self.problems:
            self.problems[key] = Finding(
                RULE, message, self.path, at, self.doc,
                help or "meshlint checks the template offline; the value is kept as ${...} text "
                "(pass known values with --parameter KEY=VALUE)")
        return "${" + name + "}"


def _names(kind: str) -> list[str]:
    return [k for k in (NAME_KEY[kind], PARENT_KEY.get(kind), "meshName") if k]


def _typed(value: Any, declared: dict[str, Any]) -> Any:
    """A `Type: Number` parameter is a number where a property wants one (CloudFormation converts it)."""
    number = as_int(value) if declared.get("Type") == "Number" and isinstance(value, str) else None
    return value if number is None else number


def _index(value: Any) -> int | None:
    """An Fn::Select index: a whole number, or its text (a Ref to a Number parameter)."""
    if isinstance(value, str):
        return as_int(value, signed=False)
    return value if type(value) is int and value >= 0 else None
