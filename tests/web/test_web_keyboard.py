"""Choosing images by keyboard and by mouse on a class of more than 1,000 images, in chromium:
every shortcut (arrows, j/k, x, Space, Shift+arrows, a, m, c, Esc, ?), Shift+click ranges, a
dragged rectangle, the viewer with its arrows and similar images, and the thumbnail size."""

from __future__ import annotations

from typing import Any

import pytest
from browser_kit import SIZES, BigRun, api, logged_in, wait_for, wait_for_images

pytestmark = pytest.mark.browser

COLUMNS = "() => getComputedStyle(document.getElementById('thumbs')).gridTemplateColumns.split(' ')"


def ids(page: Any) -> list[str]:
    return page.eval_on_selector_all(".thumb", "els => els.map(e => e.id)")


def focused(page: Any) -> str:
    return page.evaluate("() => document.activeElement.id")


def selected(page: Any) -> int:
    return int(page.inner_text("[data-selected-count]"))


def checked(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        ".thumb input:checked", "els => els.map(e => e.closest('.thumb').id)"
    )


@pytest.fixture
def class_page(chrome: Any, big_run: BigRun) -> Any:
    watched = logged_in(chrome, big_run.server, SIZES["laptop"])
    watched.page.goto(f"{big_run.server}/runs/{big_run.run_id}/classes/{big_run.big}")
    watched.page.wait_for_selector(".thumb")
    wait_for_images(watched.page)
    yield watched
    assert watched.errors == []
    watched.page.context.close()


def test_focus_keys_and_selection_keys(class_page: Any) -> None:
    page = class_page.page
    shown, cols = ids(page), len(page.evaluate(COLUMNS))
    assert cols >= 4
    page.keyboard.press("j")
    assert focused(page) == shown[0]
    page.keyboard.press("j")
    page.keyboard.press("ArrowRight")
    assert focused(page) == shown[2]
    page.keyboard.press("ArrowDown")
    assert focused(page) == shown[2 + cols]
    page.keyboard.press("ArrowUp")
    page.keyboard.press("k")
    assert focused(page) == shown[1]
    page.keyboard.press("ArrowLeft")
    assert focused(page) == shown[0]

    page.keyboard.press("x")
    assert checked(page) == [shown[0]] and selected(page) == 1
    page.keyboard.press("Space")
    assert checked(page) == [] and selected(page) == 0
    page.keyboard.press("Space")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    assert checked(page) == shown[:3] and selected(page) == 3
    page.keyboard.press("Escape")
    assert checked(page) == [] and selected(page) == 0

    page.keyboard.press("?")
    assert page.locator("#keys").is_visible()
    assert "select every image of the class" in page.inner_text("#keys")
    page.keyboard.press("Escape")
    assert not page.locator("#keys").is_visible()


def test_shift_click_and_drag_select_ranges(class_page: Any) -> None:
    page = class_page.page
    shown, cols = ids(page), len(page.evaluate(COLUMNS))
    page.click(f"#{shown[1]}")
    page.click(f"#{shown[6]}", modifiers=["Shift"])
    assert checked(page) == shown[1:7] and selected(page) == 6
    page.keyboard.press("Escape")

    # A rectangle from the middle of the first thumbnail to the middle of the second row's second.
    start = page.locator(f"#{shown[0]}").bounding_box()
    end = page.locator(f"#{shown[cols + 1]}").bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=10)
    page.mouse.up()
    assert sorted(checked(page)) == sorted([shown[0], shown[1], shown[cols], shown[cols + 1]])
    assert selected(page) == 4
    assert page.locator(".drag-rect").count() == 0
    page.click(f"#{shown[5]}")  # a plain click after a drag still toggles one image
    assert selected(page) == 5


def test_a_selects_the_class_m_moves_c_confirms(class_page: Any, big_run: BigRun) -> None:
    page = class_page.page
    run = big_run.run_id
    with api(big_run.server) as client:
        size = client.get(f"/api/runs/{run}/classes/{big_run.big}").json()["size"]
    page.keyboard.press("a")
    wait_for(page, f"() => document.querySelector('[data-selected-count]').textContent == '{size}'")
    assert len(checked(page)) == len(ids(page)) < size  # the rest are not loaded, yet selected
    page.keyboard.press("Escape")
    assert selected(page) == 0

    shown = ids(page)
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.keyboard.press("m")
    assert page.evaluate("() => document.activeElement.name") == "to"
    page.select_option("select[name=to]", str(big_run.small))
    page.keyboard.press("Enter")
    page.wait_for_selector(".flash.ok:has-text('Moved 2')")
    assert page.locator(f"#{shown[0]}").count() == 0 and page.locator(f"#{shown[1]}").count() == 0

    page.locator(f"#{shown[2]}").click()
    page.keyboard.press("c")
    page.wait_for_selector(".flash.ok:has-text('Confirmed 1')")
    with api(big_run.server) as client:
        for name, cluster in ((shown[0], big_run.small), (shown[2], big_run.big)):
            info = client.get(f"/api/images/{name[4:]}", params={"run": run, "similar": 0}).json()
            assert info["image_class"]["cluster"] == cluster
            assert info["image_class"]["set_by_person"] is True


