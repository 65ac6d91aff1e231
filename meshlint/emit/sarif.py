"""`--format sarif`: one SARIF 2.1.0 log (https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html).

`tool.driver.rules` comes from the rule catalogue (every rule, so a viewer can show the ones not hit too);
each result points at its rule by id (the code, ML004) and index, carries the rule's configured level, the
message (plus the help line), one physical location with a relative URI and a 1-based region, and the
diagnostic's line-independent fingerprint under `partialFingerprints`, so GitHub code scanning keeps
tracking an alert when the resource moves in its file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import quote

from meshlint.diagnostics import Diagnostic, Severity

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/meshlint/meshlint"
FINGERPRINT_KEY = "meshlint/v1"
_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


class RuleMeta(Protocol):
    """What the reporter needs of a catalogue entry (catalogue.RuleDoc has it)."""

    @property
    def code(self) -> str: ...
    @property
    def slug(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def references(self) -> tuple[str, ...]: ...
    @property
    def sections(self) -> dict[str, str]: ...


def render(diagnostics: Sequence[Diagnostic], rules: Sequence[RuleMeta], version: str) -> str:
    index = {rule.slug: i for i, rule in enumerate(rules)}
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "meshlint", "version": version, "semanticVersion": version,
                            "informationUri": INFORMATION_URI, "rules": [_rule(r) for r in rules]}},
        "columnKind": "unicodeCodePoints",
        "results": [_result(d, index) for d in diagnostics],
    }
    log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _rule(rule: RuleMeta) -> dict[str, Any]:
    what = rule.sections.get("What it does", rule.summary)
    why = rule.sections.get("Why is this bad?", "")
    out: dict[str, Any] = {
        "id": rule.code,
        "name": rule.slug,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": what},
        "help": {"text": f"{what}\n\n{why}".strip(), "markdown": _markdown(rule)},
        "defaultConfiguration": {"level": _LEVELS[rule.severity]},
        "properties": {"tags": [rule.category], "slug": rule.slug},
    }
    if rule.references:
        out["helpUri"] = rule.references[0]
    return out


def _markdown(rule: RuleMeta) -> str:
    return "\n\n".join(f"## {heading}\n\n{body}" for heading, body in rule.sections.items())


def _result(d: Diagnostic, index: Mapping[str, int]) -> dict[str, Any]:
    text = d.message + (f"\nhelp: {d.help}" if d.help else "")
    out: dict[str, Any] = {"ruleId": d.code}
    if d.rule in index:
        out["ruleIndex"] = index[d.rule]
    out.update({"level": _LEVELS[d.severity], "message": {"text": text}})
    if not d.path.startswith("<"):  # <stdin>, <meshlint>: no file to point at
        region = {"startLine": max(d.line, 1), "startColumn": max(d.column, 1)}
        out["locations"] = [{"physicalLocation": {"artifactLocation": {"uri": quote(d.path)}, "region": region}}]
    out["partialFingerprints"] = {FINGERPRINT_KEY: d.fingerprint}
    properties: dict[str, Any] = {"rule": d.rule}
    if d.resource is not None:
        properties["resource"] = d.resource.to_json()
    if d.pointer:
        properties["pointer"] = d.pointer
    out["properties"] = properties
    return out
