"""Text first, graph after (core/indexing.py): a large pull is recallable by text at once, its
concept graph is built from the backlog afterwards, and the result is the inline path's."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from helpers.graph_snapshot import graph, pulled
from neuralmemory import config
from neuralmemory.cli.main import cli
from neuralmemory.core import indexing
from neuralmemory.core.brain import Brain
from neuralmemory.core.brains import open_brain
from neuralmemory.protocol import Version
from neuralmemory.sync.indexer import INDEXING
from neuralmemory.sync.lock import held, lock_path

SIZE = 300  # above indexing.TEXT_FIRST_AT: pulled in one page, it is stored text first
QUERIES = ["Dana billing service", "what caused the outage", "Falcon port", "rollback plan today"]


NOW_MS = 1_790_000_000_000  # recall's strengths decay with time: one fixed clock for every brain


def _recall(brain: Brain) -> list[list[tuple[str, float, str]]]:
    fixed = Brain(brain.name, brain.db, device_id=brain.device_id, now=lambda: NOW_MS)
    return [
        [(h.memory.id, round(h.score, 9), h.via) for h in fixed.recall(q, reinforce=False)]
        for q in QUERIES
    ]


def _apply(brain: Brain, versions: list[Version], page: int) -> None:
    for start in range(0, len(versions), page):
        brain.apply_remote(*versions[start : start + page])


def _inline(tmp_path: Path, versions: list[Version]) -> dict[str, object]:
    """The plain reference: pages too small to be stored text first."""
    assert not indexing.text_first(50)
    with config.using_home(tmp_path / "inline"), open_brain() as brain:
        _apply(brain, versions, 50)
        assert brain.stats().graph_waiting == 0
        return {"graph": graph(brain), "recall": _recall(brain)}


def test_text_first_then_the_backlog_builds_the_inline_graph(home: Path, tmp_path: Path) -> None:
    versions = pulled(tmp_path / "source", SIZE)
    reference = _inline(tmp_path, versions)
    with open_brain() as brain:
        brain.apply_remote(*versions)
        assert brain.stats().graph_waiting == SIZE
        assert brain.stats().synapses == 0  # the graph is not built yet; the text is
        assert graph(brain)["text"] == reference["graph"]["text"]  # type: ignore[index]
        while brain.build_graph(limit=64):
            pass
        assert brain.stats().graph_waiting == 0
        assert graph(brain) == reference["graph"]
        recalled = _recall(brain)
    assert recalled == reference["recall"]


def test_recall_during_indexing_is_correct_at_every_step(home: Path, tmp_path: Path) -> None:
    """Never an error, never a memory that does not exist; text matches from the first moment,
    and once the graph is complete, exactly what the inline path returns."""
    versions = pulled(tmp_path / "source", SIZE)
    reference = _inline(tmp_path, versions)
    exists = {v.id for v in versions}
    with open_brain() as brain:
        brain.apply_remote(*versions)
        steps = 0
        while True:
            for query in QUERIES:
                hits = brain.recall(query, reinforce=False)
                assert hits, query  # every query shares words with some memory
                assert {hit.memory.id for hit in hits} <= exists
                assert all(hit.memory.content for hit in hits)
            steps += 1
            if not brain.build_graph(limit=37):
                break
        assert steps == -(-SIZE // 37) + 1
        final = _recall(brain)
    assert final == reference["recall"]


def test_changes_to_memories_waiting_for_their_graph(home: Path, tmp_path: Path) -> None:
    """An edit pulled for a memory in the backlog, inline or text first, and a delete: the graph
    ends as the inline path builds it for the same final versions, nothing counted twice."""
    versions = pulled(tmp_path / "source", SIZE)
    with config.using_home(tmp_path / "source"), open_brain() as source:
        with source.db.transaction():
            source.edit("m-test0000003", content="Kenji Nakamura now owns the Lynx search API.")
            source.forget("m-test0000004")
            for n in range(100, 100 + indexing.TEXT_FIRST_AT):
                source.edit(f"m-test{n:07d}", tags=["edited"])
        later = [v for v in source.changes.versions(None) if v.id != "m-test0000004" or v.deleted]
    edits = [v for v in later if v.kind == "memory" and v.vhash not in {x.vhash for x in versions}]
    with open_brain() as brain:
        brain.apply_remote(*versions)
        brain.build_graph(limit=150)  # half built: the edits land on both halves
        small = [v for v in edits if v.id in ("m-test0000003", "m-test0000004")]
        brain.apply_remote(*small)  # a small page: inline
        brain.apply_remote(*[v for v in edits if v not in small])  # a large one: text first
        while brain.build_graph(limit=64):
            pass
        built = graph(brain)
    final = [v for v in later if v.kind == "memory"]
    with config.using_home(tmp_path / "plain"), open_brain() as plain:
        _apply(plain, final, 50)
        assert graph(plain) == built


def test_rebuilding_the_index_empties_the_backlog(home: Path, tmp_path: Path) -> None:
    versions = pulled(tmp_path / "source", SIZE)
    reference = _inline(tmp_path, versions)
    with open_brain() as brain:
        brain.apply_remote(*versions)
        assert brain.rebuild_index() == SIZE
        assert brain.stats().graph_waiting == 0
        assert graph(brain) == reference["graph"]


def test_stats_show_how_much_graph_is_left_to_build(home: Path, tmp_path: Path) -> None:
    versions = pulled(tmp_path / "source", SIZE)
    with open_brain() as brain:
        brain.apply_remote(*versions)
        brain.build_graph(limit=100)
    runner = CliRunner()
    # Held here, the indexer's lock keeps `nmem stats` from starting one that would build it.
    with held(lock_path("default", INDEXING)):
        shown = runner.invoke(cli, ["stats", "--json"])
        assert shown.exit_code == 0, shown.output
        assert '"graph_waiting": 200' in shown.output
        table = runner.invoke(cli, ["stats"], env={"COLUMNS": "100"})
        assert "graph to build" in table.output and "200" in table.output
        status = runner.invoke(cli, ["sync", "status"])
        assert "concept graph of 200 memories to build" in status.output
    with open_brain() as brain:
        while brain.build_graph():
            pass
    assert "graph to build" not in runner.invoke(cli, ["stats"]).output
