"""config.toml is read again whenever its bytes change, however quickly: a long-lived process
(the MCP server, the UI) keeps no stale setting, and the settings it is handed are its own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from neuralmemory.config import Config, config_path, load_config, save_config
from neuralmemory.errors import ConfigError


def test_a_change_of_the_same_size_and_time_is_seen(tmp_path: Path) -> None:
    save_config(Config(conflict_strategy="prefer_recent"), tmp_path)
    assert load_config(tmp_path).conflict_strategy == "prefer_recent"
    path = config_path(tmp_path)
    before = path.stat()
    path.write_text(path.read_text().replace("prefer_recent", "prefer_remote"), encoding="utf-8")
    # The same inode, size and modification time (two writes within one clock tick): only the
    # bytes tell the change.
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_ino, path.stat().st_size) == (before.st_ino, before.st_size)
    assert load_config(tmp_path).conflict_strategy == "prefer_remote"


def test_a_broken_file_is_refused_after_a_good_read(tmp_path: Path) -> None:
    save_config(Config(), tmp_path)
    load_config(tmp_path)
    config_path(tmp_path).write_text("auto_sync = maybe\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="TOML"):
        load_config(tmp_path)


def test_each_caller_gets_settings_of_its_own(tmp_path: Path) -> None:
    save_config(Config(hub_url="http://127.0.0.1:8000"), tmp_path)
    first = load_config(tmp_path)
    first.hub_url = "http://elsewhere.example"
    assert load_config(tmp_path).hub_url == "http://127.0.0.1:8000"


def test_a_file_made_readable_by_others_again_is_made_private_again(tmp_path: Path) -> None:
    save_config(Config(api_key="nmk_" + "a" * 40), tmp_path)
    load_config(tmp_path)
    path = config_path(tmp_path)
    path.chmod(0o644)
    load_config(tmp_path)
    assert path.stat().st_mode & 0o777 == 0o600
