"""Template placeholders that break the YAML or JSON syntax, and files that are templates of another tool.

`"hostname": $DNS_HOSTNAME` (envsubst into JSON), `weightedTargets: [${ROUTES}]` and `image: {{IMAGE}}` do not
parse until rendered, yet the rest of such a file is App Mesh that can be checked. When a file does not parse,
the placeholders that stand where a whole value belongs are quoted (`"$DNS_HOSTNAME"`) and the file is read
again: the placeholder is then a string value, reported once by `template-placeholder` and unknown to every
rule (meshlint.unknowns). Lines keep their numbers, and positions map back to the file's own columns.

A file that still does not parse is a parse error when it is App Mesh input (it names an App Mesh kind or
key) and not a Helm template, and otherwise not meshlint's input as it is: a Helm chart's template (App Mesh
resources in it are checked once rendered), a package.json, an ECS task definition with a placeholder. Those
are `ignored-input`, with what they look like.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from meshlint.diagnostics import Position

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


@dataclass(frozen=True)
class Quoted:
    """A text with its standalone placeholders quoted: `original` as the file holds it, `text` as parsed, and
    where each quote pair went, so that positions in `text` map back to the file."""

    original: str
    text: str
    quotes: Mapping[int, tuple[tuple[int, int], ...]]  # line -> (column of the opening, of the closing quote)

    def original_position(self, position: Position) -> Position:
        """The position in the file of `position` in the quoted text (same line; columns move back)."""
        shift = 0
        for opening, closing in self.quotes.get(position.line, ()):
            if position.column > closing:
                shift += 2
            elif position.column > opening:
                shift += 1
        return Position(position.line, position.column - shift) if shift else position


def quote_placeholders(text: str) -> Quoted | None:
    """`text` with every standalone placeholder quoted as a string, or None when there is none."""
    quotes: dict[int, list[tuple[int, int]]] = {}
    parts: list[str] = []
    last = 0
    line, line_start = 1, 0
    for match in _STANDALONE.finditer(text):
        start = match.start("placeholder")
        line += text.count("\n", last, start)
        line_start = text.rfind("\n", 0, start) + 1
        on_line = quotes.setdefault(line, [])
        opening = start - line_start + 1 + 2 * len(on_line)  # 1-based, in the quoted text
        on_line.append((opening, opening + len(match["placeholder"]) + 1))
        parts += [text[last:start], json.dumps(match["placeholder"])]
        last = match.end("placeholder")
    if not parts:
        return None
    return Quoted(text, "".join([*parts, text[last:]]), {n: tuple(q) for n, q in quotes.items()})


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
