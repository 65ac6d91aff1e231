"""The traffic interception App Mesh's proxy route manager installed in each pod (its `proxyinit` init
container on EKS; ECS's App Mesh CNI plugin installs the same from the task's proxyConfiguration).

Outbound TCP to any non-local address is redirected to Envoy's egress port, except traffic of the proxy's
uid (Envoy's own upstream connections), the egress-ignored ports (22 always) and IPs (the ECS task metadata
and EC2 instance metadata addresses by default). Inbound TCP from other hosts to an app port is redirected
to Envoy's ingress port. Same chains (APPMESH_EGRESS, APPMESH_INGRESS), same order, same settings read from
the same APPMESH_* variables the controller set, so a pod moves over without its network changing.
https://docs.aws.amazon.com/app-mesh/latest/userguide/envoy.html (proxy configuration);
aws-app-mesh-controller-for-k8s pkg/inject/init_proxy.go (the variables).
"""

from __future__ import annotations

from collections.abc import Sequence

from meshlint.compile.envoy.options import CompileOptions
from meshlint.deploy.proxy import ENVOY_UID

ALWAYS_IGNORED_PORTS = (22,)  # the route manager never routed SSH through Envoy

# POSIX sh, every value from the environment: the same text runs in any image with sh and iptables.
SCRIPT = """\
set -eu
: "${APPMESH_IGNORE_UID:?}" "${APPMESH_ENVOY_INGRESS_PORT:?}" "${APPMESH_ENVOY_EGRESS_PORT:?}"
echo "meshlint proxyinit: uid $APPMESH_IGNORE_UID bypasses; egress -> $APPMESH_ENVOY_EGRESS_PORT," \\
     "app ports ${APPMESH_APP_PORTS:-none} -> $APPMESH_ENVOY_INGRESS_PORT"
iptables -t nat -N APPMESH_EGRESS
iptables -t nat -A APPMESH_EGRESS -m owner --uid-owner "$APPMESH_IGNORE_UID" -j RETURN
if [ -n "${APPMESH_EGRESS_IGNORED_PORTS:-}" ]; then
  iptables -t nat -A APPMESH_EGRESS -p tcp -m multiport --dports "$APPMESH_EGRESS_IGNORED_PORTS" -j RETURN
fi
if [ -n "${APPMESH_EGRESS_IGNORED_IP:-}" ]; then
  iptables -t nat -A APPMESH_EGRESS -p tcp -d "$APPMESH_EGRESS_IGNORED_IP" -j RETURN
fi
iptables -t nat -A APPMESH_EGRESS -p tcp -j REDIRECT --to-ports "$APPMESH_ENVOY_EGRESS_PORT"
iptables -t nat -A OUTPUT -p tcp -m addrtype ! --dst-type LOCAL -j APPMESH_EGRESS
if [ -n "${APPMESH_APP_PORTS:-}" ]; then
  iptables -t nat -N APPMESH_INGRESS
  iptables -t nat -A APPMESH_INGRESS -p tcp -m multiport --dports "$APPMESH_APP_PORTS" \\
    -j REDIRECT --to-ports "$APPMESH_ENVOY_INGRESS_PORT"
  iptables -t nat -A PREROUTING -p tcp -m addrtype ! --src-type LOCAL -j APPMESH_INGRESS
fi
"""


def interception_env(options: CompileOptions, app_ports: Sequence[int]) -> dict[str, str]:
    """The APPMESH_* variables of App Mesh's proxyinit container, for this proxy."""
    ports = dict.fromkeys([*options.egress_ignored_ports, *ALWAYS_IGNORED_PORTS])
    return {
        "APPMESH_START_ENABLED": "1",
        "APPMESH_IGNORE_UID": str(ENVOY_UID),
        "APPMESH_ENVOY_INGRESS_PORT": str(options.ingress_port),
        "APPMESH_ENVOY_EGRESS_PORT": str(options.egress_port),
        "APPMESH_APP_PORTS": ",".join(map(str, app_ports)),
        "APPMESH_EGRESS_IGNORED_IP": ",".join(options.egress_ignored_ips),
        "APPMESH_EGRESS_IGNORED_PORTS": ",".join(map(str, ports)),
    }
