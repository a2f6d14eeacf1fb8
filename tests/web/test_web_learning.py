"""Learning from the person through the API, on a real clustered collection: a merge, a split, a
move and a rename are each undone back to the exact classes and members of before; a taken name
is a 409 naming the class that has it; the log says who did what; a learn job makes a new run
that keeps what the person placed and named; the review queue says why each image is there."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def state(api: TestClient) -> dict[int, tuple[Any, ...]]:
    """Each class: its name, size and members with their confidence and flag."""
    found = {}
    for card in api.get("/api/runs/1/classes").json():
        page = api.get(f"/api/runs/1/classes/{card['index']}/images", params={"limit": 5000})
        members = sorted((m["image_id"], m["confidence"], m["set_by_person"]) for m in page.json())
        found[card["index"]] = (card["name"], card["size"], tuple(members))
    return found


def test_each_correction_is_undone_exactly(api: TestClient) -> None:
    start = state(api)
    some = [m[0] for m in start[0][2][:3]]
    others = [m[0] for m in start[6][2][:3]]
    steps = [
        lambda: api.post("/api/runs/1/merge", json={"classes": [3, 4], "into": 1}),
        lambda: api.post("/api/runs/1/classes/0/split", json={"k": 2}),
        lambda: api.post("/api/runs/1/move", json={"image_ids": some, "to": 5}),
        lambda: api.patch("/api/runs/1/classes/2", json={"name": "twos"}),
        lambda: api.post("/api/runs/1/confirm", json={"image_ids": others}),
    ]
    seen = [start]
    for step in steps:
        assert step().status_code == 200
        seen.append(state(api))
    assert len({repr(s) for s in seen}) == len(seen)  # every step changed something
    log = api.get("/api/runs/1/corrections").json()
    assert [e["kind"] for e in log] == ["confirm", "rename", "move", "split", "merge"]
    assert all(e["who"] == "web (bearer)" and not e["undone"] for e in log)
    for expected in reversed(seen[:-1]):
        undone = api.post("/api/runs/1/undo")
        assert undone.status_code == 200 and undone.json()["undone"]
        assert state(api) == expected
    nothing = api.post("/api/runs/1/undo")
    assert nothing.status_code == 404 and "no correction left to undo" in nothing.json()["detail"]


def test_merge_is_no_confirmation(api: TestClient) -> None:
    before = state(api)
    assert api.post("/api/runs/1/merge", json={"classes": [3], "into": 1}).status_code == 200
    merged = {m[0]: m for m in state(api)[1][2]}
    for image_id, confidence, person in before[3][2] + before[1][2]:
        assert merged[image_id] == (image_id, confidence, person)
    review = {i["image_id"] for i in api.get("/api/runs/1/review", params={"limit": 1000}).json()}
    assert {m[0] for m in before[3][2]} <= review  # still waiting for a person


def test_a_taken_name_is_a_conflict(api: TestClient) -> None:
    assert api.patch("/api/runs/1/classes/2", json={"name": "twos"}).status_code == 200
    taken = api.patch("/api/runs/1/classes/3", json={"name": "twos"})
    assert taken.status_code == 409
    assert "class 2 (twos)" in taken.json()["detail"]
    assert api.get("/api/runs/1/classes/3").json()["name"] is None


def test_learn_job_keeps_what_the_person_placed(api: TestClient) -> None:
    start = state(api)
    moved = [m[0] for m in start[0][2][:4]]
    assert api.post("/api/runs/1/move", json={"image_ids": moved, "to": 5}).status_code == 200
    assert api.patch("/api/runs/1/classes/5", json={"name": "fives"}).status_code == 200
    job = api.post("/api/runs/1/learn")
    assert job.status_code == 202, job.text
    done = api.get(f"/api/jobs/{job.json()['id']}").json()
    assert done["state"] == "done", done
    new_id = done["result"]["run_id"]
    assert new_id != 1 and done["result"]["learned_from"] == 1
    cards = {c["index"]: c for c in api.get(f"/api/runs/{new_id}/classes").json()}
    assert cards[5]["name"] == "fives"
    held = api.get(f"/api/runs/{new_id}/classes/5/images", params={"limit": 5000}).json()
    placed = {m["image_id"]: m for m in held}
    assert all(placed[i]["set_by_person"] and placed[i]["confidence"] == 1.0 for i in moved)
    assert sum(c["size"] for c in cards.values()) == sum(s[1] for s in start.values())
    missing = api.post("/api/runs/999/learn")
    assert missing.status_code == 404


def test_review_queue_says_why(api: TestClient, browser: TestClient) -> None:
    queue = api.get("/api/runs/1/review", params={"limit": 30}).json()
    assert len(queue) == 30 and len({i["image_id"] for i in queue}) == 30
    assert all(i["reason"].startswith(("low confidence", "unlike every class")) for i in queue)
    torn = [i for i in queue if i["runner_up"]]
    assert torn and all(
        f"between {i['class_name']} and {i['runner_up']}" in i["reason"] for i in torn
    )
    page = browser.get("/runs/1/review")
    assert page.status_code == 200 and queue[0]["reason"].split(";")[0] in page.text
