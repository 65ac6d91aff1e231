"""One instance of a Terraform module: its variables' values, and the answers to every reference.

Variable values come from `--parameter KEY=VALUE`, then the folder's `.tfvars` files, then (for a called
module) the caller's arguments, then the variable's `default`; without any, the variable is unknown and
reported once where it is first used. Locals and module outputs are evaluated on first use. Resources are
answered by their arguments: an App Mesh resource's `name`/`mesh_name`/... are what it was given, its `id` is
its name only for `aws_appmesh_mesh` (elsewhere a UID), everything else about resources, data sources and
remote modules is known only after apply.
https://developer.hashicorp.com/terraform/language/values/variables#variable-definition-precedence
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from meshlint.diagnostics import Finding
from meshlint.load import hcl_syntax as s
from meshlint.load.hcl import parse_hcl
from meshlint.normalize.terraform.code import APPMESH, Declared, ModuleCode
from meshlint.normalize.terraform.evaluate import Evaluator, Names, Site
from meshlint.normalize.terraform.values import EvalError, Unknown, as_number, as_string, known

RULE = "unresolved-value"
OVERRIDES = "\x00var"  # in Names: variables whose value an instance sees differently (never an HCL name)
_NAME_ATTRS = {"name", "mesh_name", "virtual_router_name", "virtual_gateway_name", "mesh_owner"}
_MAX_MODULE_DEPTH = 8


@dataclass
class Reporter:
    """Findings of one root module's evaluation; `unresolved-value` once per name, at its first use."""

    findings: list[Finding] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)

    def once(self, key: str, site: Site, node: Any, rule: str, message: str, help: str | None = None) -> None:
        if key in self._seen:
            return
        self._seen.add(key)
        position = site.doc.position(node.start) if node is not None else None
        self.findings.append(Finding(rule, message, site.path, site.pointer, 0, help, position=position))


@dataclass(frozen=True)
class Instance:
    """One instance of a resource block: `key` is None without count/for_each, else the index or key."""

    resource: Declared
    names: Names  # `count` / `each` as this instance sees them
    key: Any = None
    symbolic: bool = False  # stands for instances whose keys are unknown
    # The module instance that declares it: its arguments read that module's variables and locals, also when
    # the instance is handed to another module (`app_mesh = aws_appmesh_mesh.current`).
    owner: ModuleInstance | None = field(default=None, compare=False, repr=False)

    @property
    def address(self) -> str:
        return f"{self.resource.block.labels[0]}.{self.resource.block.labels[1]}"


