"""Record builders shared by the hub's tests (valid versions with real vhashes)."""

from __future__ import annotations

from typing import Any

from neuralmemory.hub.backends import Incoming
from neuralmemory.protocol import DeviceInfo, Version

DEVICE = DeviceInfo(device_id="dev-a", name="laptop", platform="linux")
OTHER_DEVICE = DeviceInfo(device_id="dev-b", name="desktop", platform="darwin")


def version(
    id: str,
    *,
    parent: str | None = None,
    device: str = "dev-a",
    ms: int = 1_732_460_000_000,
    counter: int = 0,
    body: dict[str, Any] | None = None,
    kind: str = "memory",
    deleted: bool = False,
) -> Version:
    return Version.create(
        kind=kind,
        id=id,
        hlc=f"{ms:013d}-{counter:04x}-{device}",
        device_id=device,
        parent=parent,
        deleted=deleted,
        strength=500_000,
        body=body if body is not None else {"content": f"memory {id}"},
    )


def incoming(*versions: Version) -> list[Incoming]:
    return [Incoming.of(v) for v in versions]
