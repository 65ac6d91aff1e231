"""Every rule, by slug. Importing the modules registers their rules.

Rules named in LOADER_RULES are reported while reading input (load/ and normalize/), and BUILD_RULES by
the compiler during `meshlint build`; they have catalogue entries but no function here.
"""

from meshlint.analyze.context import RuleFn, registered
from meshlint.analyze.rules import references, routing, tls, topology  # noqa: F401  (registers)

LOADER_RULES = frozenset({"parse-error", "schema", "ignored-input"})
BUILD_RULES = frozenset({"not-compilable"})
RULES: dict[str, RuleFn] = registered()
