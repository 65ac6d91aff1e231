"""`meshlint trace` against real Envoy: for generated meshes and requests, the app that answers (with the
path and Host it received), or the 404, must be the one trace predicted.

At least 200 mesh/request pairs per run: 20 examples (in the derandomized `ci` profile) of 12 requests, each
example starting two Envoys. The bench is in tests/e2e/trace_bench.py, the generators in differential.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import Phase, given, settings

import tests.support.profiles  # noqa: F401  (the same derandomized `ci` profile as the property suite)
from tests.e2e.differential import Scenario, scenarios
from tests.e2e.trace_bench import Bench, bench, disagreements

pytestmark = pytest.mark.envoy

MIN_PAIRS = 200
PAIRS: list[int] = []  # requests compared, per example


@pytest.fixture(scope="module")
def fixed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    with bench(tmp_path_factory.mktemp("trace-differential"), 7) as found:
        yield found


# No shrinking: every step starts two Envoys (about a second), and the report names each request that
# disagreed, with the mesh and the trace, which is what a regression test needs.
@settings(max_examples=max(20, settings.default.max_examples // 10),
          phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(scenario=scenarios())
def test_trace_predicts_what_envoy_does(fixed: Bench, scenario: Scenario) -> None:
    wrong = disagreements(fixed, scenario)
    PAIRS.append(len(scenario.requests))
    assert not wrong, (f"trace and Envoy disagree on {len(wrong)} of {len(scenario.requests)} request(s)\n"
                       + "\n".join(wrong) + f"\nmesh:\n{scenario.yaml(fixed.ports)}")


def test_enough_pairs_were_compared() -> None:
    """The issue asks for at least 200 mesh/request pairs per CI run."""
    if not PAIRS:
        pytest.skip("the differential test did not run in this session")
    assert sum(PAIRS) >= MIN_PAIRS, PAIRS
