"""Neural Memory: associative memory for AI agents, synced through a hub the user hosts."""

from typing import TYPE_CHECKING, Any

from neuralmemory.errors import (
    AccessDenied,
    AuthError,
    ConfigError,
    CryptoError,
    HubError,
    HubUnavailable,
    InsecureHubURL,
    InvalidInput,
    NmemError,
    NotFound,
    PayloadTooLarge,
    ProtocolError,
    RateLimited,
    StoreError,
)

if TYPE_CHECKING:
    from neuralmemory.core.brain import Brain
    from neuralmemory.core.brains import open_brain

__version__ = "0.1.0"

__all__ = [
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

_LAZY = {"Brain", "open_brain"}


def __getattr__(name: str) -> Any:
    # The memory core (SQLite, pydantic models, cryptography) loads on first use, so importing
    # the package for its version or errors stays cheap.
    if name in _LAZY:
        from neuralmemory.core import brain, brains

        return brain.Brain if name == "Brain" else brains.open_brain
    raise AttributeError(f"module 'neuralmemory' has no attribute {name!r}")
