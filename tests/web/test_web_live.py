"""Pages that stay true, in chromium: two tabs of one run (a stale write is refused with a message
and nothing the other tab did is undone; the other tab's change shows without a reload), and a
collection's page when its job finishes (runs list and tabs) or images arrive (the count)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from browser_kit import SIZES, BigRun, api, logged_in, wait_for
from web_samples import write_digits

pytestmark = pytest.mark.browser

N_SMALL = 120


def upload(server: str, collection_id: int, folder: Path) -> int:
    with api(server) as client:
        files = [("files", (p.name, p.read_bytes(), "image/png")) for p in sorted(folder.iterdir())]
        added: int = client.post(f"/api/collections/{collection_id}/upload", files=files).json()[
            "added"
        ]
        return added


def cluster(server: str, collection_id: int, k: int) -> int:
    with api(server) as client:
        body = {"n_clusters": k, "features": "pixels", "method": "kmeans", "seed": 0}
        job = client.post(f"/api/collections/{collection_id}/runs", json=body).json()
        deadline = time.monotonic() + 300
        while job["state"] not in ("done", "failed", "cancelled"):
            assert time.monotonic() < deadline, job
            time.sleep(0.5)
            job = client.get(f"/api/jobs/{job['id']}").json()
        assert job["state"] == "done", job
        return int(job["result"]["run_id"])


def sizes(server: str, run_id: int) -> dict[int, int]:
    with api(server) as client:
        return {c["index"]: c["size"] for c in client.get(f"/api/runs/{run_id}/classes").json()}


def cluster_of(server: str, run_id: int, image_id: int) -> int:
    with api(server) as client:
        info = client.get(f"/api/images/{image_id}", params={"run": run_id, "similar": 0}).json()
        return int(info["image_class"]["cluster"])


@pytest.fixture(scope="module")
def three_classes(big_run: BigRun, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, int]:
    """A collection of 120 digits with a run of three classes: (collection id, run id)."""
    folder = tmp_path_factory.mktemp("live")
    write_digits(folder, N_SMALL)
    with api(big_run.server) as client:
        collection_id = int(client.post("/api/collections", json={"name": "live"}).json()["id"])
    assert upload(big_run.server, collection_id, folder) == N_SMALL
    return collection_id, cluster(big_run.server, collection_id, 3)


def first_image(page: Any) -> int:
    return int(page.locator(".thumb input").first.get_attribute("value"))


def test_two_tabs_stale_write_is_refused(chrome: Any, big_run: BigRun, three_classes: Any) -> None:
    server, (_, run) = big_run.server, three_classes
    before = sizes(server, run)
    big, other, third = sorted(before, key=lambda i: -before[i])
    a = logged_in(chrome, server, SIZES["laptop"])
    b = a.page.context.new_page()  # a second tab of the same browser
    for page in (a.page, b):
        page.goto(f"{server}/runs/{run}/classes/{big}")
        page.wait_for_selector(".thumb")
    a.page.evaluate("window.pixclassLive.pause()")  # tab A does not look until it writes

    # Tab B merges `other` into `big`.
    b.goto(f"{server}/runs/{run}/classes")
    b.locator(f"#class-{big} input[name=classes]").check()
    b.locator(f"#class-{other} input[name=classes]").check()
    b.select_option("select[name=into]", str(big))
    b.click("button:text-is('Merge')")
    wait_for(b, "document.querySelectorAll('.class-card').length === 2")
    merged = sizes(server, run)
    assert merged[other] == 0 and merged[big] == before[big] + before[other]

    # Tab A still offers `other`; moving an image there is refused, and A reloads.
    image = first_image(a.page)
    a.page.locator(f"#img-{image}").click()
    a.page.select_option("select[name=to]", str(other))
    a.page.click("button:text-is('Move')")
    a.page.wait_for_selector(".flash.error:has-text('changed in another window — reloaded')")
    assert sizes(server, run) == merged  # the merged-away class did not come back
    assert cluster_of(server, run, image) == big
    wait_for(a.page, f"() => !document.querySelector('select[name=to] option[value=\"{other}\"]')")
    assert f"{merged[big]:,} images" in a.page.inner_text("#class-head")

    # After the reload A's writes go through again, one after another (each answer carries
    # the new version).
    for _ in range(2):
        image = first_image(a.page)
        a.page.locator(f"#img-{image}").click()
        a.page.select_option("select[name=to]", str(third))
        a.page.click("button:text-is('Move')")
        a.page.wait_for_selector(".flash.ok:has-text('Moved 1 image(s)')")
        a.page.wait_for_selector(f"#img-{image}", state="detached")
        assert cluster_of(server, run, image) == third
    # The class head counts A's own moves without a reload.
    now = sizes(server, run)[big]
    wait_for(
        a.page,
        f"() => document.querySelector('[data-class-size]').textContent.startsWith('{now:,} ')",
    )
    assert a.errors == []  # a refused write is a 409 shown in the page, not a console error
    a.page.context.close()


def test_other_tab_change_shows_without_reload(
    chrome: Any, big_run: BigRun, three_classes: Any
) -> None:
    server, (_, run) = big_run.server, three_classes
    now = sizes(server, run)
    big = max(now, key=lambda i: now[i])
    a = logged_in(chrome, server, SIZES["laptop"])
    a.page.goto(f"{server}/runs/{run}/classes/{big}")
    a.page.wait_for_selector(".thumb")
    a.page.evaluate("window.loadedOnce = true")  # gone if the page were loaded again
    image = first_image(a.page)
    with api(server) as client:  # another window (any client) moves the first image away
        to = next(i for i in now if i != big and now[i] > 0)
        assert client.post(
            f"/api/runs/{run}/move", json={"image_ids": [image], "to": to}
        ).is_success
    a.page.wait_for_selector(f"#img-{image}", state="detached", timeout=20_000)
    shows = "() => document.querySelector('[data-class-size]').textContent.startsWith('{} ')"
    wait_for(a.page, shows.format(f"{now[big] - 1:,}"))
    assert a.page.evaluate("window.loadedOnce") is True
    assert a.errors == []
    a.page.context.close()


def test_collection_page_follows_its_job_and_uploads(
    chrome: Any, big_run: BigRun, tmp_path: Path
) -> None:
    server = big_run.server
    with api(server) as client:
        collection_id = int(client.post("/api/collections", json={"name": "job"}).json()["id"])
    write_digits(tmp_path / "first", 60)
    write_digits(tmp_path / "more", 25, start=60)
    assert upload(server, collection_id, tmp_path / "first") == 60
    a = logged_in(chrome, server, SIZES["laptop"])
    page = a.page

    # The upload page counts images that arrive while it is open.
    page.goto(f"{server}/collections/{collection_id}/upload")
    assert "60 images" in page.inner_text("#upload-head")
    assert upload(server, collection_id, tmp_path / "more") == 25
    page.wait_for_selector("#upload-head:has-text('85 images')", timeout=20_000)

    # The runs page: start a run; when it is done the runs list and the tabs follow.
    page.goto(f"{server}/collections/{collection_id}")
    assert "No runs yet" in page.inner_text("#runs")
    assert page.locator("#tabs span.disabled", has_text="Classes").count() == 1
    page.select_option("select[name=features]", "pixels")
    page.fill("input[name=k]", "2")
    page.select_option("select[name=method]", "kmeans")
    page.click("text=Start clustering")
    page.wait_for_selector("text=Open the classes", timeout=300_000)
    page.wait_for_selector("#runs .badge.done", timeout=20_000)
    page.wait_for_selector("#tabs a:text-is('Classes')")
    assert "No runs yet" not in page.inner_text("#runs")
    assert a.errors == []
    page.context.close()
