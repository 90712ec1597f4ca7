"""A push names what each memory replaced before the hub held it (`replaces`), to a hub that
advertises it takes them (Limits.max_replaced), and the names leave once the hub holds them. A
hub's cached limits are read again after a day, so a hub upgraded to take them is used."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from helpers.devices import LOCAL_URL, Device, in_process_hub
from neuralmemory.protocol import DEFAULT_LIMITS, PATH_INFO
from neuralmemory.store import replaced
from neuralmemory.sync import state
from neuralmemory.sync.engine import LIMITS_FETCHED, LIMITS_TTL_MS


class Recording(httpx.BaseTransport):
    """Passes requests on, keeping each one's path and JSON body."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.sent: list[tuple[str, dict[str, object]]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        self.sent.append((request.url.path, json.loads(body) if body else {}))
        return self.inner.handle_request(request)

    def pushes(self) -> list[dict[str, object]]:
        return [body for path, body in self.sent if path.endswith("/push")]


@pytest.fixture
def hub(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Recording]:
    """The hub in-process, advertising the limits the test is parametrized with (default:
    this hub's), behind a recording transport."""
    limits = getattr(request, "param", DEFAULT_LIMITS)
    with in_process_hub(tmp_path / "hub.db", limits) as transport:
        yield Recording(transport)


def edited_twice(tmp_path: Path, hub: Recording) -> tuple[Device, str, list[str]]:
    """A device whose memory was pushed, then edited twice before the next push. Returns it,
    the memory's id and the two edits' vhashes."""
    device = Device(tmp_path / "a", LOCAL_URL, hub)
    device.configure(hub_url=LOCAL_URL, auto_sync=False)
    edits = []
    with device.brain() as brain:
        mid = brain.remember("The release train leaves on Tuesday").memory.id
    device.sync()
    with device.brain() as brain:
        for day in ("Wednesday", "Thursday"):
            brain.edit(mid, content=f"The release train leaves on {day}")
            current = brain.changes.current("memory", mid, opened=False)
            assert current is not None
            edits.append(current.version.vhash)
    hub.sent.clear()
    return device, mid, edits


def test_a_push_names_what_it_replaced_and_forgets_the_names_once_held(
    tmp_path: Path, hub: Recording
) -> None:
    device, mid, (first, second) = edited_twice(tmp_path, hub)
    with device.brain() as brain:
        assert replaced.names(brain.db, [mid], 32) == {mid: [first]}
    assert device.sync("push")["pushed"] == 1
    (push,) = hub.pushes()
    assert push["replaces"] == {second: [first]}
    with device.brain() as brain:
        assert replaced.names(brain.db, [mid], 32) == {}


@pytest.mark.parametrize(
    "hub", [DEFAULT_LIMITS.model_copy(update={"max_replaced": 0})], indirect=True, ids=["old"]
)
def test_a_hub_that_does_not_take_names_gets_none(tmp_path: Path, hub: Recording) -> None:
    device, _, _ = edited_twice(tmp_path, hub)
    assert device.sync("push")["pushed"] == 1
    (push,) = hub.pushes()
    assert "replaces" not in push


def test_cached_limits_are_read_again_after_a_day_or_when_they_say_not_when(
    tmp_path: Path, hub: Recording
) -> None:
    device, _, _ = edited_twice(tmp_path, hub)

    def infos_after_sync() -> int:
        hub.sent.clear()
        device.sync("pull")
        return sum(path == PATH_INFO for path, _ in hub.sent)

    def set_cache(cached: dict[str, int]) -> None:
        with device.brain() as brain, brain.db.transaction():
            state.SyncState(brain.db).set(state.LIMITS, cached)

    assert infos_after_sync() == 0  # cached by the first sync
    with device.brain() as brain:
        cached = state.SyncState(brain.db).get(state.LIMITS)
    set_cache(cached | {LIMITS_FETCHED: cached[LIMITS_FETCHED] - LIMITS_TTL_MS - 1})
    assert infos_after_sync() == 1
    assert infos_after_sync() == 0
    set_cache({k: v for k, v in cached.items() if k != LIMITS_FETCHED})  # kept before the field
    assert infos_after_sync() == 1
