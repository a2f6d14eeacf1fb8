"""What a new user tripped over, in chromium: counts that go stale after split + merge (export,
runs list) and on the map, a split clicked twice, an upload with a corrupt zip among good files,
/docs without Authorize and refused by CSRF, "noise" where the app says "unknown", the
collections and classes pages, dark mode, and a job card's labels and clock."""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path
from typing import Any

import pytest
from browser_kit import SIZES, BigRun, api, logged_in, wait_for, wait_for_images
from test_web_live import cluster, sizes, upload
from web_samples import write_digits

pytestmark = pytest.mark.browser

N_FLOWS = 90
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def flows(big_run: BigRun, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, int]:
    """A collection of 90 digits with a run of three classes: (collection id, run id)."""
    folder = tmp_path_factory.mktemp("flows")
    write_digits(folder, N_FLOWS, start=2000)
    with api(big_run.server) as client:
        collection_id = int(client.post("/api/collections", json={"name": "flows"}).json()["id"])
    assert upload(big_run.server, collection_id, folder) == N_FLOWS
    return collection_id, cluster(big_run.server, collection_id, 3)


def n_classes(server: str, run_id: int) -> int:
    return len([size for size in sizes(server, run_id).values() if size > 0])


def test_export_and_runs_pages_count_classes_after_split_and_merge(
    chrome: Any, big_run: BigRun, flows: tuple[int, int]
) -> None:
    collection_id, run_id = flows
    server = big_run.server
    watched = logged_in(chrome, server, SIZES["laptop"])
    page = watched.page
    page.goto(f"{server}/collections/{collection_id}/export")
    option = f"#export-run option[value='{run_id}']"
    assert f"{n_classes(server, run_id)} classes" in page.inner_text(option)
    with api(server) as client:  # another window: split the biggest class in 3, merge two
        biggest = max(sizes(server, run_id).items(), key=lambda item: item[1])[0]
        split = client.post(f"/api/runs/{run_id}/classes/{biggest}/split", json={"k": 3})
        assert split.status_code == 200, split.text
        made = [c["index"] for c in split.json()]
        merged = client.post(
            f"/api/runs/{run_id}/merge", json={"classes": [made[1]], "into": made[0]}
        )
        assert merged.status_code == 200, merged.text
    expected = n_classes(server, run_id)
    assert expected == 4  # 3 classes, one split in 3 (+2), two of those merged (-1)
    wait_for(  # without a reload: the page polls its version
        page,
        "([sel, text]) => document.querySelector(sel).textContent.includes(text)",
        arg=[option, f"{expected} classes"],
    )
    page.goto(f"{server}/collections/{collection_id}")
    row = page.locator("#runs tr", has_text=re.compile(rf"^\s*{run_id}\b"))
    assert row.locator("td.num").inner_text().strip() == str(expected)
    page.goto(server + "/")
    card = page.locator(f"#collection-{collection_id}")
    assert f"run {run_id}: {expected} classes" in card.inner_text()
    assert watched.errors == []
    page.context.close()


def test_map_count_and_legend_follow_other_windows(
    chrome: Any, big_run: BigRun, flows: tuple[int, int], tmp_path: Path
) -> None:
    collection_id, run_id = flows
    server = big_run.server
    watched = logged_in(chrome, server, SIZES["laptop"])
    page = watched.page
    page.goto(f"{server}/runs/{run_id}/map")
    page.wait_for_selector("#map-status:has-text('images')")
    with api(server) as client:
        before = client.get(f"/api/runs/{run_id}").json()["n_images"]
    assert page.inner_text("#map-status") == f"{before:,} images"
    new = write_digits(tmp_path, 3, start=3000)
    with api(server) as client:  # another window classifies three new images into the run
        files = [("files", (p.name, p.read_bytes(), "image/png")) for p in new]
        classified = client.post(f"/api/collections/{collection_id}/classify", files=files)
        assert classified.status_code == 200, classified.text
        after = client.get(f"/api/runs/{run_id}").json()["n_images"]
    assert after == before + 3
    wait_for(  # no reload: the page polls its version and fetches the points again
        page,
        "([text]) => document.getElementById('map-status').textContent === text",
        arg=[f"{before:,} images · 3 classified later, not on the map"],
    )
    legend = page.eval_on_selector_all(
        "#legend .n", "els => els.map(e => Number(e.textContent.replace(/,/g, '')))"
    )
    assert sum(legend) == after
    assert "noise" not in page.inner_text("body").lower()
    assert watched.errors == []
    page.context.close()


