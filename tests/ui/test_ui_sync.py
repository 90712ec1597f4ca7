"""The sync pages in a real browser, against a real hub (`nmem serve` on loopback) and real
devices: a conflict made by two devices and restored from the page, and the status before and
after "Sync now"."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from helpers.devices import Device, Hub
from helpers.ui_server import UiServer
from neuralmemory.sync import service


def devices(hub: Hub, home: Path, tmp_path: Path) -> tuple[Device, Device]:
    """The laptop (another home) and this test's home, the device the UI runs on; auto-sync
    off, so that each sync happens where the test makes it."""
    laptop, here = Device(tmp_path / "laptop", hub.url), Device(home, hub.url)
    for device in (laptop, here):
        device.configure(hub_url=hub.url, auto_sync=False)
    return laptop, here


def test_restore_a_conflict_made_by_two_devices(
    hub: Hub, home: Path, tmp_path: Path, ui: UiServer, page: Page
) -> None:
    laptop, here = devices(hub, home, tmp_path)
    with laptop.brain() as brain:
        mid = brain.remember("The release train leaves on Tuesday").memory.id
    laptop.sync()
    here.sync()
    with here.brain() as brain:
        brain.edit(mid, content="The release train leaves on Thursday")
    with laptop.brain() as brain:
        brain.edit(mid, content="The release train leaves on Wednesday")
    here.sync()
    assert laptop.sync()["conflicts"] == 1  # the later edit (laptop's) wins; ours is a copy
    assert here.sync()["pulled"] >= 1
    ui.start()
    page.goto(ui.url)
    page.get_by_role("link", name="Conflicts").click()
    conflict = page.locator("ul.conflicts li")
    expect(conflict).to_have_count(1)
    expect(conflict.locator(".kept")).to_contain_text("Wednesday")
    expect(conflict.locator(".lost")).to_contain_text("Thursday")
    page.locator("body").screenshot(path=str(tmp_path / "conflicts.png"))
    conflict.get_by_role("button", name="Restore the lost side").click()
    expect(page.locator(".notice")).to_contain_text("Restored")
    expect(page.locator("blockquote.content")).to_have_text("The release train leaves on Thursday")
    # what the restore replaced is a conflict copy in turn, restorable from the memory's page
    expect(page.locator("ul.conflicts li .lost")).to_contain_text(["Wednesday"])
    page.locator("body").screenshot(path=str(tmp_path / "restored.png"))
    with here.brain() as brain:
        assert brain.get(mid).content == "The release train leaves on Thursday"
    here.sync()
    laptop.sync()
    with laptop.brain() as brain:
        assert brain.get(mid).content == "The release train leaves on Thursday"


def test_sync_now_changes_the_status(
    hub: Hub, home: Path, tmp_path: Path, ui: UiServer, page: Page
) -> None:
    laptop, here = devices(hub, home, tmp_path)
    with laptop.brain() as brain:
        brain.remember("The office wifi is nmem-guest.")
    laptop.sync()
    with here.brain() as brain:
        brain.remember("Deploys happen on Mondays.")
    ui.start()
    page.goto(ui.url.replace("/?", "/sync?"))
    expect(page.locator("dd.pending")).to_have_text("1")
    expect(page.locator("dd.last-sync")).to_have_text("never")
    devices_table = page.locator("table.devices tbody tr")
    expect(devices_table).to_have_count(1)  # the laptop only: this device never synced
    page.get_by_role("button", name="Sync now").click()
    expect(page.locator(".notice")).to_contain_text("Synced")
    expect(page.locator("dd.pending")).to_have_text("0")
    expect(page.locator("dd.last-sync")).to_contain_text("full: in sync (pulled 1, pushed 1")
    expect(devices_table).to_have_count(2)
    expect(page.locator("table.devices tr.me")).to_contain_text("(this one)")
    page.locator("body").screenshot(path=str(tmp_path / "sync.png"))
    page.get_by_role("link", name="Memories").click()
    expect(page.get_by_role("link", name="The office wifi is nmem-guest.")).to_be_visible()
    with here.use():
        assert service.status()["last_error"] is None


def test_sync_now_with_the_hub_down_shows_the_error(
    hub: Hub, home: Path, tmp_path: Path, ui: UiServer, page: Page
) -> None:
    _, here = devices(hub, home, tmp_path)
    with here.brain() as brain:
        brain.remember("Deploys happen on Mondays.")
    hub.stop()
    ui.start()
    page.goto(ui.url.replace("/?", "/sync?"))
    expect(page.locator("main p.error")).to_contain_text("Unreachable")
    page.get_by_role("button", name="Sync now").click()
    expect(page.locator("p.error").first).to_contain_text("The sync failed: Cannot reach the hub")
    expect(page.locator("dd.last-error")).to_contain_text("Cannot reach the hub")
    expect(page.locator("dd.pending")).to_have_text("1")


def test_a_change_made_just_before_the_server_stops_still_reaches_the_hub(
    hub: Hub, home: Path, tmp_path: Path, ui: UiServer
) -> None:
    laptop, here = devices(hub, home, tmp_path)
    here.configure(auto_sync=True)  # as once sync is configured: each change syncs by itself
    with here.brain() as brain:
        mid = brain.remember("Standup is at 9:30.").memory.id
    here.sync()
    laptop.sync()
    ui.start()
    with ui.client() as client:
        form = client.get(f"/memories/{mid}").text
        token = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        edited = client.post(
            f"/memories/{mid}/edit",
            data={"csrf": token, "content": "Standup is at 9:45.", "priority": "5", "type": "fact"},
        )
        assert edited.status_code == 303
    assert ui.stop() == 0  # SIGTERM at once: the auto-sync, armed 2 s later, runs before exit
    laptop.sync()
    with laptop.brain() as brain:
        assert brain.get(mid).content == "Standup is at 9:45."
