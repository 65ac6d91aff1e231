"""Kubernetes custom resources of the App Mesh controller (`appmesh.k8s.aws/v1beta2`) -> the API shape.

Names follow the controller: `spec.awsName`, else `<name>` for a Mesh, `<name>.<namespace>` for a
VirtualService and `<name>_<namespace>` for the other kinds; routes are inline in `VirtualRouter.spec.routes`
and keep their `name`. References are Kubernetes refs (`virtualNodeRef: {name, namespace}`, the namespace
defaulting to the referrer's) or ARNs. The mesh is `spec.meshRef`, else the Mesh whose namespaceSelector
matches the namespace's labels (from Namespace documents in the input), else the only Mesh given.
https://github.com/aws/aws-app-mesh-controller-for-k8s/tree/master/apis/appmesh/v1beta2
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from meshlint.diagnostics import Finding, join_pointer
from meshlint.kinds import NAME_KEY
from meshlint.load import k8s_schema
from meshlint.load.schema import SchemaProblem
from meshlint.load.sources import translated_base
from meshlint.model.entities import Origin
from meshlint.normalize import flagger, k8s_admission, kustomize, shape
from meshlint.normalize.appmesh_api import RawResource, read_resource
from meshlint.unknowns import is_unknown

GROUP = "appmesh.k8s.aws/"
VERSION = "appmesh.k8s.aws/v1beta2"
KINDS = ("Mesh", "VirtualNode", "VirtualService", "VirtualRouter", "VirtualGateway", "GatewayRoute")
RULE = "unresolved-value"
# spec fields the controller uses for Kubernetes wiring; they have no App Mesh API counterpart
_K8S_ONLY = {"awsName", "meshRef", "podSelector", "backendGroups", "namespaceSelector", "gatewayRouteSelector",
             "virtualGatewayRef", "routes", "meshOwner"}
# spec fields the CRD spells differently from the API, by kind
_RENAMED = {"Mesh": {"meshServiceDiscovery": "serviceDiscovery"}}
# what a mutating webhook sets or replaces before the CRD schema applies: reported by k8s_admission instead
_MUTATED = {"Mesh": ("/spec/meshServiceDiscovery",), "GatewayRoute": ("/spec/meshRef", "/spec/virtualGatewayRef")}
_MUTATED.update({kind: ("/spec/meshRef",) for kind in ("VirtualNode", "VirtualService", "VirtualRouter",
                                                        "VirtualGateway")})
# ref field -> (kind referred to, API field that holds the name)
_REFS = {
    "virtualNodeRef": ("VirtualNode", "virtualNodeName"), "virtualNodeARN": ("VirtualNode", "virtualNodeName"),
    "virtualServiceRef": ("VirtualService", "virtualServiceName"),
    "virtualServiceARN": ("VirtualService", "virtualServiceName"),
    "virtualRouterRef": ("VirtualRouter", "virtualRouterName"),
    "virtualRouterARN": ("VirtualRouter", "virtualRouterName"),
}


def is_appmesh(data: Any) -> bool:
    return isinstance(data, dict) and str(data.get("apiVersion", "")).startswith(GROUP)


@dataclass(frozen=True)
class K8sDoc:
    path: str
    doc: int
    data: dict[str, Any]
    made_by: str | None = None  # pointer of what generated it (a Flagger Canary), where its findings point
    kustomized: str | None = None  # the namespace a kustomization.yaml sets for the file

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def metadata(self) -> dict[str, Any]:
        found = self.data.get("metadata")
        return found if isinstance(found, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str:
        return self.kustomized or str(self.metadata.get("namespace") or "default")

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.data.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def written(self) -> str:
        """How messages name the object: `Mesh shop`, `VirtualNode web in namespace shop`."""
        return f"{self.kind} {self.name}" + ("" if self.kind == "Mesh" else f" in namespace {self.namespace}")

    def labels(self) -> dict[str, Any]:
        found = self.metadata.get("labels")
        return found if isinstance(found, dict) else {}


def aws_name(kind: str, name: str, namespace: str, spec: dict[str, Any] | None = None) -> str:
    given = (spec or {}).get("awsName")
    if isinstance(given, str) and given:
        return given
    if kind == "Mesh":
        return name
    return f"{name}.{namespace}" if kind == "VirtualService" else f"{name}_{namespace}"


@dataclass
class Cluster:
    """Every App Mesh custom resource and Namespace of the input, read together (refs cross files)."""

    docs: list[K8sDoc] = field(default_factory=list)
    # a Namespace's labels; None where the input defines it twice with other labels (alternatives: unknown)
    namespaces: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    tables: list[tuple[str, int, dict[str, str]]] = field(default_factory=list)  # (path, doc, translation)
    kustomized: dict[str, str] = field(default_factory=dict)  # display path -> namespace a kustomization sets
    _mesh_notes: set[str] = field(default_factory=set)
    _meshes: dict[tuple[str, int, str, str], str] = field(default_factory=dict)  # each object's mesh, said once
    _named: dict[tuple[str, str, str], K8sDoc] = field(default_factory=dict)  # (kind, name, namespace) -> first
    _kinds: dict[str, list[K8sDoc]] = field(default_factory=dict)

    def add(self, path: str, doc: int, data: dict[str, Any]) -> None:
        """Keep an App Mesh custom resource or a Namespace, and what Flagger creates for an App Mesh Canary;
        a kustomization's `namespace:` applies to the files it lists. Other documents are ignored."""
        item = K8sDoc(path, doc, data)
        if flagger.is_appmesh_canary(data):
            self.docs.extend(K8sDoc(path, doc, made, made_by="/spec") for made in flagger.generated(data))
        elif kustomize.is_kustomization(data, path):
            self.kustomized.update(kustomize.namespaced_files(path, data))
        elif data.get("kind") == "Namespace" and data.get("apiVersion") == "v1":
            # A Namespace written without a label has its labels set elsewhere: `kubectl label`, as the AWS
            # walkthroughs do it, and `kubectl apply` keeps labels its manifest does not name. Written labels are
            # taken as they are; none written, or two definitions that differ, leave them unknown.
            labels = item.labels() or None
            self.namespaces[item.name] = labels if self.namespaces.get(item.name, labels) == labels else None
        elif is_appmesh(data):
            if data.get("apiVersion") != VERSION:
                self.findings.append(Finding(
                    "ignored-input", f"{data.get('apiVersion')} {item.kind} {item.name} is an unsupported version;"
                    " it was skipped", path, "/apiVersion", doc,
                    help=f"meshlint reads {VERSION}; migrate with the controller's v1beta2 upgrade guide"))
            elif item.kind not in KINDS:
                self.findings.append(Finding(
                    "ignored-input", f"{item.kind} {item.name} has no App Mesh API counterpart; it was skipped",
                    path, "/kind", doc))
            else:
                self.docs.append(item)

    def read(self) -> list[tuple[RawResource, K8sDoc]]:
        out: list[tuple[RawResource, K8sDoc]] = []
        counters: dict[tuple[str, int], int] = {}
        if self.kustomized:
            self.docs = [replace(d, kustomized=kustomize.namespace_of(d.path, self.kustomized)) for d in self.docs]
        self._kinds = {}
        for d in reversed(self.docs):  # looked up for every object: indexed once, not searched per object
            self._named[(d.kind, d.name, d.namespace)] = d
        for item in self.docs:
            refused = [] if item.made_by is not None else k8s_schema.check(item.kind, item.data,
                                                                          _MUTATED.get(item.kind, ()))
            said = {k8s_schema.problem_key(p.pointer, p.message) for p in refused}
            for kind, obj, original, table_base in self._objects(item):
                index = counters.get((item.path, item.doc), 0)
                counters[(item.path, item.doc)] = index + 1
                raw = self._resource(item, kind, obj, original, table_base, index, said)
                if raw is not None:
                    out.append((raw, item))
            if item.made_by is None:
                self._admission(item, refused)
        return out

    def _admission(self, item: K8sDoc, refused: list[SchemaProblem]) -> None:
        """What the controller refuses before App Mesh sees the object: its CRD schema, its mutating and its
        validating webhooks (k8s_admission)."""
        self.findings.extend(
            Finding("schema", f"the controller refused {item.written}: {p.message} (its CRD schema)", item.path,
                    p.pointer, item.doc, p.help, at_key=p.at_key)
            for p in refused if not p.unknown)
        self.findings.extend(k8s_admission.read_only(item))
        self.findings.extend(k8s_admission.duplicate_backends(item))
        self.findings.extend(k8s_admission.ip_preference(item))

    def _resource(self, item: K8sDoc, kind: str, obj: dict[str, Any], original: dict[str, str],
                  spec_at: str, index: int, said: set[tuple[str, str]]) -> RawResource | None:
        """The API-shaped resource; its schema problems are App Mesh's, but for those the CRD reports (said)."""
        out = shape.Translation(translated_base(index))
        spec = {k: v for k, v in obj.pop("spec").items() if k not in _K8S_ONLY}
        renamed = {k: api for k, api in _RENAMED.get(kind, {}).items() if k in spec and api not in spec}
        for k8s_key, api_key in renamed.items():
            spec[api_key] = spec.pop(k8s_key)
        if kind == "Mesh" and isinstance(spec.get("serviceDiscovery"), dict) and renamed:
            spec["serviceDiscovery"] = k8s_admission.as_deployed(spec["serviceDiscovery"])
        spec_schema = shape.kind_schema(kind).get("properties", {}).get("spec")
        converted = shape.convert(spec, spec_schema, spec_at, join_pointer(out.base, "spec"), out,
                                  self._resolver(item))
        for k8s_key, api_key in renamed.items():
            out.repoint(join_pointer(spec_at, api_key), join_pointer(spec_at, k8s_key))
        for key, at in original.items():
            out.note(at, key)
        out.note("")
        api = {**obj, "spec": converted}
        if item.made_by is not None:  # generated: every finding points at what generated it
            out.table = dict.fromkeys(out.table, item.made_by)
        self.tables.append((item.path, item.doc, out.table))
        raw, findings = read_resource(kind, api, Origin(item.path, item.doc, out.base, "kubernetes", item.written))
        for f in findings:
            if f.rule != "schema":
                self.findings.append(f)
            elif k8s_schema.problem_key(out.original(f.pointer), f.message) not in said:
                told = f.message if f.message.startswith("App Mesh refused") else \
                    f"App Mesh refused {item.written}: {f.message}"
                self.findings.append(replace(f, message=told))
        return raw

    def _objects(self, item: K8sDoc) -> list[tuple[str, dict[str, Any], dict[str, str], str]]:
        """(API kind, API object without its converted spec, name key -> original pointer, spec pointer)."""
        kind, spec = item.kind, item.spec
        name = aws_name(kind, item.name, item.namespace, spec)
        if kind == "Mesh":
            return [(kind, {"meshName": name, "spec": spec}, {"meshName": "/metadata/name"}, "/spec")]
        mesh = self._mesh_of(item)
        names = {"meshName": mesh, NAME_KEY[kind]: name}
        where = {"meshName": "/spec/meshRef" if "meshRef" in spec else "/metadata",
                 NAME_KEY[kind]: "/spec/awsName" if "awsName" in spec else "/metadata/name"}
        if kind == "GatewayRoute":
            names["virtualGatewayName"] = self._gateway_of(item, mesh)
            where["virtualGatewayName"] = "/spec/virtualGatewayRef" if "virtualGatewayRef" in spec else "/metadata"
        found = [(kind, {**names, "spec": spec}, where, "/spec")]
        if kind == "VirtualRouter":
            routes = spec.get("routes")
            for i, route in enumerate(routes if isinstance(routes, list) else []):
                if not isinstance(route, dict):
                    continue
                at = join_pointer("/spec/routes", i)
                body = {k: v for k, v in route.items() if k != "name"}
                route_obj: dict[str, Any] = {"meshName": mesh, "virtualRouterName": name,
                                             "routeName": route.get("name"), "spec": body}
                found.append(("Route", route_obj,
                              {**where, "virtualRouterName": where[NAME_KEY[kind]],
                               "routeName": join_pointer(at, "name")}, at))
        return found

    def _mesh_of(self, item: K8sDoc) -> str:
        key = (item.path, item.doc, item.kind, item.name)
        if key not in self._meshes:
            self._meshes[key] = self._designate_mesh(item)
        return self._meshes[key]

    def _designate_mesh(self, item: K8sDoc) -> str:
        """spec.meshRef, else the one Mesh whose namespaceSelector selects the namespace, as the controller
        designates it on create (pkg/mesh/membership_designator.go); none or several is a refusal when the
        input decides it, else unknown. A refused object is still checked in the one Mesh given, if so."""
        meshes = self._of_kind("Mesh")
        ref = item.spec.get("meshRef")
        if isinstance(ref, dict) and isinstance(ref.get("name"), str):
            for mesh in meshes:
                if mesh.name == ref["name"]:
                    return aws_name("Mesh", mesh.name, "", mesh.spec)
            return str(ref["name"])
        labels = None if is_unknown(item.namespace) else self.namespaces.get(item.namespace)
        found = k8s_admission.mesh_candidates(meshes, labels)
        only = found.only
        if only is not None:
            return aws_name("Mesh", only.name, "", only.spec)
        if item.made_by is None and (len(found.sure) > 1 or (meshes and not found.sure and not found.maybe)):
            self.findings.append(k8s_admission.several_meshes(item, found.sure) if found.sure
                                 else k8s_admission.no_mesh(item, meshes, labels))
            if len(meshes) == 1:
                return aws_name("Mesh", meshes[0].name, "", meshes[0].spec)
        elif item.path not in self._mesh_notes:
            self._mesh_notes.add(item.path)
            self.findings.append(k8s_admission.undecided_mesh(item, len(meshes)))
        return "${mesh}"

    def _gateway_of(self, item: K8sDoc, mesh: str) -> str:
        """spec.virtualGatewayRef, else the one VirtualGateway that selects the route (namespaceSelector and
        gatewayRouteSelector), which must be of the route's mesh (webhooks/appmesh/gatewayroute_mutator.go)."""
        ref = item.spec.get("virtualGatewayRef")
        if isinstance(ref, dict) and isinstance(ref.get("name"), str):
            return self._ref_name("VirtualGateway", ref, item)
        gateways = self._of_kind("VirtualGateway")
        labels = None if is_unknown(item.namespace) else self.namespaces.get(item.namespace)
        found = k8s_admission.gateway_candidates(gateways, labels, item)
        chosen = found.only
        if chosen is None and found.maybe and len(found.sure) <= 1:  # labels not given: the likeliest
            likely = [g for g in found.sure + found.maybe if self._mesh_of(g) == mesh]
            chosen = _one([g for g in likely if g.namespace == item.namespace] or likely)
        if chosen is not None:
            gateway_mesh = self._mesh_of(chosen)
            if gateway_mesh != mesh and not is_unknown(gateway_mesh) and not is_unknown(mesh):
                self.findings.append(k8s_admission.gateway_in_other_mesh(item, chosen, gateway_mesh, mesh))
            return aws_name("VirtualGateway", chosen.name, chosen.namespace, chosen.spec)
        if item.made_by is None and (len(found.sure) > 1 or (gateways and not found.maybe)):
            self.findings.append(k8s_admission.no_gateway(item, found.sure))
        else:
            self.findings.append(k8s_admission.undecided_gateway(item, len(found.sure) + len(found.maybe)))
        return "${virtual gateway of " + item.name + "}"  # its own unknown: never compared with another route's

    def _ref_name(self, kind: str, ref: dict[str, Any], item: K8sDoc) -> str:
        namespace = str(ref.get("namespace") or item.namespace)
        target = self._named.get((kind, str(ref.get("name")), namespace))
        if target is not None:
            return aws_name(kind, target.name, namespace, target.spec)
        return aws_name(kind, str(ref.get("name")), namespace)

    def _of_kind(self, kind: str) -> list[K8sDoc]:
        """The objects of a kind, one definition each (k8s_admission.distinct), made once per run."""
        if kind not in self._kinds:
            self._kinds[kind] = k8s_admission.distinct([d for d in self.docs if d.kind == kind])
        return self._kinds[kind]

    def _resolver(self, item: K8sDoc) -> shape.Resolver:
        def resolve(value: Any, at: str) -> Any:
            if value is None:  # the API server drops a null before the controller reads the object
                return shape.DROP
            if not isinstance(value, dict):
                return value
            refs = [k for k in value if k in _REFS]
            if not refs:
                return value
            rest = {k: v for k, v in value.items() if k not in _REFS}
            kind, api_key = _REFS[refs[0]]
            if "weight" in value:  # a route's weighted target names the node as `virtualNode`
                api_key = "virtualNode"
            target = value[refs[0]]
            if refs[0].endswith("ARN"):
                rest[api_key] = self._arn_name(str(target), join_pointer(at, refs[0]), item)
            elif isinstance(target, dict):
                rest[api_key] = self._ref_name(kind, target, item)
            else:
                rest[api_key] = target
            return rest
        return resolve

    def _arn_name(self, arn: str, at: str, item: K8sDoc) -> str:
        parts = arn.split(":", 5)
        if len(parts) == 6 and parts[0] == "arn" and parts[2] == "appmesh" and parts[5].count("/") >= 3:
            return parts[5].rsplit("/", 1)[1]
        self.findings.append(Finding(
            RULE, f"{arn!r} is not an App Mesh ARN", item.path, at, item.doc,
            help="use arn:aws:appmesh:REGION:ACCOUNT:mesh/MESH/KIND/NAME, or a *Ref by Kubernetes name"))
        return arn


def _one(docs: list[K8sDoc]) -> K8sDoc | None:
    return docs[0] if len(docs) == 1 else None
