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
