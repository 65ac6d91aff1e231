"""Every rule, by slug. Importing the modules registers their rules.

Rules named in LOADER_RULES are reported while reading input (load/ and normalize/), and BUILD_RULES by
the compiler during `meshlint build`; they have catalogue entries but no function here.
"""

from meshlint.analyze.context import RuleFn, registered
from meshlint.analyze.rules import (  # noqa: F401  (registers)
    handshake,
    hostnames,
    identity,
    mtls,
    readiness,
    references,
    refused,
    refused_gateway,
    resilience,
    routing,
    tls,
    topology,
    traffic,
)

LOADER_RULES = frozenset({"parse-error", "schema", "ignored-input", "template-placeholder", "unresolved-value",
                          "nothing-checked", "terraform-zero-priority", "terraform-union-overwritten",
                          "terraform-id-as-name", "membership-refused", "read-only-field", "duplicate-backend-ref",
                          "ip-preference-overridden"})
BUILD_RULES = frozenset({"not-compilable"})
# reported by the engine about `# meshlint: disable=...` suppressions (analyze/suppressions.py)
SUPPRESSION_RULES = frozenset({"unused-suppression", "suppression-without-reason"})
RULES: dict[str, RuleFn] = registered()