def test_split_spins_and_a_double_click_splits_once(
    chrome: Any, big_run: BigRun, flows: tuple[int, int]
) -> None:
    _, run_id = flows
    server = big_run.server
    before = n_classes(server, run_id)
    biggest = max(sizes(server, run_id).items(), key=lambda item: item[1])[0]
    watched = logged_in(chrome, server, SIZES["laptop"])
    page = watched.page
    page.on("dialog", lambda dialog: dialog.accept())
    splits: list[str] = []
    page.on("request", lambda r: splits.append(r.url) if r.url.endswith("/split") else None)
    page.goto(f"{server}/runs/{run_id}/classes/{biggest}")
    # What the button looks like once the split is sent (kept across the page change after it).
    page.evaluate(
        """() => document.addEventListener("htmx:beforeSend", () => {
            const button = document.querySelector("button[data-split]");
            const spinner = button.querySelector(".spinner");
            sessionStorage.setItem("split", JSON.stringify({disabled: button.disabled,
                spinner: getComputedStyle(spinner).display !== "none"}));
        })"""
    )
    page.select_option("form[hx-post$='/split'] select[name=k]", "2")
    page.dblclick("button[data-split]")
    page.wait_for_url(f"{server}/runs/{run_id}/classes")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("() => JSON.parse(sessionStorage.getItem('split'))") == {
        "disabled": True,
        "spinner": True,
    }
    assert len(splits) == 1, splits
    assert n_classes(server, run_id) == before + 1
    assert watched.errors == []
    page.context.close()


def test_upload_of_good_images_and_a_corrupt_zip_says_what_was_added_and_skipped(
    chrome: Any, big_run: BigRun, tmp_path: Path
) -> None:
    server = big_run.server
    with api(server) as client:
        collection_id = client.post("/api/collections", json={"name": "corrupt zip"}).json()["id"]
    good = write_digits(tmp_path, 3, start=4000)
    bad = tmp_path / "holiday.zip"
    bad.write_bytes(b"PK\x03\x04" + b"not really a zip archive" * 50)
    watched = logged_in(chrome, server, SIZES["laptop"])
    page = watched.page
    page.goto(f"{server}/collections/{collection_id}/upload")
    page.set_input_files("input[name=files][multiple]:not([webkitdirectory])", [*good, bad])
    page.click("#upload-form button.primary")
    page.wait_for_selector("#upload-result")
    result = page.inner_text("#upload-result")
    assert "3 new images" in result and "1 skipped" in result, result
    skipped = page.eval_on_selector_all(
        "#upload-result table.skipped tbody tr",
        "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent.trim()))",
    )
    assert len(skipped) == 1 and skipped[0][0] == "holiday.zip", skipped
    assert "zip" in skipped[0][1].lower(), skipped  # the reason says what was wrong with it
    text = page.inner_text("main")
    assert "/tmp" not in text and "uploads/" not in text and str(tmp_path) not in text
    with api(server) as client:
        assert client.get(f"/api/collections/{collection_id}").json()["n_images"] == 3
    assert watched.errors == []
    page.context.close()


def test_docs_authorize_and_try_it_out(chrome: Any, big_run: BigRun) -> None:
    """/docs from local files: Try it out works on the page's login (the CSRF token goes
    with it), and after Authorize with the app's token as a bearer call."""
    from web_samples import TOKEN

    server = big_run.server
    watched = logged_in(chrome, server, SIZES["laptop"])
    page = watched.page
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(server) else None)
    sent: list[dict[str, str]] = []
    page.on(
        "request",
        lambda r: (
            sent.append(r.headers) if "/api/collections" in r.url and r.method == "POST" else None
        ),
    )
    page.goto(server + "/docs")
    page.wait_for_selector("button.authorize")

    def create(name: str) -> str:
        block = page.locator("#operations-collections-create_collection_api_api_collections_post")
        if (
            not block.locator(".try-out").is_visible()
            or block.locator("button.try-out__btn").count() == 0
        ):
            block.locator(".opblock-summary").click()
        if block.locator("button.try-out__btn:has-text('Try it out')").count():
            block.locator("button.try-out__btn").click()
        block.locator("textarea.body-param__text").fill(f'{{"name": "{name}"}}')
        block.locator("button.execute").click()
        status = block.locator(".live-responses-table tbody .response-col_status").first
        status.wait_for()
        return status.inner_text().strip()

    assert create("from the docs page") == "201"
    assert "authorization" not in sent[-1] and sent[-1].get("x-csrf-token")

    page.click("button.authorize")
    page.fill(".modal-ux input[type=text], .modal-ux input[type=password]", TOKEN)
    page.click(".modal-ux button.authorize")
    page.click(".modal-ux button.btn-done")
    assert create("from the docs page, authorized") == "201"
    assert sent[-1].get("authorization") == f"Bearer {TOKEN}"
    with api(server) as client:
        names = {c["name"] for c in client.get("/api/collections").json()}
    assert {"from the docs page", "from the docs page, authorized"} <= names
    assert outside == []  # Swagger UI came from the app, not a CDN
    assert watched.errors == []
    page.context.close()


