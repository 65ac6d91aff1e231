"""`meshlint check --fix` / `--diff`: apply the safe fixes that findings carry (`Finding.fix`).

A fix names new values for scalars by JSON Pointer. They become text edits of the file as it is on disk,
at the spans the loaded source gives (`SourceFile.value_span`, which every input format implements), so
everything else in the file — comments, quoting, flow or block style, indentation, key order, JSON layout,
template placeholders — stays byte for byte as it was (a ruamel.yaml round-trip would re-indent and re-quote
untouched lines). Findings on CloudFormation and Kubernetes resources point into an API-shaped copy; their
pointers are mapped back to the user's document first, and a value is written as the user wrote it (a
quoted `"80"` stays a quoted string). A value that is not written as a plain scalar (`!Ref Weight`, an
alias, a placeholder filled in by `--substitute-env`) is not edited.

Before anything is written (fix.edit): the edited text must differ from the file only inside the edited
spans, and read back as the same documents with exactly the intended values changed. The write itself
(fix.write) keeps the file's encoding, BOM, line endings, mode, owner and links, and refuses a file that
changed since it was read. A file that fails any of this is left alone, with a note saying why.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from meshlint.diagnostics import Diagnostic, Fix
from meshlint.fix.edit import apply_fixes
from meshlint.fix.write import write_text
from meshlint.load.sources import SourceFile


@dataclass(frozen=True)
class FileFix:
    path: str  # as diagnostics show it
    file: Path  # on disk, as named (a symlink is written through)
    before: str  # the file's text as read (decoded, without a BOM)
    after: str
    fixes: tuple[str, ...]  # what was fixed, one line each

    def diff(self) -> str:
        return "".join(difflib.unified_diff(self.before.splitlines(keepends=True),
                                            self.after.splitlines(keepends=True), f"a/{self.path}",
                                            f"b/{self.path}"))

    def write(self) -> str | None:
        """Write the fixed text (fix.write). None when written; else why not, the file left as it was."""
        return write_text(self.file, self.before, self.after)


def plan(diagnostics: Sequence[Diagnostic], sources: Mapping[str, SourceFile]) -> tuple[list[FileFix], list[str]]:
    """The fixed text of every file some diagnostic carries a fix for, plus notes about files skipped."""
    by_path: dict[str, list[Fix]] = {}
    for d in diagnostics:
        if d.fix is not None and d.fix not in by_path.get(d.path, []):
            by_path.setdefault(d.path, []).append(d.fix)
    changes: list[FileFix] = []
    notes: list[str] = []
    for path, fixes in sorted(by_path.items()):
        source = sources.get(path)
        before = source.file_text if source is not None else None
        if source is None or before is None or source.input.path is None:
            notes.append(f"{path}: not a file on disk; not fixed")
            continue
        if source.quoted is not None:  # read with its placeholders quoted: the template is what to fix
            notes.append(f"{path}: not fixed: its template placeholders had to be quoted to read it")
            continue
        after, problem = apply_fixes(source, fixes)
        if problem is not None:
            notes.append(f"{path}: not fixed: {problem}")
        elif after != before:
            changes.append(FileFix(path, source.input.path, before, after, tuple(f.description for f in fixes)))
    return changes, notes
