"""A brain whose graph an older extraction derived (core/extract.py VERSION) re-derives it once
when first opened: its text answers at once, its graph comes back through the backlog, and the
result is the graph a from-scratch rebuild gives."""

from __future__ import annotations

from pathlib import Path

from helpers.graph_snapshot import graph, pulled
from neuralmemory.core import extract
from neuralmemory.core.brains import open_brain
from neuralmemory.store import meta

SIZE = 60


def _age(older: str | None) -> None:
    """Make the current brain look derived by an older extraction: a stale graph and marker."""
    with open_brain() as brain, brain.db.transaction():
        brain.db.execute("UPDATE neurons SET key = key || '_old'")
        meta.put(brain.db, meta.EXTRACTION, older)


def _reference() -> dict[str, object]:
    with open_brain() as brain:
        brain.rebuild_index()
        return graph(brain)


def test_a_new_brain_is_marked_with_the_current_extraction(home: Path) -> None:
    with open_brain() as brain:
        assert meta.get(brain.db, meta.EXTRACTION) == str(extract.VERSION)
        assert brain.stats().graph_waiting == 0


def test_an_older_graph_is_derived_again_once_text_first(home: Path, tmp_path: Path) -> None:
    with open_brain() as brain:
        brain.apply_remote(*pulled(tmp_path / "source", SIZE))
    reference = _reference()
    for older in (None, "1"):  # a brain from before the marker, and one of an older version
        _age(older)
        with open_brain() as brain:
            stats = brain.stats()
            assert stats.graph_waiting == SIZE
            assert stats.synapses == 0
            assert graph(brain)["text"] == reference["text"]  # recall by text works at once
            assert brain.recall("Falcon billing service", reinforce=False)
            assert not any(
                key.endswith("_old") for (key,) in brain.db.execute("SELECT key FROM neurons")
            )
            while brain.build_graph(limit=16):
                pass
            assert graph(brain) == reference
        with open_brain() as brain:  # once: the next open finds it current and does nothing
            assert brain.stats().graph_waiting == 0
            assert graph(brain) == reference
