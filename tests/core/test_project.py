"""Projects: detected from the folder a client starts in, carried by memories, ranking recall."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from neuralmemory.core.brain import Brain
from neuralmemory.core.brains import open_brain
from neuralmemory.core.project import Project, detect_project, normalize_remote
from neuralmemory.errors import InvalidInput
from neuralmemory.protocol import Version


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


# ------------------------------------------------------------------ a memory's project


FALCON = "github.com/ada/falcon"
HERON = "github.com/ada/heron"


@pytest.fixture
def brain(home: Path) -> Iterator[Brain]:
    with open_brain() as opened:
        yield opened


def test_remember_keeps_the_project_in_the_synced_body(brain: Brain) -> None:
    memory = brain.remember("Falcon streams through Kafka", project=f"  {FALCON} ").memory
    assert memory.project == FALCON and memory.to_json()["project"] == FALCON
    current = brain.changes.current("memory", memory.id)
    assert current is not None and current.version.body["project"] == FALCON
    plain = brain.remember("The office cat is called Tom").memory
    assert plain.project is None
    no_key = brain.changes.current("memory", plain.id)
    assert no_key is not None and "project" not in no_key.version.body  # as before projects


@pytest.mark.parametrize("bad", ["", "   ", "*", "a\nb", "x" * 201, 7])
def test_a_bad_project_is_refused(brain: Brain, bad: object) -> None:
    with pytest.raises(InvalidInput, match="a project must be"):
        brain.remember("Anything", project=bad)  # type: ignore[arg-type]
    assert brain.stats().memories == 0


def test_recall_ranks_the_project_first_then_no_project_and_star_is_everything(
    brain: Brain,
) -> None:
    heron = brain.remember("Billing runs on Caddy for heron", project=HERON).memory.id
    general = brain.remember("Billing reports are due on the first Monday").memory.id
    falcon = brain.remember("Falcon billing uses PostgreSQL", project=FALCON).memory.id

    def ids(**kwargs: Any) -> list[str]:
        return [hit.memory.id for hit in brain.recall("billing", reinforce=False, **kwargs)]

    assert ids(project=FALCON) == [falcon, general]
    assert ids(project=HERON) == [heron, general]
    assert set(ids(project="*")) == set(ids()) == {heron, general, falcon}
    assert [m.id for m in brain.recent(10, project=FALCON)] == [falcon, general]
    assert brain.stats().projects == {"": 1, FALCON: 1, HERON: 1}


def test_a_project_from_another_device_is_materialized(brain: Brain) -> None:
    mine = brain.changes.current("memory", brain.remember("Seed", project=FALCON).memory.id)
    assert mine is not None
    body = {**mine.version.body, "content": "Heron deploys on Tuesdays", "project": HERON}
    remote = Version.create(
        kind="memory", id="m-remote", hlc="1700000000000-0000-dev-other", device_id="dev-other",
        body=body,
    )  # fmt: skip
    brain.apply_remote(remote)
    assert brain.get("m-remote").project == HERON
    bad = Version.create(
        kind="memory", id="m-bad", hlc="1700000000001-0000-dev-other", device_id="dev-other",
        body={**body, "project": 42},
    )  # fmt: skip
    brain.apply_remote(bad)
    assert "project" in str(brain.db.execute("SELECT reason FROM quarantine").fetchone()[0])
