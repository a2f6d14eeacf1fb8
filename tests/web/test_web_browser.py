"""End to end in a real browser (Debian's chromium driven by Playwright) against `pixclass serve`
running in a subprocess with its job worker: log in, upload a folder of 200 MNIST digits, run,
rename, move, merge, look at the map, export the zip. Screenshots go to test-artifacts/."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_kit import api, require_chromium, serve, wait_for, wait_for_images
from web_samples import TOKEN, write_digits

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
N_IMAGES = 200
RUN_TIMEOUT_MS = 300_000

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`pixclass serve` (with its worker) on a free loopback port; yields the base URL."""
    require_chromium()
    with serve(tmp_path_factory.mktemp("e2e") / "data") as base:
        yield base


@pytest.fixture(scope="module")
def page(server: str, chrome: Any) -> Iterator[Any]:
    # The session's one chromium (two sync Playwrights cannot run in one thread).
    context = chrome.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    yield context.new_page()
    context.close()


def test_review_session(server: str, page: Any, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    folder = tmp_path / "my digits"
    write_digits(folder, N_IMAGES)

    # Log in, create a collection, upload a folder.
    page.goto(server + "/")
    assert "/login" in page.url
    page.fill("input[name=token]", TOKEN)
    page.click("button.primary")
    page.fill("input[name=name]", "e2e digits")
    page.click("text=Create")
    page.wait_for_url("**/upload")
    page.set_input_files("input[webkitdirectory]", str(folder))
    page.click("#upload-form button.primary")
    page.wait_for_selector("#upload-result", timeout=120_000)
    assert f"{N_IMAGES} new images" in page.inner_text("#upload-result")

    # Start a run; the job card polls its progress until the worker is done.
    page.click("text=Cluster the collection")
    page.fill("input[name=k]", "8")
    page.click("text=Start clustering")
    page.wait_for_selector(".job", timeout=30_000)
    page.wait_for_selector("text=Open the classes", timeout=RUN_TIMEOUT_MS)
    page.click("text=Open the classes")
    page.wait_for_selector(".class-card")
    run_id = int(page.url.split("/runs/")[1].split("/")[0])
    assert page.locator(".class-card").count() == 8
    wait_for_images(page)
    page.screenshot(path=str(ARTIFACTS / "gallery.png"), full_page=True)

    # Rename the largest class.
    first = page.locator(".class-card").first
    first.locator("input[name=name]").fill("big class")
    first.locator("button", has_text="Save").click()
    page.wait_for_selector(".class-name:text-is('big class')")

    # Move one image out of it, from its class page.
    page.click(".class-name:text-is('big class')")
    page.wait_for_selector(".thumb")
    moved_id = int(page.locator(".thumb input").first.get_attribute("value"))
    page.locator(".thumb").first.click()
    assert page.inner_text("[data-selected-count]") == "1"
    target = page.locator("select[name=to] option").first.get_attribute("value")
    page.select_option("select[name=to]", target)
    page.click("button:text-is('Move')")
    page.wait_for_selector(".flash.ok")
    assert page.locator(f"#img-{moved_id}").count() == 0
    wait_for_images(page)
    page.screenshot(path=str(ARTIFACTS / "class.png"))

    # Merge the two smallest classes.
    page.goto(f"{server}/runs/{run_id}/classes")
    cards = page.locator(".class-card")
    small = [cards.nth(6), cards.nth(7)]
    into = small[0].locator("input[name=classes]").get_attribute("value")
    for card in small:
        card.locator("input[name=classes]").check()
    page.select_option("select[name=into]", into)
    page.click("button:text-is('Merge')")
    wait_for(page, "document.querySelectorAll('.class-card').length === 7")

    # The map: every image as a point; select a region with the box tool.
    page.goto(f"{server}/runs/{run_id}/map")
    page.wait_for_selector(f"text={N_IMAGES} images")
    page.click("text=Box select")
    box = page.locator("#map-canvas").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.7, steps=8)
    page.mouse.up()
    page.screenshot(path=str(ARTIFACTS / "map.png"))

    # The corrections are stored as a person's decisions.
    with api(server) as client:
        info = client.get(f"/api/images/{moved_id}", params={"similar": 0}).json()
        assert info["image_class"]["set_by_person"] is True
        assert str(info["image_class"]["cluster"]) == target
        classes = client.get(f"/api/runs/{run_id}/classes").json()
    shown = {c["display_name"]: c["size"] for c in classes if c["size"] > 0}
    assert "big class" in shown and len(shown) == 7 and sum(shown.values()) == N_IMAGES

    # Export the zip: one folder per class, every image once.
    page.goto(f"{server}/collections/{_collection_id(server)}/export")
    with page.expect_download() as download:
        page.click("button[value=zip]")
    data = Path(download.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
    assert len(names) == N_IMAGES
    folders = {name.split("/")[0] for name in names}
    assert folders == set(shown)
    counts = {f: sum(n.startswith(f + "/") for n in names) for f in folders}
    assert counts == shown


def _collection_id(server: str) -> int:
    with api(server) as client:
        found = [c for c in client.get("/api/collections").json() if c["name"] == "e2e digits"]
    return int(found[0]["id"])
