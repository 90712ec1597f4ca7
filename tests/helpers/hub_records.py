"""Record builders for the hub's in-process tests (the versions are the conformance suite's)."""

from __future__ import annotations

from helpers.hub_api import version
from neuralmemory.hub.backends import Incoming
from neuralmemory.protocol import DeviceInfo, Version

__all__ = ["DEVICE", "OTHER_DEVICE", "incoming", "version"]

DEVICE = DeviceInfo(device_id="dev-a", name="laptop", platform="linux")
OTHER_DEVICE = DeviceInfo(device_id="dev-b", name="desktop", platform="darwin")


def incoming(*versions: Version) -> list[Incoming]:
    return [Incoming.of(v) for v in versions]
