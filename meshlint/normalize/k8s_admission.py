"""What the App Mesh controller's admission webhooks refuse or rewrite in a Kubernetes object before App Mesh
sees it: the mutating webhooks (`webhooks/appmesh/*_mutator.go`: mesh and virtual gateway membership,
read-only references, the mesh's IP preference) and the parts of the validating ones that need the object as
written (`virtualnode_validator.go` checkVirtualNodeBackendsForDuplicates). The checks on the API shape that
every format shares are rules (meshlint.analyze.rules.refused).
https://github.com/aws/aws-app-mesh-controller-for-k8s/tree/master/webhooks/appmesh
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from meshlint.diagnostics import Finding, join_pointer
from meshlint.unknowns import is_unknown

if TYPE_CHECKING:
    from meshlint.normalize.kubernetes import K8sDoc

MEMBERSHIP = "membership-refused"
READ_ONLY = "read-only-field"
DUPLICATE_REF = "duplicate-backend-ref"
IP_PREFERENCE = "ip-preference-overridden"
UNRESOLVED = "unresolved-value"
# spec fields a mutating webhook sets on create and refuses when written
_READ_ONLY = {"meshRef": "Mesh", "virtualGatewayRef": "VirtualGateway"}
_CLUSTER_FAMILIES = ("IPv4_ONLY", "IPv6_ONLY")


def selects(selector: Any, labels: dict[str, Any] | None) -> bool | None:
    """Kubernetes label-selector semantics (metav1.LabelSelectorAsSelector): absent selects nothing, empty
    selects everything, matchLabels and matchExpressions are ANDed. None: it depends on labels not given, or on
    a value unknown offline (meshlint.unknowns), which is never the ground of a refusal."""
    if not isinstance(selector, dict):
        return False
    wanted = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not wanted and not expressions:
        return True
    if labels is None:
        return None
    if not isinstance(wanted, dict) or not isinstance(expressions, list):
        return False
    verdicts = [_unknown_or(labels.get(k) == v, k, v, labels.get(k)) for k, v in wanted.items()]
    verdicts += [_unknown_or(_matches(e, labels), e, labels) for e in expressions]
    return False if False in verdicts else None if None in verdicts else True


def _unknown_or(verdict: bool, *involved: Any) -> bool | None:
    return None if any(_has_unknown(v) for v in involved) else verdict


def _has_unknown(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_unknown(k) or _has_unknown(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_unknown(v) for v in value)
    return is_unknown(value)


def _matches(expression: Any, labels: dict[str, Any]) -> bool:
    if not isinstance(expression, dict):
        return False
    key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    return False


@dataclass(frozen=True)
class Candidates:
    """The objects whose selectors select something: surely, and maybe (labels not in the input)."""

    sure: list[K8sDoc]
    maybe: list[K8sDoc]

    @property
    def only(self) -> K8sDoc | None:
        both = self.sure + self.maybe
        return both[0] if len(both) == 1 else None


def distinct(objects: Sequence[K8sDoc]) -> list[K8sDoc]:
    """One definition per Kubernetes object (a Mesh by its name, a namespaced kind by namespace and name): two
    files that define the same object (versions of one manifest) apply to one object, not two that compete."""
    seen: dict[tuple[str, ...], K8sDoc] = {}
    for item in objects:
        seen.setdefault((item.name,) if item.kind == "Mesh" else (str(item.namespace), item.name), item)
    return list(seen.values())


def mesh_candidates(meshes: Sequence[K8sDoc], labels: dict[str, Any] | None) -> Candidates:
    verdicts = [(m, selects(m.spec.get("namespaceSelector"), labels)) for m in meshes]
    return Candidates([m for m, v in verdicts if v is True], [m for m, v in verdicts if v is None])


def gateway_candidates(gateways: Sequence[K8sDoc], labels: dict[str, Any] | None, route: K8sDoc) -> Candidates:
    """virtualgateway/membership_designator.go DesignateForGatewayRoute: the namespace selector must select the
    route's namespace, and the gateway route selector (absent: every route) the route's labels."""
    sure, maybe = [], []
    for gateway in gateways:
        routes = gateway.spec.get("gatewayRouteSelector")
        by_labels = True if routes is None else selects(routes, route.labels())
        verdict = _and(selects(gateway.spec.get("namespaceSelector"), labels), by_labels)
        if verdict is True:
            sure.append(gateway)
        elif verdict is None:
            maybe.append(gateway)
    return Candidates(sure, maybe)


def _and(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def undecided_mesh(item: K8sDoc, meshes: int) -> Finding:
    return Finding(UNRESOLVED, f"the mesh of {item.kind} {item.name} (namespace {item.namespace}) cannot be "
                   f"determined: {meshes} Mesh resources and no spec.meshRef", item.path, "/metadata", item.doc,
                   help="check the Mesh (with its namespaceSelector) and the Namespace together with this file, "
                        "or set spec.meshRef")


def undecided_gateway(item: K8sDoc, candidates: int) -> Finding:
    return Finding(UNRESOLVED, f"the virtual gateway of GatewayRoute {item.name} cannot be determined: "
                   f"{candidates} VirtualGateways may select it", item.path, "/metadata", item.doc,
                   help="check it together with its VirtualGateway (and Namespace), or set spec.virtualGatewayRef")


def no_mesh(item: K8sDoc, meshes: Sequence[K8sDoc], labels: dict[str, Any] | None) -> Finding:
    """mesh/membership_designator.go: no Mesh selects the namespace ("failed to find matching mesh")."""
    unselecting = [m.name for m in meshes if not isinstance(m.spec.get("namespaceSelector"), dict)]
    if labels is not None:
        why = f"the labels of namespace {item.namespace} ({_labels(labels)}) match no Mesh's namespaceSelector"
    else:
        why = f"no Mesh of the input selects namespace {item.namespace}"
    if unselecting:
        why += f"; Mesh {', '.join(unselecting)} {'has' if len(unselecting) == 1 else 'have'} no namespaceSelector, " \
               "which selects no namespace"
    return _refused(MEMBERSHIP, item, f"{why}, so it belongs to no mesh", "/metadata",
                    "label the namespace as a Mesh's namespaceSelector asks (an empty namespaceSelector: {} selects "
                    "every namespace), and give the Namespace document with the mesh")


def several_meshes(item: K8sDoc, chosen: Sequence[K8sDoc]) -> Finding:
    names = ", ".join(m.name for m in chosen)
    return _refused(MEMBERSHIP, item, f"Meshes {names} all select namespace {item.namespace}; a namespace may "
                    "belong to one mesh only", "/metadata",
                    "narrow the Meshes' namespaceSelectors so that exactly one selects the namespace")


def no_gateway(item: K8sDoc, several: Sequence[K8sDoc] = ()) -> Finding:
    """virtualgateway/membership_designator.go: not exactly one VirtualGateway selects the gateway route."""
    if several:
        gateways = ", ".join(g.name if g.namespace == item.namespace else f"{g.name} (namespace {g.namespace})"
                             for g in several)
        what = f"VirtualGateways {gateways} all select it; exactly one may"
    else:
        what = "no VirtualGateway selects it (namespaceSelector for its namespace, gatewayRouteSelector for its " \
               "labels)"
    return _refused(MEMBERSHIP, item, what, "/metadata",
                    "make exactly one VirtualGateway's namespaceSelector and gatewayRouteSelector select this "
                    "gateway route")


def gateway_in_other_mesh(item: K8sDoc, gateway: K8sDoc, gateway_mesh: str, mesh: str) -> Finding:
    """gatewayroute_mutator.go MutateCreate: the gateway must belong to the route's mesh."""
    return _refused(MEMBERSHIP, item, f"its VirtualGateway {gateway.name} belongs to mesh {gateway_mesh!r}, the "
                    f"gateway route to mesh {mesh!r}", "/metadata",
                    "select a gateway of the route's mesh, or move the route to a namespace of the gateway's mesh")


