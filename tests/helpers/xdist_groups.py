"""Tests that share a module-scoped fixture run on one pytest-xdist worker (a pytest plugin,
loaded by tests/conftest.py).

`make test` spreads tests over the cores with `--dist loadgroup`: an ungrouped test goes to any
worker, and every worker that runs one test of a module builds that module's fixtures again (a
hub process, a brain of thousands of notes, every document's console session). Grouping the
tests of a module that use its fixtures (by those fixtures' parameters) builds each once, while
different modules, and different parameters, still run side by side.
"""

from __future__ import annotations

import pytest

SHARED_SCOPES = ("module", "package")


def group_of(item: pytest.Item) -> str | None:
    """The module, with the parameters of its fixtures this test uses; None: it uses none."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    params = getattr(getattr(item, "callspec", None), "params", {})
    shared = sorted(
        name
        for name, defs in info.name2fixturedefs.items()
        if defs and defs[-1].scope in SHARED_SCOPES
    )
    if not shared:
        return None
    return item.path.name + "".join(f"[{name}={params[name]}]" for name in shared if name in params)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        group = group_of(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