class ModuleInstance:
    def __init__(self, code: ModuleCode, codes: Mapping[str, ModuleCode], reporter: Reporter,
                 inputs: Mapping[str, Any], parameters: Mapping[str, str] | None, depth: int = 0) -> None:
        self.code = code
        self.codes = codes
        self.reporter = reporter
        self.inputs = inputs  # values the caller gave (evaluated when first read)
        self.parameters = parameters  # --parameter values (root module only)
        self.depth = depth
        self._variables: dict[str, Any] = {}
        self._locals: dict[str, Any] = {}
        self._resolving: set[str] = set()
        self._instances: dict[tuple[str, str], list[Instance]] = {}
        self._children: dict[str, list[ModuleInstance] | None] = {}
        self._tfvars = self._read_tfvars() if parameters is not None else {}

    # -- Resolver ----------------------------------------------------------------------------------------
    def unresolved(self, name: str, site: Site, node: Any, message: str, help: str | None = None) -> None:
        self.reporter.once(f"{self.code.folder}:{name}", site, node, RULE, message,
                           help or "meshlint reads Terraform offline; the value is kept as ${...} text")

    def reference(self, root: str, steps: list[s.Expr], ev: Evaluator, names: Names) -> tuple[Any, int]:
        first = steps[0] if steps and isinstance(steps[0], s.GetAttr) else None
        if root in ("var", "local", "module") and first is None:
            return self._unknown(ev, root, f"{root} needs an attribute", ev.site, steps[0] if steps else None), 0
        if root == "var" and first is not None:
            overrides = names.get(OVERRIDES, {})
            if first.name in overrides:
                return overrides[first.name], 1
            return self.variable(first.name, ev.site, first), 1
        if root == "local" and first is not None:
            return self.local(first.name, ev.site, first), 1
        if root == "path":
            return ".", 1
        if root == "terraform" and first is not None and first.name == "workspace":
            return "default", 1
        if root == "module" and first is not None:
            return self.module_output(first.name, steps, ev), len(steps)
        if root == "data":
            used = min(len(steps), 3)
            node = steps[used - 1] if steps else None
            text = ev.text(node) if node is not None else "data"
            return self._unknown(ev, text, f"{text} is read from AWS at plan time; meshlint does not know it",
                                 ev.site, node, "pass the value as a variable (--parameter) to check it"), used
        if root in ("count", "each", "self"):
            node = steps[0] if steps else None
            return self._unknown(ev, root, f"{root} is only known inside a resource with count/for_each",
                                 ev.site, node), len(steps)
        if first is not None and (root, first.name) in self.code.resources:
            return self.resource_value(root, first.name, ev, first), 1
        node = first or steps[0] if steps else None
        text = f"{root}.{first.name}" if first is not None else root
        return self._unknown(ev, text, f"{text} names nothing declared in this module", ev.site, node), \
            (1 if first is not None else 0)

    def attribute(self, value: Any, name: str, node: s.Expr, ev: Evaluator) -> Any:
        if not isinstance(value, Instance):
            raise EvalError(f"no attribute {name!r}")
        kind = value.resource.block.labels[0]
        if name == "id" and kind == f"{APPMESH}mesh":
            name = "name"
        if name in _NAME_ATTRS and value.resource.attribute(name) is not None:
            return (value.owner or self).instance_attribute(value, name)
        if name == "id":
            return Unknown.of(ev.text(node), id_of=value.address)
        text = f"{value.address}.{name}"
        return self._unknown(ev, text, f"{text} is known only after apply", ev.site, node)

    # -- values ------------------------------------------------------------------------------------------
    def variable(self, name: str, site: Site, node: Any) -> Any:
        if name in self._variables:
            return self._variables[name]
        declared = self.code.variables.get(name)
        if declared is None:
            return self._unknown_at(site, f"var.{name}", f"var.{name} is not declared in this module", node)
        value: Any
        if self.parameters is not None and name in self.parameters:
            value = self._parameter(name, self.parameters[name], declared)
        elif name in self._tfvars:
            value = self._tfvars[name]
        elif name in self.inputs:
            value = self.inputs[name]
        elif declared.attribute("default") is not None:
            attribute = declared.attribute("default")
            assert attribute is not None
            value = Evaluator(self, declared.site("default")).value(attribute.expr, {})
        else:
            help = (f"pass it with --parameter {name}=VALUE or in a terraform.tfvars file" if self.parameters is
                    not None else "the module call does not give it")
            value = self._unknown_at(site, f"var.{name}", f"variable {name} has no default and no value was given",
                                     node, help)
        value = _typed(value, declared.attribute("type"))
        self._variables[name] = value
        return value

    def local(self, name: str, site: Site, node: Any) -> Any:
        if name in self._locals:
            return self._locals[name]
        found = self.code.locals.get(name)
        if found is None or name in self._resolving:
            why = "is not defined" if found is None else "depends on itself"
            return self._unknown_at(site, f"local.{name}", f"local.{name} {why}", node)
        self._resolving.add(name)
        try:
            value = Evaluator(self, found.site()).value(found.attribute.expr, {})
        finally:
            self._resolving.discard(name)
        self._locals[name] = value
        return value

    def depends_on_default(self, expr: s.Expr) -> bool:
        """Whether the expression reads a variable that has its default value (directly or through locals)."""
        return bool(self.default_variables(expr))

    def default_variables(self, expr: s.Expr, seen: set[str] | None = None) -> set[str]:
        """The variables with their default value that the expression reads (directly or through locals)."""
        seen = seen if seen is not None else set()
        found: set[str] = set()
        for root, name in _references(expr):
            if root == "var":
                declared = self.code.variables.get(name)
                given = (self.parameters is not None and name in self.parameters) or name in self._tfvars \
                    or name in self.inputs
                if declared is not None and not given and declared.attribute("default") is not None:
                    found.add(name)
            elif root == "local" and name not in seen and name in self.code.locals:
                seen.add(name)
                found |= self.default_variables(self.code.locals[name].attribute.expr, seen)
        return found

    # -- resources ---------------------------------------------------------------------------------------
    def instances(self, resource: Declared) -> list[Instance]:
        key = (resource.block.labels[0], resource.block.labels[1])
        if key not in self._instances:
            self._instances[key] = [replace(i, owner=self) for i in self._expand(resource)]
        return self._instances[key]

    def _expand(self, resource: Declared) -> list[Instance]:
        body = resource.block.body
        count, for_each = body.attributes.get("count"), body.attributes.get("for_each")
        if count is None and for_each is None:
            return [Instance(resource, {})]
        meta = count if count is not None else for_each
        assert meta is not None
        ev = Evaluator(self, resource.site(meta.name))
        value = ev.value(meta.expr, {})
        if not isinstance(value, Unknown):
            try:
                found = _count_instances(resource, value) if count is not None else _each_instances(resource, value)
            except EvalError as err:
                self.unresolved(f"meta:{resource.pointer}", ev.site, meta.expr, f"{meta.name} of "
                                f"{resource.block.labels[0]}.{resource.block.labels[1]} is not valid: {err}")
                found = []
            if found or not self.depends_on_default(meta.expr):
                return found
            self.unresolved(f"meta:{resource.pointer}", ev.site, meta.expr,
                            f"{meta.name} of {resource.block.labels[0]}.{resource.block.labels[1]} creates nothing "
                            "with the variables' defaults; one instance is read, with its "
                            f"{'count.index' if count is not None else 'each.key and each.value'} unknown",
                            "give the module's inputs (--parameter, a .tfvars file) to check the real instances")
        # in the instance read, the variables that decided "nothing" are unknown too: they differ in real use
        overrides = {name: Unknown.of(f"var.{name}") for name in self.default_variables(meta.expr)}
        if count is not None:
            return [Instance(resource, {"count": {"index": Unknown.of("count.index")}, OVERRIDES: overrides},
                             symbolic=True)]
        return [Instance(resource, {"each": {"key": Unknown.of("each.key"), "value": Unknown.of("each.value")},
                                    OVERRIDES: overrides}, symbolic=True)]

    def resource_value(self, kind: str, name: str, ev: Evaluator, node: s.Expr) -> Any:
        resource = self.code.resources[(kind, name)]
        if not kind.startswith(APPMESH):
            return self._unknown(ev, f"{kind}.{name}", f"the attributes of {kind}.{name} are known only after "
                                 "apply", ev.site, node)
        found = self.instances(resource)
        body = resource.block.body
        if found and found[0].symbolic:
            return Unknown.of(ev.text(node))
        if "count" in body.attributes:
            return found
        if "for_each" in body.attributes:
            return {str(i.key): i for i in found}
        return found[0] if found else None

    def instance_attribute(self, instance: Instance, name: str) -> Any:
        attribute = instance.resource.attribute(name)
        assert attribute is not None
        guard = f"{instance.address}[{instance.key}].{name}"
        if guard in self._resolving:
            return Unknown.of(f"{instance.address}.{name}")
        self._resolving.add(guard)
        try:
            return Evaluator(self, instance.resource.site(name)).value(attribute.expr, instance.names)
        finally:
            self._resolving.discard(guard)

    # -- module calls ------------------------------------------------------------------------------------
    def children(self, name: str) -> list[ModuleInstance] | None:
        """The instances of a local module call, or None when the module is not read (remote, missing)."""
        if name in self._children:
            return self._children[name]
        call = self.code.modules[name]
        folder = self.code.local_source(call)
        code = self.codes.get(folder) if folder is not None else None
        found: list[ModuleInstance] | None = None
        if code is not None and self.depth < _MAX_MODULE_DEPTH:
            found = [ModuleInstance(code, self.codes, self.reporter, self._inputs(call, names), None, self.depth + 1)
                     for names in self._call_instances(call)]
        else:
            # a local folder that was not read: outside the paths checked, or with no .tf file (missing, or
            # a git submodule not checked out)
            where = "it is not a local folder" if folder is None else (
                f"no .tf file of folder {folder} was read (the folder is outside the paths checked, or missing or "
                "empty, as a git submodule not checked out is)")
            source = call.attribute("source")
            self.reporter.once(f"module:{call.pointer}:{call.file.path}", call.site("source"),
                               source.expr if source is not None else call.block,
                               "ignored-input", f"module {name} (source {self.code.source_text(call)}) is not read: "
                               f"{where}", "meshlint follows local modules (source = \"./...\") only; check "
                               "that module's own repository")
        self._children[name] = found
        return found

    def _call_instances(self, call: Declared) -> list[Names]:
        count, for_each = call.attribute("count"), call.attribute("for_each")
        if count is None and for_each is None:
            return [{}]
        meta = count or for_each
        assert meta is not None
        value = Evaluator(self, call.site(meta.name)).value(meta.expr, {})
        try:
            if isinstance(value, Unknown):
                raise EvalError("unknown")
            if count is not None:
                return [{"count": {"index": i}} for i in range(int(as_number(value)))]
            return [{"each": {"key": k, "value": v}} for k, v in _keyed(value)]
        except EvalError:
            return [{"count": {"index": Unknown.of("count.index")}, "each": {"key": Unknown.of("each.key"),
                                                                               "value": Unknown.of("each.value")}}]

    def _inputs(self, call: Declared, names: Names) -> Mapping[str, Any]:
        return _CallArguments(self, call, names)

    def module_output(self, name: str, steps: list[s.Expr], ev: Evaluator) -> Any:
        text = ev.text(steps[min(1, len(steps) - 1)])
        if name not in self.code.modules:
            return self._unknown(ev, text, f"module {name} is not called in this module", ev.site, steps[0])
        found = self.children(name)
        if found is None:
            return self._unknown(ev, text, f"{text} comes from a module meshlint does not read", ev.site, steps[0])
        values = [child.outputs() for child in found]
        value: Any = values[0] if len(values) == 1 and "count" not in self.code.modules[name].block.body.attributes \
            and "for_each" not in self.code.modules[name].block.body.attributes else values
        for step in steps[1:]:
            value = ev.step(value, step, {})
        return value

    def outputs(self) -> dict[str, Any]:
        out = {}
        for name, declared in self.code.outputs.items():
            attribute = declared.attribute("value")
            if attribute is not None:
                out[name] = Evaluator(self, declared.site("value")).value(attribute.expr, {})
        return out

    # -- helpers -----------------------------------------------------------------------------------------
    def _unknown(self, ev: Evaluator, name: str, message: str, site: Site, node: Any, help: str | None = None
                 ) -> Unknown:
        self.unresolved(name, site, node, message, help)
        return Unknown.of(ev.text(node) if node is not None else name)

    def _unknown_at(self, site: Site, name: str, message: str, node: Any, help: str | None = None) -> Unknown:
        if node is not None:
            self.unresolved(name, site, node, message, help)
        return Unknown.of(name)

    def _read_tfvars(self) -> dict[str, Any]:
        """terraform.tfvars, then *.auto.tfvars, then any other .tfvars of the folder (later ones win)."""
        def order(path: str) -> tuple[int, str]:
            base = path.rsplit("/", 1)[-1]
            return (0 if base == "terraform.tfvars" else 1 if base.endswith(".auto.tfvars") else 2, base)

        values: dict[str, Any] = {}
        for file in sorted(self.code.tfvars, key=lambda f: order(f.path)):
            for name, attribute in file.doc.body.attributes.items():
                values[name] = Evaluator(self, Site(file.path, file.doc, f"/{name}")).value(attribute.expr, {})
        return values

    def _parameter(self, name: str, text: str, declared: Declared) -> Any:
        type_attr = declared.attribute("type")
        if type_attr is None or declared.file.doc.text(type_attr.expr).strip('"') == "string":
            return text
        document, problem = parse_hcl(f"v = {text}\n")
        if document is None or problem is not None:
            return text
        return Evaluator(self, Site("--parameter", document, "/v")).value(document.body.attributes["v"].expr, {})


