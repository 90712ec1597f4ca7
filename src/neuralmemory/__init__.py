"""Neural Memory: associative memory for AI agents, synced through a hub the user hosts."""

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

__version__ = "0.1.0"

__all__ = [
    "AccessDenied",
    "AuthError",
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
]
