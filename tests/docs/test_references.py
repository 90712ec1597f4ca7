"""The design lives in the repo: no file points outside it, and every pointer into docs/ lands.

Source comments say where a rule is written (`docs/architecture.md#conflicts-and-strategies`);
this test keeps those anchors real, and keeps out references to design notes that are not in the
repository (a reader of the code could never open them).
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SKIPPED_DIRS = {".git", ".venv", "node_modules", ".wrangler", ".mypy_cache", ".ruff_cache"}
SKIPPED_DIRS |= {".pytest_cache", "__pycache__", "dist", "build"}
#: Design notes that were never part of the repository (spelled in pieces so that this file,
#: which the scan reads too, does not name them).
OUTSIDE = re.compile(
    "|".join(
        [
            r"\b(DESIGN|ARCHITECTURE|WORKER)" + r"\.md\b",
            r"\bcore/" + r"replica\.py\b",
            r"\.\./" + r"shared\b",
            r"/work/" + r"shared\b",
        ]
    )
)
POINTER = re.compile(r"\b(docs/[\w-]+\.md|sync-hub/README\.md)#([\w-]+)")
LINK = re.compile(r"\]\(([\w-]+\.md)#([\w-]+)\)")


@functools.cache
def repo_files() -> list[Path]:
    """The repository's own files; the skipped folders are not walked at all (the venv and the
    node_modules hold most of the files under REPO)."""
    found = []
    for folder, dirs, files in os.walk(REPO):
        dirs[:] = [name for name in dirs if name not in SKIPPED_DIRS]
        kept = [name for name in files if name not in SKIPPED_DIRS and not name.endswith(".db")]
        found += [Path(folder, name) for name in kept]  # a worktree's .git is a file
    return found


def text_of(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None  # a binary file names nothing


def anchors(markdown: Path) -> set[str]:
    """GitHub's anchors for the headings of a Markdown file."""
    found = set()
    for line in markdown.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


def test_no_file_refers_to_design_notes_outside_the_repo() -> None:
    offenders = []
    for path in repo_files():
        text = text_of(path)
        for number, line in enumerate((text or "").splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offenders, "write the rule into docs/ and point there:\n" + "\n".join(offenders)


def test_every_pointer_into_the_docs_names_a_heading_that_exists() -> None:
    broken = []
    for path in repo_files():
        text = text_of(path) or ""
        pointers = [(REPO / m.group(1), m.group(2)) for m in POINTER.finditer(text)]
        if path.parent == REPO / "docs":
            pointers += [(path.parent / m.group(1), m.group(2)) for m in LINK.finditer(text)]
        for target, anchor in pointers:
            if not target.exists() or anchor not in anchors(target):
                broken.append(f"{path.relative_to(REPO)}: {target.relative_to(REPO)}#{anchor}")
    assert not broken, "no such heading:\n" + "\n".join(sorted(set(broken)))


def test_the_anchor_rule_is_githubs() -> None:
    assert re.sub(r"[^\w\- ]", "", "on your lan: `--lan` and pairing").replace(" ", "-") == (
        "on-your-lan---lan-and-pairing"
    )
