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
    )


@cache
def load() -> dict[str, RuleDoc]:
    """Every rule by slug, in code order."""
    entries = [parse_entry(p) for p in sorted(data_dir("rules").glob("ML*.md"))]
    return {e.slug: e for e in sorted(entries, key=lambda e: e.code)}


def lookup(name: str) -> RuleDoc | None:
    """A rule by slug or code (ML004)."""
    rules = load()
    if name in rules:
        return rules[name]
    return next((r for r in rules.values() if r.code.upper() == name.upper()), None)
