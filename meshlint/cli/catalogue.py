"""`meshlint rules` and `meshlint explain`: the rule catalogue for people."""

from __future__ import annotations

from typing import Annotated

import typer

from meshlint.cli.options import fail


def rules() -> None:
    """List every rule: code, slug, default severity and summary."""
    from meshlint import catalogue

    for doc in catalogue.load().values():
        print(f"{doc.code}  {doc.slug:<22} {doc.severity.label:<8} {doc.summary}")


def explain(rule: Annotated[str, typer.Argument(help="A rule slug (weights-sum) or code (ML004).")]) -> None:
    """Show a rule's documentation: what it does, why, a bad and a fixed example, how to configure it."""
    from meshlint import catalogue

    doc = catalogue.lookup(rule)
    if doc is None:
        import difflib

        close = difflib.get_close_matches(rule, list(catalogue.load()), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "; see `meshlint rules`"
        raise fail(f"unknown rule {rule!r}{hint}")
    print(f"{doc.code} {doc.slug} ({doc.severity.label} by default, {doc.lifecycle})\n")
    print(f"{doc.summary}\n")
    for heading, body in doc.sections.items():
        print(f"## {heading}\n\n{body}\n")
    print("## Suppressing it\n")
    print(f"Switch it off or change its level in .meshlint.yaml:\n\n    rules:\n      {doc.slug}: off\n")
    print(f"or for one run: meshlint check --ignore {doc.slug}\n")
    print(f"or for one place, with the reason: # meshlint: disable={doc.slug} -- <why this is fine here>\n")
    if doc.references:
        print("## References\n")
        for ref in doc.references:
            print(f"- {ref}")
