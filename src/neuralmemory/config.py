"""Where everything lives, and config.toml. The only module that reads the environment.

$NMEM_HOME/                (default ~/.neuralmemory)
  config.toml              hub_url, api_key, ca_cert, hub_auth (what the hub said it needs),
                           conflict_strategy, auto_sync, device, current brain
  device_id                this installation's stable device id, made once
  brains/{name}.db         one SQLite file per brain
  keys/{brain_id}.key      the brain's Fernet key (mode 0600, never uploaded)
  hub/hub.db               the local hub's store when `nmem serve` runs with its default
"""

from __future__ import annotations

import logging
import os
import platform
import re
import secrets
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from neuralmemory.errors import (
    HINT_CONFIG_UNWRITTEN,
    HINT_CONFIG_WRONG_TYPE,
    HINT_FILE_UNCHANGED,
    HINT_LINE_UNCHANGED,
    HINT_ONE_OF,
    HINT_UNKNOWN_HUB_AUTH,
    MSG_CANNOT_READ,
    MSG_CANNOT_WRITE,
    MSG_CONFIG_NOT_TOML,
    MSG_CONFIG_UNKNOWN_STRATEGY,
    MSG_CONFIG_WRONG_TYPE,
    MSG_NOT_A_TABLE,
    MSG_UNKNOWN_HUB_AUTH,
    ConfigError,
)
from neuralmemory.networks import is_lan_ip
from neuralmemory.perms import PRIVATE_DIR, PRIVATE_FILE, private_dir, restrict

if TYPE_CHECKING:
    import tomlkit

log = logging.getLogger(__name__)

ENV_HOME = "NMEM_HOME"
CONFIG_FILE = "config.toml"
#: The conflict strategies, the one list of their names (sync/resolve.py maps each to its rule;
#: the CLI's and the MCP tools' choices are this tuple); the first is the default.
STRATEGIES = ("prefer_recent", "prefer_local", "prefer_remote", "prefer_stronger")
DEFAULT_STRATEGY = STRATEGIES[0]
HUB_AUTH_MODES = ("keys", "local", "none")  # /v1/hub/info `auth`


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
    #: a PEM file of extra CAs to trust for an https hub (a self-signed one)
    ca_cert: str | None = None
    #: the hub's /v1/hub/info `auth`, as it answered when last asked; None: not known
    hub_auth: str | None = None
    conflict_strategy: str = DEFAULT_STRATEGY
    auto_sync: bool = True
    brain: str = "default"
    device_name: str = field(default_factory=platform.node)

    @property
    def sync_enabled(self) -> bool:
        """On once hub_url and api_key are both set; a hub that said it needs no key (or, not
        asked yet, one on a loopback or LAN address) needs none."""
        if not self.hub_url:
            return False
        if self.api_key:
            return True
        if self.hub_auth is not None:
            return self.hub_auth != "keys"
        return is_local_url(self.hub_url)

    @property
    def masked_key(self) -> str | None:
        from neuralmemory.protocol import mask_key

        return mask_key(self.api_key)


def is_local_url(url: str) -> bool:
    """True when the URL itself names loopback or a LAN (an IP address, or localhost).

    Only the text: a host name is judged by what it resolves to (sync.transport), which this
    guess for "does it need a key" never looks up.
    """
    host = (urlsplit(url).hostname or "").lower()
    return host == "localhost" or host.endswith(".localhost") or is_lan_ip(host)


# ---------------------------------------------------------------- secrets in messages

# A key, or what is left of one where a message shortened it in the middle (pydantic's
# "input_value='nmk_Pa5ted...WrongField'"): the part after the dots is the key's too. A key
# already shown masked (nmk_a1b2c3d4****) is left as it is, so masking twice changes nothing.
# "nmk_" alone or "nmk_..." (how messages write a placeholder) is not a key.
_KEY_IN_TEXT = re.compile(r"nmk_[A-Za-z0-9]+(?:\.\.\.[A-Za-z0-9]*)?(\*{4})?")


def redact_keys(text: str) -> str:
    """Mask anything that looks like an API key, anywhere in a message or log line.

    Applied where errors are formatted for people (CLI, MCP, logs), so a key pasted into the
    wrong field is never echoed whole, whatever message quotes it.
    """

    # Imported here: the protocol's models cost a hook's start-up that never masks anything.
    from neuralmemory.protocol import KEY_DISPLAY_CHARS, KEY_RE, mask_key

    def masked(match: re.Match[str]) -> str:
        key = match.group()
        if match.group(1) and len(key) == KEY_DISPLAY_CHARS + 4:
            return key
        key = key.removesuffix("****")
        return str(mask_key(key)) if KEY_RE.match(key) else "nmk_****"

    return _KEY_IN_TEXT.sub(masked, text)