class _CallArguments(Mapping[str, Any]):
    """A module call's arguments, each evaluated when the called module first reads it. An argument no App
    Mesh value depends on (an IAM policy handed to a role module) is never evaluated, so what it leaves
    unknown is never reported."""

    _META = frozenset({"source", "version", "count", "for_each", "providers", "depends_on"})

    def __init__(self, caller: ModuleInstance, call: Declared, names: Names) -> None:
        self._caller, self._call, self._names = caller, call, names
        self._attributes = {k: a for k, a in call.block.body.attributes.items() if k not in self._META}
        self._values: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        if key not in self._values:
            attribute = self._attributes[key]
            self._values[key] = Evaluator(self._caller, self._call.site(key)).value(attribute.expr, self._names)
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._attributes)

    def __len__(self) -> int:
        return len(self._attributes)


def _references(expr: Any) -> list[tuple[str, str]]:
    """(root, first attribute) of every `var.x` / `local.x` reference in an expression."""
    found: list[tuple[str, str]] = []
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, s.GetAttr) and isinstance(node.obj, s.Ref) and node.obj.name in ("var", "local"):
            found.append((node.obj.name, node.name))
            continue
        for slot in getattr(node, "__slots__", ()):
            child = getattr(node, slot)
            if isinstance(child, tuple):
                stack.extend(c for c in child if not isinstance(c, str))
            elif hasattr(child, "__slots__") and not isinstance(child, str):
                stack.append(child)
    return found


