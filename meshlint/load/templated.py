"""Template placeholders that break the YAML or JSON syntax, and files that are templates of another tool.

`"hostname": $DNS_HOSTNAME` (envsubst into JSON), `weightedTargets: [${ROUTES}]` and `image: {{IMAGE}}` do not
parse until rendered, yet the rest of such a file is App Mesh that can be checked. When a file does not parse,
the placeholders that stand where a whole value belongs are quoted (`"$DNS_HOSTNAME"`) and the file is read
again: the placeholder is then a string value, reported once by `template-placeholder` and unknown to every
rule (meshlint.unknowns). Lines keep their numbers; columns after a quoted placeholder on its line move by two.

A file that still does not parse is a parse error when it is App Mesh input (it names an App Mesh kind or
key) and not a Helm template, and otherwise not meshlint's input as it is: a Helm chart's template (App Mesh
resources in it are checked once rendered), a package.json, an ECS task definition with a placeholder. Those
are `ignored-input`, with what they look like.
"""

from __future__ import annotations

import json
import re

# A placeholder that is a whole value: after a key, a list dash or bracket, a comma or the line start, and before
# the end of the value. `name: ${A}-${B}` is a plain YAML string already and stays as it is.
_STANDALONE = re.compile(
    r"(?P<before>(?:^|[:\[,]|^\s*-)\s*)"
    r"(?P<placeholder>\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\{\{.*?\}\})"
    r"(?=\s*(?:$|[,\]}#]))", re.M)
_MARKERS = re.compile(r"appmesh\.k8s\.aws|AWS::AppMesh::|aws_appmesh_|\b(?:meshName|virtualNodeName|virtualServiceName|"
                      r"virtualRouterName|virtualGatewayName|gatewayRouteName|routeName|portMapping|weightedTargets|"
                      r"backendDefaults|egressFilter)\b")
_HELM = re.compile(r"\{\{-?\s*(?:if|range|include|template|define|with|end|else)\b|\.Values\.|\.Release\.")


def quoted_placeholders(text: str) -> str | None:
    """`text` with every standalone placeholder quoted as a string, or None when there is none."""
    changed = _STANDALONE.sub(lambda m: m["before"] + json.dumps(m["placeholder"]), text)
    return None if changed == text else changed


def is_appmesh_text(text: str) -> bool:
    """Whether the text names an App Mesh kind, CRD group, Terraform type or resource name key."""
    return _MARKERS.search(text) is not None


def is_helm_template(text: str) -> bool:
    """Go template actions of Helm (`{{- if .Values.x }}`, `{{ include ... }}`): not YAML until rendered."""
    return _HELM.search(text) is not None


def looks_like(text: str, display: str) -> tuple[str, str]:
    """(what a file that is not meshlint's input looks like, what to do about it)."""
    if _HELM.search(text) or "/templates/" in f"/{display}":
        return ("a Helm template", "render the chart first: helm template <chart> | meshlint check -")
    if display.endswith("package.json") or display.endswith("package-lock.json"):
        return "a Node.js package file", "nothing to do; exclude node_modules/ and the like with --exclude"
    return "a YAML or JSON file that is not App Mesh input", "nothing to do; --exclude it to stop this note"