class RedactKeys(logging.Filter):
    """A logging filter: every record's message with its keys masked (redact_keys)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_keys(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def tls_env() -> tuple[str | None, str | None]:
    """SSL_CERT_FILE and SSL_CERT_DIR: the standard variables for extra trusted CAs."""
    return os.environ.get("SSL_CERT_FILE") or None, os.environ.get("SSL_CERT_DIR") or None


#: config.toml's keys this module reads and writes, with their TOML types
FIELDS: tuple[tuple[str, type], ...] = (
    ("hub_url", str),
    ("api_key", str),
    ("ca_cert", str),
    ("hub_auth", str),
    ("conflict_strategy", str),
    ("auto_sync", bool),
    ("brain", str),
    ("device_name", str),
)


def config_path(base: Path | None = None) -> Path:
    return (base or home()) / CONFIG_FILE


_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def _read_values(path: Path) -> dict[str, Any]:
    """config.toml's values. Read with the standard library's parser: tomlkit, which keeps the
    user's comments when the file is written, costs every command (and every hook) twice as
    much to import."""
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        where = _POSITION.search(str(exc))
        at = f" at line {where[1]}, column {where[2]}" if where else ""
        raise ConfigError(
            MSG_CONFIG_NOT_TOML.format(path=path, at=at), hint=HINT_FILE_UNCHANGED
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(MSG_CANNOT_READ.format(path=path, reason=exc)) from None


def _read_document(path: Path) -> tomlkit.TOMLDocument:
    """config.toml as tomlkit reads it, to change it with its comments kept; a file that is
    not valid TOML is refused first (_read_values)."""
    import tomlkit

    _read_values(path)
    return tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()


#: The file last read, its bytes and mode, with its settings: a long-lived process (the MCP
#: server, the UI) reads config.toml after every write, and the same bytes are not parsed again
#: (bytes, not times: two writes within one clock tick must not look alike). Callers get copies.
_last_read: tuple[tuple[Path, bytes, int], Config] | None = None


def _contents(path: Path) -> tuple[Path, bytes, int] | None:
    try:
        return (path, path.read_bytes(), path.stat().st_mode)
    except OSError:
        return None  # no file (the defaults) or unreadable: read the slow way, which says why


def load_config(base: Path | None = None) -> Config:
    """config.toml's settings. It is made private to its owner (it may hold an API key) once it
    reads as ours; a file that does not (another program's) keeps its mode, unless it holds
    something shaped like a key."""
    global _last_read
    path = config_path(base)
    seen = _last_read
    if seen is not None and seen[0] == _contents(path):
        return replace(seen[1])
    try:
        cfg = _parse_config(path)
    except ConfigError:
        if path.exists() and "nmk_" in path.read_text(encoding="utf-8", errors="replace"):
            restrict(path, PRIVATE_FILE)
        raise
    if path.exists():
        restrict(path, PRIVATE_FILE)
        read = _contents(path)
        _last_read = (read, replace(cfg)) if read is not None else None
    return cfg


def _parse_config(path: Path) -> Config:
    values = _read_values(path)
    cfg = Config()
    for key, expected in FIELDS:
        if key in values:
            value = values[key]
            if not isinstance(value, expected):
                raise ConfigError(
                    MSG_CONFIG_WRONG_TYPE.format(path=path, key=key, kind=expected.__name__),
                    hint=HINT_CONFIG_WRONG_TYPE,
                )
            setattr(cfg, key, value)
    if cfg.conflict_strategy not in STRATEGIES:
        raise ConfigError(
            MSG_CONFIG_UNKNOWN_STRATEGY.format(path=path, value=cfg.conflict_strategy),
            hint=HINT_ONE_OF.format(names=", ".join(STRATEGIES)),
        )
    if cfg.hub_auth is not None and cfg.hub_auth not in HUB_AUTH_MODES:
        raise ConfigError(
            MSG_UNKNOWN_HUB_AUTH.format(path=path, value=cfg.hub_auth), hint=HINT_UNKNOWN_HUB_AUTH
        )
    return cfg


def load_section(name: str, base: Path | None = None) -> dict[str, Any]:
    """One table of config.toml, e.g. [hooks] ({} when absent): for a layer that checks its own
    settings. load_config and save_config leave the table as it is."""
    path = config_path(base)
    value = _read_values(path).get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(MSG_NOT_A_TABLE.format(path=path, name=name), hint=HINT_LINE_UNCHANGED)
    return value


def save_config(cfg: Config, base: Path | None = None) -> Path:
    """Write config.toml atomically, keeping the user's comments and unknown keys."""
    path = config_path(base)
    private_dir(path.parent)
    doc = _read_document(path)  # refuses to overwrite a corrupt file
    for key, _ in FIELDS:
        value = getattr(cfg, key)
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    atomic_write(path, doc.as_string().encode("utf-8"), mode=0o600)
    return path


def atomic_write(path: Path, data: bytes, *, mode: int = PRIVATE_FILE) -> None:
    """Write a whole file or nothing: a crash or a full disk never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
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
                MSG_CANNOT_WRITE.format(path=path, reason=exc.strerror or exc),
                hint=HINT_CONFIG_UNWRITTEN,
            ) from None
        raise


def device_id(base: Path | None = None) -> str:
    """This installation's stable id, made once per NMEM_HOME."""
    path = private_dir(base or home()) / "device_id"
    if path.exists():
        restrict(path, PRIVATE_FILE)
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
    value = "dev-" + secrets.token_hex(8)
    atomic_write(path, (value + "\n").encode("utf-8"))
    return value
