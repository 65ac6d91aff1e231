"""Hypothesis profiles, for every module that draws examples (the property suite, the differential test).

`ci` (the default): a few hundred examples over the whole suite, derandomized and without an example
database, so a run cannot flake and needs no state; `print_blob` prints a reproduction blob on failure.
`fuzz` (`HYPOTHESIS_PROFILE=fuzz`): many more examples, random seeds, the local example database.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=None,  # wall-clock deadlines flake on a loaded CI box; hangs are caught per call (see test_robustness)
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "fuzz",
    max_examples=2000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