def read_only(item: K8sDoc) -> Iterator[Finding]:
    """*_mutator.go designateMeshMembership: `create may not specify read-only field: spec.meshRef`."""
    if item.made_by is not None or item.kind == "Mesh":
        return
    for field, kind in _READ_ONLY.items():
        if field in item.spec and (field == "meshRef" or item.kind == "GatewayRoute"):
            yield _refused(READ_ONLY, item, f"spec.{field} is a read-only field the controller sets on create",
                           join_pointer("/spec", field),
                           f"delete spec.{field}: the controller designates the {kind} by its selectors",
                           at_key=True)


def duplicate_backends(item: K8sDoc) -> Iterator[Finding]:
    """virtualnode_validator.go checkVirtualNodeBackendsForDuplicates: the same virtualServiceRef (name and
    namespace) or virtualServiceARN twice."""
    backends = item.spec.get("backends")
    if item.kind != "VirtualNode" or item.made_by is not None or not isinstance(backends, list):
        return
    seen: dict[Any, int] = {}
    for i, backend in enumerate(backends):
        service = backend.get("virtualService") if isinstance(backend, dict) else None
        key, at = _backend_key(service, item.namespace)
        if key is None or any(is_unknown(part) for part in key):
            continue
        if key in seen:
            yield _refused(DUPLICATE_REF, item, f"backends {seen[key] + 1} and {i + 1} both name virtual service "
                           f"{key[-1] if key[0] == 'arn' else key[1] + '/' + key[2]}",
                           join_pointer("/spec/backends", i, "virtualService", at),
                           "delete one entry; if both carry a clientPolicy, keep the one that should apply")
        else:
            seen[key] = i


