"""Recall ranks the pinned corpora exactly as tests/golden/recall_rankings.json says (how it is
made: tests/helpers/rankings.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.rankings import FIXTURE, corpora, rankings

CORPORA = corpora()


@pytest.mark.parametrize("name", list(CORPORA))
def test_recall_reproduces_the_pinned_rankings(name: str, home: Path) -> None:
    expected = json.loads(FIXTURE.read_text(encoding="utf-8"))[name]
    got = rankings(CORPORA[name]())
    moved = [
        f"{phase} question {n}: top {want['top'][:4]}... became {have['top'][:4]}..."
        for phase, pins in expected.items()
        for n, (want, have) in enumerate(zip(pins, got[phase], strict=True))
        if want != have
    ]
    assert not moved, f"{len(moved)} rankings moved:\n" + "\n".join(moved[:20])
