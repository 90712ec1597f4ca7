"""The tests using a module's own fixtures run on one xdist worker (helpers/xdist_groups.py)."""

from __future__ import annotations

import pytest

from helpers.xdist_groups import group_of


def test_tests_sharing_a_module_fixture_share_a_group_per_parameter(
    pytester: pytest.Pytester,
) -> None:
    items = pytester.getitems(
        """
import pytest

@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def hub(request):
    return request.param

@pytest.fixture(scope="module")
def brain():
    return "built once"

@pytest.fixture
def device():
    return "one per test"

def test_push(hub):
    pass

def test_pull(hub, brain, device):
    pass

def test_recall(brain):
    pass

def test_alone(device):
    pass
"""
    )
    module = items[0].path.name
    assert {item.name: group_of(item) for item in items} == {
        "test_push[sqlite]": f"{module}[hub=sqlite]",
        "test_push[postgres]": f"{module}[hub=postgres]",
        "test_pull[sqlite]": f"{module}[hub=sqlite]",
        "test_pull[postgres]": f"{module}[hub=postgres]",
        "test_recall": module,
        "test_alone": None,
    }


def test_xdist_runs_a_group_on_one_worker(pytester: pytest.Pytester) -> None:
    """The groups reach pytest-xdist's scheduler (a pytest release once broke that silently)."""
    pytester.makeconftest('pytest_plugins = ["helpers.xdist_groups"]')
    pytester.makepyfile(
        """
import pytest

@pytest.fixture(scope="module")
def hub():
    return "started once"

def test_push(hub):
    pass

def test_pull(hub):
    pass

def test_recall(hub):
    pass

def test_alone():
    pass
"""
    )
    ran = pytester.runpytest_subprocess("-n", "2", "--dist", "loadgroup", "-v", "-p", "xdist")
    ran.assert_outcomes(passed=4)
    workers = {
        line.split("::")[1].split("@")[0].split()[0]: line.split("]")[0].lstrip("[")
        for line in ran.outlines
        if "PASSED" in line and "::" in line
    }
    assert workers["test_push"] == workers["test_pull"] == workers["test_recall"], workers