def test_viewer_arrows_and_similar_images(class_page: Any) -> None:
    page = class_page.page
    shown = ids(page)
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    viewer = page.locator("#viewer")
    assert viewer.is_visible()
    page.wait_for_selector("[data-viewer-class]")
    assert "% confident" in page.inner_text("[data-viewer-class]")
    wait_for(page, "() => document.querySelectorAll('[data-viewer-similar] .thumb').length > 0")
    big = page.locator("[data-viewer-img]").bounding_box()
    assert big["width"] >= 300  # a 28 px digit, shown large
    assert viewer.get_attribute("data-image") == shown[1][4:]
    page.keyboard.press("ArrowRight")
    assert viewer.get_attribute("data-image") == shown[2][4:]
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert viewer.get_attribute("data-image") == shown[0][4:]
    page.locator("[data-viewer-similar] .thumb").first.click()
    wait_for(page, f"() => document.getElementById('viewer').dataset.image != '{shown[0][4:]}'")
    page.keyboard.press("Escape")
    assert not viewer.is_visible()

    # The ↗ of a thumbnail opens the viewer too, not another page.
    page.locator(f"#{shown[3]}").hover()
    page.locator(f"#{shown[3]} a.open").click()
    assert viewer.is_visible() and viewer.get_attribute("data-image") == shown[3][4:]
    page.click("[data-viewer-close]")


def test_thumbnail_size_control(class_page: Any) -> None:
    page = class_page.page
    small = float(page.evaluate(COLUMNS)[0].removesuffix("px"))
    page.eval_on_selector(
        "#thumb-size",
        "el => { el.value = 240; el.dispatchEvent(new Event('input', {bubbles: true})); }",
    )
    cell = float(page.evaluate(COLUMNS)[0].removesuffix("px"))
    assert small < 120 and cell >= 240
    box = page.locator(".thumb img").first.bounding_box()
    assert 220 <= box["width"] <= cell
    page.reload()
    page.wait_for_selector(".thumb")
    assert float(page.evaluate(COLUMNS)[0].removesuffix("px")) >= 240  # kept for the next visit


def test_sort_and_filters(class_page: Any, big_run: BigRun) -> None:
    page, run, big = class_page.page, big_run.run_id, big_run.big
    page.select_option("select[name=sort]", "newest")
    page.wait_for_url("**sort=newest**")
    page.wait_for_selector(".thumb")
    for _ in range(2):  # later pages keep the order: the lazy loader carries it
        before = len(ids(page))
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        wait_for(page, f"document.querySelectorAll('.thumb').length > {before}")
    shown = [int(i[4:]) for i in ids(page)]
    assert shown == sorted(shown, reverse=True) and len(set(shown)) == len(shown)

    page.fill("input[name=q]", "digit-0011")
    page.click("#class-filters button")
    page.wait_for_url("**q=digit-0011**")
    with api(big_run.server) as client:
        infos = {
            int(i[4:]): client.get(f"/api/images/{i[4:]}", params={"run": run, "similar": 0}).json()
            for i in ids(page)
        }
        unconfirmed = [i for i, info in infos.items() if not info["image_class"]["set_by_person"]]
        confirmed = unconfirmed.pop(0)
        assert client.post(f"/api/runs/{run}/confirm", json={"image_ids": [confirmed]}).is_success
    assert 0 < len(infos) <= 10 and all("digit-0011" in i["file_name"] for i in infos.values())

    page.check("input[name=unconfirmed]")  # applies at once
    page.wait_for_url("**unconfirmed=1**")
    assert sorted(int(i[4:]) for i in ids(page)) == sorted(unconfirmed)

    page.goto(f"{big_run.server}/runs/{run}/classes/{big}?sort=name")
    first = [int(i[4:]) for i in ids(page)[:5]]
    with api(big_run.server) as client:
        got = [
            client.get(f"/api/images/{i}", params={"similar": 0}).json()["file_name"] for i in first
        ]
    assert got == sorted(got)

    page.goto(f"{big_run.server}/runs/{run}/classes")
    page.fill("#class-filter", "cluster-1")
    assert page.locator(".class-card:visible").count() == 1
