"""The class page of a class with more than 1,000 images, in chromium at a phone's, a laptop's
and a wide screen's size: scroll to the end and back, every thumbnail stays in its grid cell,
and selecting and moving still work after scrolling, with no console error on the way."""

from __future__ import annotations

from typing import Any

import pytest
from browser_kit import SIZES, BigRun, api, logged_in, wait_for, wait_for_images

pytestmark = pytest.mark.browser

# Every thumbnail's box against the grid's column width (the cell), and where it sits.
MEASURE = """() => {
  const grid = document.getElementById("thumbs");
  const cell = parseFloat(getComputedStyle(grid).gridTemplateColumns.split(" ")[0]);
  const thumbs = Array.from(document.querySelectorAll(".thumb"));
  const bad = thumbs.filter(t => {
    const r = t.getBoundingClientRect();
    return t.parentElement !== grid || r.width > cell + 0.5 || r.height > cell + 0.5;
  }).map(t => t.id);
  return {cell: cell, n: thumbs.length, bad: bad.slice(0, 5), nbad: bad.length,
          flashThumbs: document.querySelectorAll("#flash .thumb").length,
          flash: !!document.getElementById("flash")};
}"""


def scroll_to_end(page: Any, expected: int) -> None:
    """Scroll down until every image of the class is on the page and nothing is loading."""
    for _ in range(expected // 100 + 5):
        shown = page.locator(".thumb").count()
        if shown >= expected and page.locator(".more").count() == 0:
            return
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        wait_for(
            page,
            "([n]) => document.querySelectorAll('.thumb').length > n"
            " || !document.querySelector('.more')",
            arg=[shown],
            timeout=20_000,
        )
    raise AssertionError(f"{page.locator('.thumb').count()} of {expected} images after scrolling")


@pytest.mark.parametrize("size", list(SIZES))
def test_class_page_scrolls_selects_and_moves(chrome: Any, big_run: BigRun, size: str) -> None:
    run, big = big_run.run_id, big_run.big
    with api(big_run.server) as client:
        n = client.get(f"/api/runs/{run}/classes/{big}").json()["size"]
    assert n >= 1000
    watched = logged_in(chrome, big_run.server, SIZES[size])
    page = watched.page
    page.goto(f"{big_run.server}/runs/{run}/classes/{big}")
    page.wait_for_selector(".thumb")

    scroll_to_end(page, n)
    measured = page.evaluate(MEASURE)
    assert measured["flash"] and measured["flashThumbs"] == 0, measured
    assert measured["n"] == n and measured["nbad"] == 0, measured
    ids = page.eval_on_selector_all(".thumb input", "els => els.map(e => Number(e.value))")
    assert len(set(ids)) == n  # no page loaded twice

    # Back to the top, then select the last image and one near the top and move them.
    page.evaluate("window.scrollTo(0, 0)")
    wait_for_images(page)
    last = page.locator(".thumb").last
    last.scroll_into_view_if_needed()
    moved = [int(last.locator("input").get_attribute("value"))]
    last.click()
    page.evaluate("window.scrollTo(0, 0)")
    second = page.locator(".thumb").nth(1)
    moved.append(int(second.locator("input").get_attribute("value")))
    second.click()
    assert page.inner_text("[data-selected-count]") == "2"
    page.select_option("select[name=to]", str(big_run.small))
    page.click("button:text-is('Move')")
    page.wait_for_selector(".flash.ok")
    for image_id in moved:
        assert page.locator(f"#img-{image_id}").count() == 0
    assert page.evaluate(MEASURE)["nbad"] == 0
    with api(big_run.server) as client:
        for image_id in moved:
            info = client.get(f"/api/images/{image_id}", params={"run": run, "similar": 0}).json()
            assert info["image_class"]["cluster"] == big_run.small
    assert watched.errors == []
    page.context.close()
