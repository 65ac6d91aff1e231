"""X-Ray sampling and segment names as App Mesh's agent set them (spec 10.1).

aws/amazon-ecs-service-connect-agent, agent/envoy_bootstrap/envoy_bootstrap.go (`getXraySamplingRuleManifest`,
`appendXRayTracing`): XRAY_SAMPLING_RATE r (0..1, rounded to two decimals) became the manifest
`{"version": 2, "default": {"fixed_target": 1, "rate": r}, "rules": []}` unless r was 0.05, X-Ray's default;
XRAY_SAMPLING_RULE_MANIFEST named a manifest file (version 1 rejected); XRAY_SEGMENT_NAME defaulted to
`<mesh>/<resource>`. Envoy (source/extensions/tracers/xray/localized_sampling.cc) logs a manifest it cannot
use and falls back to its default rule, so a bad manifest is rejected here, before Envoy can ignore it.
"""

from __future__ import annotations

import json
import math
import string
from typing import Any

DEFAULT_RATE = 0.05  # X-Ray's and Envoy's default rule: 1 request a second, then 5 %
DEFAULT_FIXED_TARGET = 1
DEFAULT_SEGMENT_NAME = "{mesh}/{name}"
_SEGMENT_FIELDS = frozenset({"mesh", "name"})
_RULE_STRINGS = ("host", "http_method", "url_path")


def rounded_rate(rate: float) -> float:
    """App Mesh's agent rounded the rate to two decimals (Go math.Round: halves away from zero)."""
    return math.floor(rate * 100 + 0.5) / 100


def sampling_manifest(rate: float | None, fixed_target: int | None, manifest: str | None) -> str | None:
    """The manifest Envoy gets inline, or None for X-Ray's default rule (1/s, then 5 %)."""
    if manifest is not None:
        return json.dumps(json.loads(manifest), sort_keys=True, separators=(",", ":"))
    r = DEFAULT_RATE if rate is None else rounded_rate(rate)
    target = DEFAULT_FIXED_TARGET if fixed_target is None else fixed_target
    if r == DEFAULT_RATE and target == DEFAULT_FIXED_TARGET:
        return None
    rule = {"fixed_target": target, "rate": r}
    return json.dumps({"default": rule, "rules": [], "version": 2}, sort_keys=True, separators=(",", ":"))


def check_rate(rate: float) -> None:
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ValueError(f"xray_sampling_rate must be a number from 0 to 1, got {rate!r}")


def check_fixed_target(target: int) -> None:
    if isinstance(target, bool) or not isinstance(target, int) or target < 0:
        raise ValueError(f"xray_fixed_target must be a whole number of requests a second (0 or more), "
                         f"got {target!r}")


def check_manifest(text: str) -> None:
    """ValueError unless Envoy's X-Ray tracer would use `text` as written (version 2 only)."""
    try:
        document = json.loads(text)
    except ValueError as err:
        raise ValueError(f"the X-Ray sampling rule manifest is not JSON: {err}") from None
    if not isinstance(document, dict):
        raise ValueError("the X-Ray sampling rule manifest must be a JSON object")
    version = document.get("version")
    if version != 2 or isinstance(version, bool):
        raise ValueError(f"the X-Ray sampling rule manifest must have version 2 (Envoy ignores version {version!r} "
                         "and samples at its default)")
    _check_rule("default", document.get("default"))
    rules = document.get("rules", [])
    if not isinstance(rules, list):
        raise ValueError("`rules` of the X-Ray sampling rule manifest must be a list")
    for index, rule in enumerate(rules):
        _check_rule(f"rules[{index}]", rule)


def _check_rule(where: str, rule: Any) -> None:
    if not isinstance(rule, dict):
        raise ValueError(f"`{where}` of the X-Ray sampling rule manifest must be an object")
    target, rate = rule.get("fixed_target"), rule.get("rate")
    if isinstance(target, bool) or not isinstance(target, (int, float)) or target < 0 or target != int(target):
        raise ValueError(f"`{where}.fixed_target` must be a whole number (0 or more), got {target!r}")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ValueError(f"`{where}.rate` must be a number from 0 to 1, got {rate!r}")
    for key in _RULE_STRINGS:
        if key in rule and not isinstance(rule[key], str):
            raise ValueError(f"`{where}.{key}` must be a string")


def check_segment_name(template: str) -> None:
    """The name may use `{mesh}` and `{name}` (the virtual node or gateway); `{{`/`}}` are literal braces."""
    try:
        fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(template) if name is not None]
    except ValueError as err:
        raise ValueError(f"xray_segment_name {template!r}: {err}") from None
    for name, spec, conv in fields:
        if name not in _SEGMENT_FIELDS or spec or conv:
            raise ValueError(f"xray_segment_name {template!r} may only use {{mesh}} and {{name}}")
    if not template:
        raise ValueError("xray_segment_name must not be empty")


def segment_name(template: str, mesh: str, name: str) -> str:
    return template.format(mesh=mesh, name=name)
