"""The differential suite: each case's user code run by the real wandb 0.31 (offline, the oracle), by
``import turbotrack as wandb`` and under ``turbotrack run``, each in a fresh process; what a user observes
must be the same, or be an intended difference the case names (docs/coming-from-wandb.md lists them).

The variants of every selected case are started at once in a bounded pool (``DIFF_JOBS``, default 2), in
the order the tests run, so each test waits only for its own case."""

from __future__ import annotations

from typing import Iterator

import pytest
from differential import harness
from differential.cases import ALL

pytest.importorskip("wandb", reason="the differential suite needs the real wandb (the test extra pins it)")
# The session's pool starts the next cases' processes while a test waits for its own, and reaps them.
pytestmark = pytest.mark.shared_children


@pytest.fixture(scope="session")
def runner(request: pytest.FixtureRequest) -> Iterator[harness.Runner]:
    r = harness.Runner()
    selected = [
        param
        for item in request.session.items
        if isinstance(param := getattr(item, "callspec", None) and item.callspec.params.get("case"), harness.Case)
    ]
    r.submit(selected)
    yield r
    r.close()


@pytest.mark.timeout(harness.CASE_TIMEOUT * 3 + 60)
@pytest.mark.parametrize("case", ALL, ids=[c.name for c in ALL])
def test_case(case: harness.Case, runner: harness.Runner) -> None:
    problems = harness.check(case, runner.outcomes(case))
    if problems:
        pytest.fail(f"{case.name}:\n" + "\n".join(problems), pytrace=False)


def test_cases_are_many_and_distinct() -> None:
    names = [c.name for c in ALL]
    assert len(names) == len(set(names)), "two cases share a name"
    assert len(ALL) >= 80
    for c in ALL:
        harness.rewrite_direct(c.code)  # every case imports wandb as a script does
