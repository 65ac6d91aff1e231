"""The rule catalogue: `rules/MLnnn-<slug>.md`, one file per rule.

Front matter (YAML between `---` lines) carries identity and defaults; the body carries the documentation
under fixed headings. `meshlint rules`, `meshlint explain`, SARIF rule metadata and the severity defaults
all come from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from meshlint.diagnostics import Severity
from meshlint.resources import data_dir

HEADINGS = ("What it does", "Why is this bad?", "Example", "Use instead", "Options")
_FRONT = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.S)
_SECTION = re.compile(r"^## (.+)$", re.M)
_FENCE = re.compile(r"```(ya?ml|hcl)\n(.*?)```", re.S)
SUFFIX = {"yaml": ".yaml", "yml": ".yaml", "hcl": ".tf"}

INTERNAL_ERROR = "internal-error"
INTERNAL_CODE = "ML000"


@dataclass(frozen=True)
class RuleDoc:
    code: str
    slug: str
    summary: str
    category: str
    severity: Severity
    lifecycle: str
    references: tuple[str, ...]
    sections: dict[str, str]
    path: Path
    replaced_by: str | None = None  # a removed rule: the slug that reports it now

    def examples(self, heading: str) -> list[str]:
        """The YAML (or Terraform) blocks under a heading (Example / Use instead)."""
        return [block for _, block in _FENCE.findall(self.sections.get(heading, ""))]

    def example_files(self, heading: str) -> list[tuple[str, str]]:
        """(file suffix, text) of each block under a heading: `.yaml`, or `.tf` for an ```hcl block."""
        return [(SUFFIX[lang], block) for lang, block in _FENCE.findall(self.sections.get(heading, ""))]


class CatalogueError(Exception):
    pass


def parse_entry(path: Path) -> RuleDoc:
    text = path.read_text(encoding="utf-8")
    match = _FRONT.match(text)
    if match is None:
        raise CatalogueError(f"{path.name}: no front matter")
    front = yaml.load(match.group(1), Loader=yaml.CSafeLoader)
    body = match.group(2)
    parts = _SECTION.split(body)
    sections = {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    return RuleDoc(
        code=str(front["code"]),
        slug=str(front["slug"]),
        summary=str(front["summary"]),
        category=str(front["category"]),
        severity=Severity.parse(str(front["severity"])),
        lifecycle=str(front["lifecycle"]),
        references=tuple(front.get("references") or ()),
        sections=sections,
        path=path,
        replaced_by=front.get("replaced-by"),
    )


@cache
def _entries() -> tuple[RuleDoc, ...]:
    return tuple(sorted((parse_entry(p) for p in data_dir("rules").glob("ML*.md")), key=lambda e: e.code))


@cache
def load() -> dict[str, RuleDoc]:
    """Every rule in force by slug, in code order (removed rules are left out: see `retired`)."""
    return {e.slug: e for e in _entries() if e.lifecycle != "removed"}


@cache
def retired() -> dict[str, str]:
    """Removed rules, by slug and by code -> the slug of the rule that reports their findings now. A config,
    a flag or a suppression naming a removed rule means its successor."""
    out: dict[str, str] = {}
    for entry in _entries():
        if entry.lifecycle == "removed" and entry.replaced_by:
            out[entry.slug] = out[entry.code] = entry.replaced_by
    return out


def canonical(name: str) -> str:
    """The slug in force for a rule name as a user wrote it: a removed rule's successor, else `name`."""
    return retired().get(name, name)


def lookup(name: str) -> RuleDoc | None:
    """A rule by slug or code (ML004); a removed rule's name finds its successor."""
    rules = load()
    slug = canonical(name)
    if slug in rules:
        return rules[slug]
    code = canonical(name.upper())
    if code in rules:  # a removed rule's code
        return rules[code]
    return next((r for r in rules.values() if r.code == code), None)
