"""Project detection from the folder a client starts in (hooks/project.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from neuralmemory.hooks.project import Project, detect_project, normalize_remote


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("git@github.com:Ada/Falcon.git", "github.com/ada/falcon"),
        ("https://github.com/ada/falcon", "github.com/ada/falcon"),
        ("https://ada:tok3n@GitHub.com:443/ada/falcon.git/", "github.com/ada/falcon"),
        ("ssh://git@git.example.org:2222/team/falcon.git", "git.example.org/team/falcon"),
        ("/srv/git/Falcon.git", "falcon"),
        ("file:///srv/git/falcon.git", "falcon"),
    ],
)
def test_remote_urls_are_normalized(url: str, key: str) -> None:
    assert normalize_remote(url) == key


def _git(*args: str) -> None:
    subprocess.run(["git", *args], check=True, capture_output=True)


def test_the_remote_names_the_project_from_any_folder_below(tmp_path: Path) -> None:
    _git("init", "-q", str(tmp_path / "checkout"))
    _git("-C", str(tmp_path / "checkout"), "remote", "add", "upstream", "https://x.org/a/b.git")
    _git("-C", str(tmp_path / "checkout"), "remote", "add", "origin", "git@github.com:Ada/Falcon")
    (tmp_path / "checkout" / "src" / "deep").mkdir(parents=True)
    found = detect_project(tmp_path / "checkout" / "src" / "deep")
    assert found == Project("github.com/ada/falcon", "falcon")


def test_a_worktree_reads_the_shared_config(tmp_path: Path) -> None:
    main = tmp_path / "main"
    _git("init", "-q", str(main))
    _git("-C", str(main), "remote", "add", "origin", "https://github.com/ada/heron.git")
    _git("-C", str(main), "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-q",
         "--allow-empty", "-m", "first")  # fmt: skip
    _git("-C", str(main), "worktree", "add", "-q", str(tmp_path / "wt"), "-b", "side")
    assert (tmp_path / "wt" / ".git").is_file()
    assert detect_project(tmp_path / "wt") == Project("github.com/ada/heron", "heron")


def test_without_a_remote_the_top_folder_names_it_and_outside_git_there_is_none(
    tmp_path: Path,
) -> None:
    _git("init", "-q", str(tmp_path / "Kestrel"))
    assert detect_project(tmp_path / "Kestrel") == Project("Kestrel", "kestrel")
    (tmp_path / "plain").mkdir()
    assert detect_project(tmp_path / "plain") is None
