"""The declared public API: what users import from `neuralmemory`."""

from __future__ import annotations

import neuralmemory

EXPECTED = [
    "AccessDenied",
    "AuthError",
    "Brain",
    "ConfigError",
    "CryptoError",
    "HubError",
    "HubUnavailable",
    "InsecureHubURL",
    "InvalidInput",
    "NmemError",
    "NotFound",
    "PayloadTooLarge",
    "ProtocolError",
    "RateLimited",
    "StoreError",
    "__version__",
    "open_brain",
]


def test_all_is_exactly_the_public_api_and_sorted() -> None:
    assert neuralmemory.__all__ == EXPECTED
    assert neuralmemory.__all__ == sorted(neuralmemory.__all__)


def test_every_name_in_all_resolves() -> None:
    for name in neuralmemory.__all__:
        assert getattr(neuralmemory, name) is not None


def test_brain_and_open_brain_are_the_core_objects() -> None:
    from neuralmemory.core.brain import Brain
    from neuralmemory.core.brains import open_brain

    assert neuralmemory.Brain is Brain
    assert neuralmemory.open_brain is open_brain
