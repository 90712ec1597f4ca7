"""Where everything lives, and config.toml. The only module that reads the environment.

$NMEM_HOME/                (default ~/.neuralmemory)
  config.toml              hub_url, api_key, conflict_strategy, auto_sync, device, current brain
  device_id                this installation's stable device id, made once
  brains/{name}.db         one SQLite file per brain
  keys/{brain_id}.key      the brain's Fernet key (mode 0600, never uploaded)
  hub/hub.db               the local hub's store when `nmem serve` runs with its default
"""

from __future__ import annotations

import ipaddress
import os
import platform
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomlkit
from tomlkit.exceptions import ParseError

from neuralmemory.errors import ConfigError
from neuralmemory.protocol import mask_key

ENV_HOME = "NMEM_HOME"
CONFIG_FILE = "config.toml"
STRATEGIES = ("prefer_recent", "prefer_local", "prefer_remote", "prefer_stronger")


# Set by using_home(); a ContextVar, so one thread's home never leaks into another's calls.
_home_override: ContextVar[Path | None] = ContextVar("nmem_home", default=None)


def home() -> Path:
    """The folder of everything: using_home()'s, else $NMEM_HOME, else ~/.neuralmemory."""
    override = _home_override.get()
    if override is not None:
        return override
    raw = os.environ.get(ENV_HOME)
    return Path(raw).expanduser() if raw else Path.home() / ".neuralmemory"


@contextmanager
def using_home(path: Path) -> Iterator[Path]:
    """Point the library calls made inside at `path` instead of $NMEM_HOME, without touching the
    environment: for a program that holds several homes (tests: one per device). It applies to
    this thread only; a thread started inside does not inherit it."""
    token = _home_override.set(path)
    try:
        yield path
    finally:
        _home_override.reset(token)


def env_flag(name: str) -> str | None:
    """Read one NMEM_* variable; kept here so no other module touches os.environ."""
    return os.environ.get(name)


@dataclass
class Config:
    """The settings in config.toml. Unknown keys are kept as they are when the file is saved."""

    hub_url: str | None = None
    api_key: str | None = None
    conflict_strategy: str = "prefer_recent"
    auto_sync: bool = True
    brain: str = "default"
    device_name: str = field(default_factory=platform.node)

    @property
    def sync_enabled(self) -> bool:
        """On once hub_url and api_key are both set; a local hub needs no key."""
        if not self.hub_url:
            return False
        return bool(self.api_key) or is_local_url(self.hub_url)

    @property
    def masked_key(self) -> str | None:
        return mask_key(self.api_key)


def is_local_url(url: str) -> bool:
    """True for a hub on loopback or a private LAN address, where plain http is allowed."""
    host = (urlsplit(url).hostname or "").strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host.endswith(".local")  # mDNS names only resolve on the LAN
    return address.is_loopback or address.is_private or address.is_link_local


def config_path(base: Path | None = None) -> Path:
    return (base or home()) / CONFIG_FILE


def _read_document(path: Path) -> tomlkit.TOMLDocument:
    if not path.exists():
        return tomlkit.document()
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except ParseError as exc:
        raise ConfigError(
            f"{path} is not valid TOML at line {exc.line}, column {exc.col}",
            hint="fix or remove the file; it was not changed",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None


def load_config(base: Path | None = None) -> Config:
    path = config_path(base)
    doc = _read_document(path)
    values: dict[str, Any] = doc.unwrap()
    cfg = Config()
    for key, expected in (
        ("hub_url", str),
        ("api_key", str),
        ("conflict_strategy", str),
        ("auto_sync", bool),
        ("brain", str),
        ("device_name", str),
    ):
        if key in values:
            value = values[key]
            if not isinstance(value, expected):
                raise ConfigError(
                    f"{path}: '{key}' must be a {expected.__name__}",
                    hint="fix or remove the file; it was not changed",
                )
            setattr(cfg, key, value)
    if cfg.conflict_strategy not in STRATEGIES:
        raise ConfigError(
            f"{path}: unknown conflict_strategy '{cfg.conflict_strategy}'",
            hint="one of " + ", ".join(STRATEGIES),
        )
    return cfg


def save_config(cfg: Config, base: Path | None = None) -> Path:
    """Write config.toml atomically, keeping the user's comments and unknown keys."""
    path = config_path(base)
    doc = _read_document(path)  # refuses to overwrite a corrupt file
    for key in ("hub_url", "api_key", "conflict_strategy", "auto_sync", "brain", "device_name"):
        value = getattr(cfg, key)
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    atomic_write(path, tomlkit.dumps(doc).encode("utf-8"), mode=0o600)
    return path


def atomic_write(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write a whole file or nothing: a crash or a full disk never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):  # a full disk, a size limit, a read-only folder
            raise ConfigError(
                f"cannot write {path}: {exc.strerror or exc}",
                hint="it was not changed; free some space (or fix the folder) and try again",
            ) from None
        raise


def device_id(base: Path | None = None) -> str:
    """This installation's stable id, made once per NMEM_HOME."""
    path = (base or home()) / "device_id"
    if path.exists():
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
    value = "dev-" + secrets.token_hex(8)
    atomic_write(path, (value + "\n").encode("utf-8"))
    return value