def _backend_key(service: Any, namespace: str) -> tuple[tuple[str, ...] | None, str]:
    if not isinstance(service, dict):
        return None, ""
    ref = service.get("virtualServiceRef")
    if isinstance(ref, dict) and isinstance(ref.get("name"), str):
        return ("ref", str(ref.get("namespace") or namespace), ref["name"]), "virtualServiceRef"
    arn = service.get("virtualServiceARN")
    if isinstance(arn, str):
        return ("arn", arn), "virtualServiceARN"
    return None, ""


def ip_preference(item: K8sDoc) -> Iterator[Finding]:
    """mesh_mutator.go defaultingIpPreference replaces a written spec.meshServiceDiscovery with the cluster's IP
    family on create and update, before the CRD schema (whose enum lists only the two *_ONLY values) applies."""
    found = item.spec.get("meshServiceDiscovery")
    if item.kind != "Mesh" or not isinstance(found, dict):
        return
    value = found.get("ipPreference")
    if value in _CLUSTER_FAMILIES or is_unknown(value):
        return
    written = f"ipPreference {value}" if value is not None else "no ipPreference"
    yield Finding(IP_PREFERENCE, f"the controller replaces spec.meshServiceDiscovery of Mesh {item.name} ({written}) "
                  "with its cluster's IP family (IPv4_ONLY, or IPv6_ONLY in an IPv6 cluster), so App Mesh never "
                  "received it as written", item.path, "/spec/meshServiceDiscovery", item.doc,
                  help="write the ipPreference the cluster deployed (IPv4_ONLY or IPv6_ONLY), so that what is "
                       "checked and built is what ran", at_key=True)


def as_deployed(discovery: dict[str, Any]) -> dict[str, Any]:
    """A Mesh's serviceDiscovery as App Mesh got it from the controller (see ip_preference): the written
    ipPreference when it is a cluster family (the cluster's, presumably), else IPv4_ONLY, the controller's
    default family."""
    value = discovery.get("ipPreference")
    return discovery if value in _CLUSTER_FAMILIES or is_unknown(value) else {**discovery, "ipPreference": "IPv4_ONLY"}


def _refused(rule: str, item: K8sDoc, why: str, pointer: str, help: str, *, at_key: bool = False) -> Finding:
    return Finding(rule, f"the controller refused {item.written}: {why}",
                   item.path, pointer, item.doc, help=help, at_key=at_key)


def _labels(labels: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "none"
