"""The UI in a real browser (headless Chromium driven by Playwright): search with the activation
path drawn, open a memory, edit, forget and supersede it, filter the list, switch brains. Each
change is checked through the library afterwards, as the command line would see it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from helpers.ui_server import UiServer
from neuralmemory.core.brains import create_brain, current_brain_name, open_brain
from neuralmemory.errors import NotFound

ALICE = "Alice Moreno leads Project Falcon."
KAFKA = "Project Falcon streams its events through Kafka."
STAGING = "The staging database is pg-staging-2."


@pytest.fixture
def falcon(home: Path) -> dict[str, str]:
    with open_brain() as brain:
        ids = {
            "alice": brain.remember(ALICE, tags=["team"]).memory.id,
            "kafka": brain.remember(KAFKA).memory.id,
            "staging": brain.remember(STAGING, type="fact", tags=["infra"]).memory.id,
        }
        brain.recall("Alice")  # a learned use, as an agent's recall leaves
    return ids


def test_search_shows_scores_and_each_hit_s_path_as_a_graph(
    ui: UiServer, page: Page, falcon: dict[str, str], tmp_path: Path
) -> None:
    ui.start()
    page.goto(ui.url)
    page.get_by_label("query").fill("Alice")
    page.get_by_role("button", name="Recall").click()
    hits = page.locator("li.hit")
    expect(hits).to_have_count(2)
    first, second = hits.nth(0), hits.nth(1)
    expect(first.locator(".content")).to_have_text(ALICE)
    expect(second.locator(".content")).to_have_text(KAFKA)
    scores = [float(hit.locator(".score").inner_text()) for hit in (first, second)]
    assert scores[0] > scores[1] > 0
    # Kafka shares no word with the query: its graph goes query term -> memory -> concept -> it
    graph = second.locator("svg.path")
    expect(graph.locator("g.node.term > text")).to_have_text("alice")
    expect(graph.locator("g.node.memory > text")).to_contain_text("Alice Moreno")
    expect(graph.locator("g.node.concept > text")).to_have_text("project falcon")
    expect(graph.locator("g.node.hit > text")).to_contain_text("Project Falcon")
    assert graph.locator("path.edge").count() == 3
    expect(first.locator("svg.path g.node.term > text")).to_have_text("alice")
    page.locator("body").screenshot(path=str(tmp_path / "search.png"))
    # the hit's node leads to its page
    graph.locator("a:has(g.node.hit)").click()
    expect(page.locator("blockquote.content")).to_have_text(KAFKA)


def test_a_question_s_words_fan_into_the_memory_they_match(
    ui: UiServer, page: Page, falcon: dict[str, str], tmp_path: Path
) -> None:
    """The screenshot in docs/ui.md: hits by their own words and through a concept."""
    with open_brain() as brain:
        brain.remember("Kafka retention on staging is seven days.", tags=["infra"])
        brain.remember("Bob Chen reviews every Falcon schema change.")
    ui.start()
    page.goto(ui.url.replace("/?", "/?q=who+leads+the+Kafka+events%3F&"))
    hits = page.locator("li.hit")
    expect(hits.first.locator(".content")).to_have_text(KAFKA)
    terms = hits.first.locator("g.node.term > text")
    expect(terms).to_have_text(["event", "kafka"])  # both words lead to it: two edges in
    assert hits.first.locator("path.edge").count() == 2
    expect(page.locator("g.node.concept > text").first).to_have_text("falcon")
    shot = tmp_path / "search-question.png"
    page.locator("body").screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000


def test_a_search_only_looks(ui: UiServer, page: Page, falcon: dict[str, str]) -> None:
    with open_brain() as brain:
        before = brain.get(falcon["alice"]).access_count
    ui.start()
    page.goto(ui.url)
    page.get_by_label("query").fill("Alice")
    page.keyboard.press("Enter")
    expect(page.locator("li.hit")).to_have_count(2)
    with open_brain() as brain:
        assert brain.get(falcon["alice"]).access_count == before


def test_open_a_memory_and_edit_it(ui: UiServer, page: Page, falcon: dict[str, str]) -> None:
    ui.start()
    page.goto(ui.url)
    page.get_by_role("link", name="Memories").click()
    page.get_by_role("link", name=STAGING).click()
    expect(page.locator("blockquote.content")).to_have_text(STAGING)
    expect(page.locator("ol.history li")).to_have_count(1)
    page.locator("textarea[name=content]").first.fill("The staging database is pg-staging-3.")
    page.get_by_label("tags").fill("infra, db")
    page.get_by_label("priority").fill("8")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".notice")).to_contain_text("Edited")
    expect(page.locator("blockquote.content")).to_have_text("The staging database is pg-staging-3.")
    expect(page.locator("ol.history li").nth(1)).to_contain_text("content changed")
    expect(page.locator("ol.history li").nth(1)).to_contain_text("priority 5 -> 8")
    with open_brain() as brain:
        edited = brain.get(falcon["staging"])
    assert (edited.content, edited.tags, edited.priority) == (
        "The staging database is pg-staging-3.",
        ["db", "infra"],  # kept sorted
        8,
    )
    # saving the form again as it is writes nothing, and says so
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".notice")).to_contain_text("Nothing changed")
    expect(page.locator("ol.history li")).to_have_count(2)


def test_an_edit_the_library_refuses_is_shown_and_changes_nothing(
    ui: UiServer, page: Page, falcon: dict[str, str]
) -> None:
    ui.start()
    page.goto(ui.url.replace("/?", f"/memories/{falcon['kafka']}?"))
    page.locator("textarea[name=content]").first.evaluate("t => t.removeAttribute('required')")
    page.locator("textarea[name=content]").first.fill("   ")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("p.error")).to_contain_text("content must be non-empty text")
    with open_brain() as brain:
        assert brain.get(falcon["kafka"]).content == KAFKA


def test_forget_asks_first_then_forgets(ui: UiServer, page: Page, falcon: dict[str, str]) -> None:
    ui.start()
    page.goto(ui.url.replace("/?", f"/memories/{falcon['alice']}?"))
    page.get_by_role("link", name="Forget this memory…").click()
    expect(page.locator("main")).to_contain_text("and 1 learned link")
    with open_brain() as brain:  # the question deleted nothing
        assert brain.get(falcon["alice"]).content == ALICE
    page.get_by_role("button", name="Forget it").click()
    expect(page.locator(".notice")).to_contain_text("Forgotten")
    expect(page.get_by_role("link", name=ALICE)).to_have_count(0)
    expect(page.get_by_role("link", name=KAFKA)).to_have_count(1)
    with open_brain() as brain, pytest.raises(NotFound):
        brain.get(falcon["alice"])


def test_supersede_with_a_new_memory(ui: UiServer, page: Page, falcon: dict[str, str]) -> None:
    ui.start()
    page.goto(ui.url.replace("/?", f"/memories/{falcon['kafka']}?"))
    page.locator("summary", has_text="Supersede").click()
    page.get_by_label("a new memory").fill("Project Falcon moved its events to Redpanda.")
    page.locator("form[action$=supersede] button").click()
    expect(page.locator(".notice")).to_contain_text("supersedes the old one")
    expect(page.locator("blockquote.content")).to_have_text(
        "Project Falcon moved its events to Redpanda."
    )
    page.get_by_role("link", name=KAFKA).click()  # "supersedes" links to the old one
    expect(page.locator("p.note")).to_contain_text("Superseded by")
    expect(page.locator("ol.history li").last).to_contain_text("superseded by")
    page.get_by_role("link", name="Memories").click()
    expect(page.get_by_role("link", name=KAFKA)).to_have_count(0)  # as `nmem list`
    page.get_by_label("superseded and expired too").check()
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("ul.memories li.superseded .content")).to_have_text(KAFKA)
    with open_brain() as brain:
        new_id = brain.get(falcon["kafka"]).superseded_by
        assert new_id is not None and new_id != falcon["kafka"]
        assert brain.get(new_id).project == brain.get(falcon["kafka"]).project
        found = [hit.memory.id for hit in brain.recall("Kafka events", reinforce=False)]
    assert falcon["kafka"] not in found and new_id in found


def test_supersede_with_an_existing_memory(
    ui: UiServer, page: Page, falcon: dict[str, str]
) -> None:
    ui.start()
    page.goto(ui.url.replace("/?", f"/memories/{falcon['staging']}?"))
    page.locator("summary", has_text="Supersede").click()
    page.get_by_label("an existing memory").fill(falcon["kafka"])
    page.locator("form[action$=supersede] button").click()
    expect(page.locator("blockquote.content")).to_have_text(KAFKA)
    with open_brain() as brain:
        assert brain.get(falcon["staging"]).superseded_by == falcon["kafka"]


def test_the_list_filters_and_pages_as_nmem_list(
    ui: UiServer, page: Page, falcon: dict[str, str]
) -> None:
    ui.start()
    page.goto(ui.url.replace("/?", "/memories?"))
    expect(page.locator("ul.memories li")).to_have_count(3)
    page.get_by_label("tags").fill("infra")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("ul.memories li")).to_have_count(1)
    expect(page.locator("ul.memories li .content")).to_have_text(STAGING)
    page.get_by_label("tags").fill("")
    page.get_by_label("per page").fill("2")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("ul.memories li")).to_have_count(2)
    page.get_by_role("link", name="Older memories →").click()
    expect(page.locator("ul.memories li")).to_have_count(1)
    expect(page.locator("ul.memories li .content")).to_have_text(ALICE)  # the oldest
    page.get_by_label("since").fill("not a time")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("p.error")).to_be_visible()


def test_the_brain_switcher_makes_another_brain_current(
    ui: UiServer, page: Page, falcon: dict[str, str]
) -> None:
    with create_brain("work") as work:
        work.remember("The quarterly review is on Friday.")
    ui.start()
    page.goto(ui.url.replace("/?", "/memories?"))
    page.get_by_label("brain").select_option("work")
    expect(page.locator(".notice")).to_contain_text("Switched brain")
    expect(page.locator("ul.memories li .content")).to_have_text(
        "The quarterly review is on Friday."
    )
    assert current_brain_name() == "work"
