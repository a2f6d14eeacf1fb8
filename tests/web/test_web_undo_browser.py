"""Undo in a real browser (chromium): a rename shows an Undo toast; Ctrl+Z undoes the newest
correction and the page says what was undone; a move on a class page offers Undo too."""

from __future__ import annotations

from typing import Any

import pytest
from browser_kit import SIZES, BigRun, api, logged_in, wait_for

pytestmark = pytest.mark.browser


def test_undo_toast_and_ctrl_z(chrome: Any, big_run: BigRun) -> None:
    watched = logged_in(chrome, big_run.server, SIZES["laptop"])
    page = watched.page
    page.goto(f"{big_run.server}/runs/{big_run.run_id}/classes")
    card = page.locator(f"#class-{big_run.small}")
    card.locator("input[name=name]").fill("to be undone")
    card.locator("button", has_text="Save").click()
    page.wait_for_selector(".class-name:text-is('to be undone')")
    page.wait_for_selector(".undo-toast [data-undo]")
    page.keyboard.press("Control+z")
    page.wait_for_selector(".undo-toast:has-text('Undone: renamed')")
    assert page.locator(".class-name:text-is('to be undone')").count() == 0
    with api(big_run.server) as client:
        log = client.get(f"/api/runs/{big_run.run_id}/corrections").json()
        assert log[0]["kind"] == "rename" and log[0]["undone"]

    # A move from a class page: the toast's Undo button puts the image back.
    page.goto(f"{big_run.server}/runs/{big_run.run_id}/classes/{big_run.small}")
    page.wait_for_selector(".thumb")
    moved = page.locator(".thumb input").first.get_attribute("value")
    page.locator(".thumb").first.click()
    page.select_option("select[name=to]", str(big_run.big))
    page.click("button:text-is('Move')")
    page.wait_for_selector(".undo-toast [data-undo]")
    page.click(".undo-toast [data-undo]")
    page.wait_for_selector(".undo-toast:has-text('Undone: moved')")
    wait_for(page, f"document.querySelector('#img-{moved}') !== null")
    assert watched.errors == []
    page.context.close()