def test_collections_are_cards_with_covers_and_classes_show_size_and_confidence(
    chrome: Any, big_run: BigRun, flows: tuple[int, int]
) -> None:
    collection_id, run_id = flows
    server = big_run.server
    watched = logged_in(chrome, server, SIZES["laptop"])
    page = watched.page
    page.goto(server + "/")
    wait_for_images(page)
    cover = page.eval_on_selector_all(
        f"#collection-{collection_id} .cover img", "imgs => imgs.map(i => i.naturalWidth)"
    )
    assert len(cover) == 4 and min(cover) > 0, cover
    assert page.locator(".collection-card").count() >= 2
    assert page.locator("table").count() == 0  # cards, not a table
    page.goto(f"{server}/runs/{run_id}/classes")
    with api(server) as client:
        for index, size in sizes(server, run_id).items():
            if size == 0:
                continue
            images = client.get(
                f"/api/runs/{run_id}/classes/{index}/images", params={"limit": 5000}
            ).json()
            mean = statistics.fmean(i["confidence"] for i in images)
            text = page.inner_text(f"#class-{index} [data-mean-confidence]")
            many = "s" if size != 1 else ""
            assert text == f"{size:,} image{many} · mean confidence {round(100 * mean)}%"
    assert watched.errors == []
    page.context.close()


def test_dark_mode_follows_the_system(chrome: Any, big_run: BigRun) -> None:
    background = "() => getComputedStyle(document.body).backgroundColor"
    light = logged_in(chrome, big_run.server, SIZES["laptop"], color_scheme="light")
    dark = logged_in(chrome, big_run.server, SIZES["laptop"], color_scheme="dark")

    def luminance(css: str) -> float:
        r, g, b = (int(v) for v in re.findall(r"\d+", css)[:3])
        return 0.299 * r + 0.587 * g + 0.114 * b

    assert luminance(light.page.evaluate(background)) > 200
    assert luminance(dark.page.evaluate(background)) < 50
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, path in (("collections", "/"), ("classes", f"/runs/{big_run.run_id}/classes")):
        dark.page.goto(big_run.server + path)
        wait_for_images(dark.page)
        assert luminance(dark.page.evaluate(background)) < 50
        dark.page.screenshot(path=str(SHOTS / f"{name}-dark-laptop.png"))
    for watched in (light, dark):
        assert watched.errors == []
        watched.page.context.close()


def test_pages_say_unknown_never_noise(
    chrome: Any, big_run: BigRun, flows: tuple[int, int]
) -> None:
    collection_id, run_id = flows
    server = big_run.server
    watched = logged_in(chrome, server, SIZES["laptop"])
    page = watched.page
    said = {}
    for path in (
        f"/runs/{run_id}/classes",
        f"/runs/{run_id}/review",
        f"/runs/{run_id}/map",
        f"/collections/{collection_id}/classify",
        f"/collections/{collection_id}/export",
    ):
        page.goto(server + path)
        page.wait_for_load_state("networkidle")
        said[path] = "noise" in page.content().lower()
    assert not any(said.values()), said
    assert watched.errors == []
    page.context.close()


def _card_text(page: Any, card: str, fraction: str) -> str:
    """The card's text once it shows ``fraction`` and its clock, read in the same look: the card
    is swapped every second, and a new copy has no clock until the page's ticker fills it."""
    read = "([s, f]) => { const t = document.querySelector(s)?.innerText || ''; "
    read += "return t.includes(f) && t.includes('left') ? t : null; }"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = page.evaluate(read, [card, fraction])
        if text:
            return " ".join(text.split())
        page.wait_for_timeout(100)
    raise AssertionError(f"{card} never showed {fraction} with its clock")


def test_job_card_says_each_label_once_with_elapsed_time_and_eta(
    chrome: Any, big_run: BigRun
) -> None:
    # The job's progress is written here, step by step, as a worker would write it: a real job
    # on 400 images can end before the card's one-second poll sees a stage (the jobs tests check
    # that a real cluster job reports progress inside each stage).
    from pixclass.config import Settings
    from pixclass.store import open_store
    from pixclass.store.jobs import create_job, finish_job, report_progress, start_job

    assert big_run.data is not None
    server = big_run.server
    watched = logged_in(chrome, server, SIZES["laptop"])
    page = watched.page
    with open_store(Settings(data_dir=big_run.data)) as store:
        job_id = create_job(store, "cluster", "big digits", {})
        assert start_job(store, job_id) is not None
        report_progress(store, job_id, "features", 0.15, "features 128/400")
        page.goto(f"{server}/collections/{big_run.collection_id}")
        card = f"#job-{job_id} [data-job-clock]"
        first = _card_text(page, card, "15%")
        report_progress(store, job_id, "cluster", 0.85, "cluster")
        second = _card_text(page, card, "85%")
        finish_job(store, job_id, {})
    wait_for(page, "id => !!document.querySelector(`#job-${id}.done`)", job_id)
    for text in (first, second):
        label = text.split("·")[0]
        stage = re.findall(r"[a-z]+", label)[0]
        assert label.count(stage) == 1, text  # "features 128/400", not "features: features ..."
        assert re.search(r"\d+:\d\d elapsed", text) and "left" in text, text
    assert first.startswith("features 128/400 · 15%"), first
    assert second.startswith("cluster · 85%"), second
    assert watched.errors == []
    page.context.close()
