"""Every page in chromium at 390×844, 1440×900 and 2560×1440: nothing wider than the window, no
console error; the screenshots in docs/screenshots/ are taken here, so they stay true. Then the
rough edges: an HTML 404, no blank /redoc, an expired session keeps the page, the review queue
loads more, an upload leaves a file over the limit at home."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from browser_kit import SIZES, BigRun, api, logged_in, wait_for, wait_for_images
from web_samples import TOKEN, write_digits

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDEST = "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"


def pages(run: BigRun, image_id: int) -> dict[str, str]:
    c, r = run.collection_id, run.run_id
    return {
        "collections": "/",
        "runs": f"/collections/{c}",
        "upload": f"/collections/{c}/upload",
        "classes": f"/runs/{r}/classes",
        "class": f"/runs/{r}/classes/{run.big}",
        "map": f"/runs/{r}/map",
        "review": f"/runs/{r}/review",
        "image": f"/images/{image_id}?run={r}",
        "classify": f"/collections/{c}/classify",
        "export": f"/collections/{c}/export",
        "notifications": f"/collections/{c}/notifications",
        "docs": "/docs",
    }


@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_fits_and_is_shot(chrome: Any, big_run: BigRun, size: str) -> None:
    with api(big_run.server) as client:
        url = f"/api/runs/{big_run.run_id}/classes/{big_run.big}/images"
        image_id = client.get(url, params={"limit": 1}).json()[0]["image_id"]
    watched = logged_in(chrome, big_run.server, SIZES[size])
    page = watched.page
    SHOTS.mkdir(parents=True, exist_ok=True)
    too_wide = {}
    for name, path in pages(big_run, image_id).items():
        page.goto(big_run.server + path)
        page.wait_for_load_state("networkidle")
        if name == "map":
            page.wait_for_selector("#map-status:has-text('images')")
        if name == "docs":
            page.wait_for_selector(".opblock-tag")
        wait_for_images(page)
        widest = page.evaluate(WIDEST)
        if widest > SIZES[size][0]:
            too_wide[name] = widest
        page.screenshot(path=str(SHOTS / f"{name}-{size}.png"))
    assert too_wide == {}, f"pages wider than {SIZES[size][0]} px: {too_wide}"
    assert watched.errors == []
    page.context.close()


def test_unknown_path_is_a_page_and_redoc_is_gone(chrome: Any, big_run: BigRun) -> None:
    watched = logged_in(chrome, big_run.server, SIZES["laptop"])
    page = watched.page
    for path in ("/this/does/not/exist", "/redoc"):
        response = page.goto(big_run.server + path)
        assert response.status == 404
        assert "Not found" in page.inner_text("h1")
        assert "All collections" in page.inner_text("main")
    with api(big_run.server) as client:
        assert client.get("/api/nothing/here").json() == {"detail": "Not Found"}
    page.context.close()


def test_expired_session_keeps_the_page(chrome: Any, big_run: BigRun) -> None:
    watched = logged_in(chrome, big_run.server, SIZES["laptop"])
    page = watched.page
    where = f"/runs/{big_run.run_id}/classes/{big_run.big}"
    page.goto(big_run.server + where)
    page.locator(".thumb").first.click()
    page.context.clear_cookies()  # the session is gone
    page.click("button:text-is('Move')")
    page.wait_for_url(re.compile(r"/login\?next=/runs/"))
    page.fill("input[name=token]", TOKEN)
    page.click("button.primary")
    page.wait_for_url(big_run.server + where)
    page.context.close()


def test_review_queue_loads_more(chrome: Any, big_run: BigRun) -> None:
    watched = logged_in(chrome, big_run.server, SIZES["laptop"])
    page = watched.page
    page.goto(f"{big_run.server}/runs/{big_run.run_id}/review")
    assert page.locator(".review-card").count() == 48
    for _ in range(3):
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        wait_for(page, "document.querySelectorAll('.review-card').length >= 96")
    ids = page.eval_on_selector_all(".review-card", "els => els.map(e => e.id)")
    assert len(ids) >= 96 and len(set(ids)) == len(ids)
    assert watched.errors == []
    page.context.close()


def test_upload_leaves_a_file_over_the_limit_at_home(
    chrome: Any, big_run: BigRun, tmp_path: Path
) -> None:
    with api(big_run.server) as client:
        collection = client.post("/api/collections", json={"name": "limits"}).json()
    small = write_digits(tmp_path, 2)
    big = tmp_path / "huge.png"
    big.write_bytes(b"\0" * (51 * 1024 * 1024))  # over the 50 MiB an image may be
    watched = logged_in(chrome, big_run.server, SIZES["laptop"])
    page = watched.page
    sent: list[int] = []
    page.on("request", lambda r: sent.append(len(r.post_data_buffer or b"")))
    page.goto(f"{big_run.server}/collections/{collection['id']}/upload")
    page.set_input_files("input[name=files][multiple]:not([webkitdirectory])", [*small, big])
    page.click("#upload-form button.primary")
    page.wait_for_selector("#upload-result")
    assert "2 new images" in page.inner_text("#upload-result")
    assert "huge.png" in page.inner_text("#upload-skipped")
    assert max(sent) < 1024 * 1024  # the 51 MiB file was never sent
    assert "/tmp" not in page.inner_text("main") and "uploads/" not in page.inner_text("main")
    page.context.close()