def _count_instances(resource: Declared, value: Any) -> list[Instance]:
    count = int(as_number(known(value)))
    return [Instance(resource, {"count": {"index": i}}, i) for i in range(max(count, 0))]


def _each_instances(resource: Declared, value: Any) -> list[Instance]:
    return [Instance(resource, {"each": {"key": k, "value": v}}, k) for k, v in _keyed(value)]


def _keyed(value: Any) -> list[tuple[Any, Any]]:
    value = known(value)
    if isinstance(value, dict):
        return sorted(value.items())
    if isinstance(value, list):
        if any(isinstance(v, Unknown) for v in value):
            raise EvalError("for_each over a set with unknown members")
        return [(as_string(v), v) for v in dict.fromkeys(as_string(v) for v in value)]
    if value is None:
        raise EvalError("for_each is null")
    raise EvalError("for_each needs a map or a set of strings")


def _typed(value: Any, type_attr: s.Attribute | None) -> Any:
    """The conversions a variable's `type` makes that matter here: numbers and bools given as strings."""
    if type_attr is None or isinstance(value, Unknown):
        return value
    kind = type_attr.expr.name if isinstance(type_attr.expr, s.Ref) else \
        type_attr.expr.value if isinstance(type_attr.expr, s.Lit) else None
    try:
        if kind == "number" and isinstance(value, str):
            return as_number(value)
        if kind == "bool" and value in ("true", "false"):
            return value == "true"
    except EvalError:
        return value
    return value
