"""ECS: per proxy the containers, volume and proxyConfiguration to put into its task definition.

Mirrors App Mesh's ECS setup (App Mesh user guide, getting-started-ecs): an essential `envoy` container as
uid 1337 with a LIVE health check, and `proxyConfiguration` type APPMESH (IgnoredUID 1337, ProxyIngressPort
15000, ProxyEgressPort 15001, the node's AppPorts, the ECS and EC2 metadata IPs ignored) for a virtual node;
a gateway's Envoy runs without interception, its listener ports mapped. What App Mesh's agent fetched from
the control plane comes from files instead: an `envoy-config` container copies this proxy's build output
from S3 (`ecs-config-uri`) into a task volume mounted at /etc/envoy. With --xds it keeps polling and
installs changed files as Envoy wants them: each one renamed into place, clusters first, then a pause, then
routes and listeners. It runs as gid 1337 (IgnoredGID) so its S3 traffic bypasses the not-yet-running Envoy.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath

from meshlint.compile import Artifact
from meshlint.compile.envoy.envoy_json import Json
from meshlint.compile.envoy.names import file_name
from meshlint.compile.envoy.options import CompileOptions
from meshlint.compile.envoy.xds import CDS_FILE, LDS_FILE
from meshlint.deploy.interception import ALWAYS_IGNORED_PORTS
from meshlint.deploy.proxy import CONFIG_DIR, ENVOY_UID, Proxy, envoy_args

VOLUME = "meshlint-envoy-config"
CONFIG_CONTAINER = "envoy-config"
CONFIG_IMAGE = "public.ecr.aws/aws-cli/aws-cli:latest"
CONFIG_FOLDER = "config"
POLL_S = 15
SETTLE_S = 5  # between new clusters and the routes that use them (cluster warming, no ack from Envoy)
_KIND_DIR = {"virtualNode": "virtual-nodes", "virtualGateway": "virtual-gateways"}

# Static: copy the bootstrap once. xDS: poll, then install what changed, clusters before routes/listeners.
_COPY_ONCE = 'aws s3 cp --only-show-errors "$MESHLINT_CONFIG_URI/bootstrap.json" /etc/envoy/bootstrap.json\n'
_POLL = f"""\
set -u
stage=/tmp/meshlint-stage; dst={CONFIG_DIR}; mkdir -p "$stage"
put() {{ cp "$stage/$1" "$dst/.$1.tmp" && mv -f "$dst/.$1.tmp" "$dst/$1"; }}
same() {{ [ -e "$dst/$1" ] && [ "$(cksum < "$stage/$1")" = "$(cksum < "$dst/$1")" ]; }}
while :; do
  if aws s3 sync --only-show-errors --delete "$MESHLINT_CONFIG_URI" "$stage"; then
    if ! same {CDS_FILE}; then
      put {CDS_FILE}; [ -e "$dst/{LDS_FILE}" ] && sleep {SETTLE_S}
    fi
    for f in "$stage"/rds_*.json; do n=${{f##*/}}; [ -e "$f" ] && ! same "$n" && put "$n"; done
    for n in {LDS_FILE} bootstrap.json; do same "$n" || put "$n"; done
    for f in "$dst"/rds_*.json; do [ -e "$f" ] && [ ! -e "$stage/${{f##*/}}" ] && rm -f "$f"; done
  fi
  sleep {POLL_S}
done
"""


def ecs_folder(proxy: Proxy) -> PurePosixPath:
    return proxy.static_path.parent.parent / "ecs" / _KIND_DIR[proxy.kind] / file_name(proxy.name)


def ecs_artifacts(proxy: Proxy, options: CompileOptions) -> list[Artifact]:
    """`task-definition.json` (the part to merge) and `config/`, the files to upload for the config container
    (their paths are the container's: /etc/envoy)."""
    folder = ecs_folder(proxy)
    text = json.dumps(task_definition_part(proxy, options), indent=2, sort_keys=True) + "\n"
    return [Artifact(folder / "task-definition.json", text.encode()),
            *(Artifact(folder / CONFIG_FOLDER / name, content) for name, content in sorted(proxy.files.items()))]


def task_definition_part(proxy: Proxy, options: CompileOptions) -> Json:
    """The keys this proxy adds to a RegisterTaskDefinition request (the app's containers go beside)."""
    part: Json = {"containerDefinitions": [envoy_container(proxy, options), config_container(proxy, options)],
                  "volumes": [{"name": VOLUME}]}
    if not proxy.is_gateway:
        part["proxyConfiguration"] = proxy_configuration(proxy, options)
    return part


def envoy_container(proxy: Proxy, options: CompileOptions) -> Json:
    ready = (f"exec 3<>/dev/tcp/127.0.0.1/{proxy.admin_port} && printf 'GET /ready HTTP/1.0\\r\\n\\r\\n' >&3"
             " && grep -q LIVE <&3")  # App Mesh's LIVE check, with the shell alone (no curl in the image)
    container: Json = {
        "name": "envoy",
        "image": options.envoy_image,
        "essential": True,
        "user": f"{ENVOY_UID}:{ENVOY_UID}",
        "command": envoy_args(proxy.config_dir),
        "healthCheck": {"command": ["CMD", "bash", "-c", ready], "interval": 5, "timeout": 2, "retries": 3,
                        "startPeriod": 10},
        "mountPoints": [{"sourceVolume": VOLUME, "containerPath": proxy.config_dir, "readOnly": True}],
        "dependsOn": [{"containerName": CONFIG_CONTAINER, "condition": "HEALTHY" if options.xds else "SUCCESS"}],
    }
    if proxy.is_gateway:
        container["portMappings"] = [{"containerPort": port, "protocol": "tcp"} for port in proxy.app_ports]
    return container


def config_container(proxy: Proxy, options: CompileOptions) -> Json:
    uri = f"{options.ecs_config_uri.rstrip('/')}/{ecs_folder(proxy)}/{CONFIG_FOLDER}"
    container: Json = {
        "name": CONFIG_CONTAINER,
        "image": CONFIG_IMAGE,
        "essential": False,  # if it stops, Envoy keeps serving the last files, as with an unreachable App Mesh
        "user": f"0:{ENVOY_UID}",
        "entryPoint": ["sh", "-c"],
        "command": [(_POLL if options.xds else _COPY_ONCE).replace(CONFIG_DIR, proxy.config_dir)],
        "environment": [{"name": "MESHLINT_CONFIG_URI", "value": uri}],
        "mountPoints": [{"sourceVolume": VOLUME, "containerPath": proxy.config_dir, "readOnly": False}],
    }
    if options.xds:
        container["healthCheck"] = {"command": ["CMD-SHELL", f"test -s {proxy.config_dir}/{LDS_FILE}"], "interval": 5,
                                    "timeout": 2, "retries": 3, "startPeriod": 30}
    return container


def proxy_configuration(proxy: Proxy, options: CompileOptions) -> Json:
    ignored_ports = dict.fromkeys([*options.egress_ignored_ports, *ALWAYS_IGNORED_PORTS])
    properties = {
        "IgnoredUID": str(ENVOY_UID),
        "IgnoredGID": str(ENVOY_UID),
        "ProxyIngressPort": str(options.ingress_port),
        "ProxyEgressPort": str(options.egress_port),
        "AppPorts": ",".join(map(str, proxy.app_ports)),
        "EgressIgnoredIPs": ",".join(options.egress_ignored_ips),
        "EgressIgnoredPorts": ",".join(map(str, ignored_ports)),
    }
    return {"type": "APPMESH", "containerName": "envoy",
            "properties": [{"name": k, "value": v} for k, v in properties.items() if v]}
