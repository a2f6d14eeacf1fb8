"""Access: everything but the login page and static files needs the token; cookie-authenticated
forms need the session's CSRF token; the generated token is kept with 0600 permissions."""

from __future__ import annotations

import stat
from pathlib import Path

from fastapi.testclient import TestClient
from web_samples import TOKEN

from pixclass.config import Settings
from pixclass.web.auth import resolve_app_token, safe_next


def test_pages_redirect_to_login_and_api_says_401(anonymous: TestClient) -> None:
    page = anonymous.get("/runs/1/classes", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/runs/1/classes"
    api = anonymous.get("/api/collections")
    assert api.status_code == 401
    assert api.headers["www-authenticate"] == "Bearer"
    assert "log in" in api.json()["detail"]
    assert anonymous.post("/api/collections", json={"name": "x"}).status_code == 401
    assert anonymous.get("/api/images/1/thumbnail").status_code == 401
    # The login page and the static files are open.
    assert anonymous.get("/login").status_code == 200
    assert anonymous.get("/static/htmx.min.js").status_code == 200


def test_wrong_tokens_are_refused(anonymous: TestClient) -> None:
    wrong = anonymous.get("/api/collections", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    page = anonymous.post("/login", data={"token": "nope"})
    assert page.status_code == 401 and "not the app" in page.text
    assert "pixclass_session" not in anonymous.cookies


def test_bearer_token_needs_no_csrf(api: TestClient) -> None:
    created = api.post("/api/collections", json={"name": "birds"})
    assert created.status_code == 201
    assert created.json()["name"] == "birds"


def test_login_sets_a_session_that_needs_csrf_for_writes(browser: TestClient) -> None:
    assert browser.get("/api/collections").status_code == 200
    forged = browser.post("/api/collections", json={"name": "forged"})
    assert forged.status_code == 403
    assert "CSRF" in forged.json()["detail"]
    form = browser.post("/collections", data={"name": "forged"}, follow_redirects=False)
    assert form.status_code == 403
    headers = {"X-CSRF-Token": browser.csrf}
    ok = browser.post("/api/collections", json={"name": "real"}, headers=headers)
    assert ok.status_code == 201
    as_field = browser.post(
        "/collections",
        data={"name": "by-form", "csrf_token": browser.csrf},
        follow_redirects=False,
    )
    assert as_field.status_code == 303
    names = [c["name"] for c in browser.get("/api/collections").json()]
    assert "forged" not in names and {"real", "by-form"} <= set(names)


def test_logout_needs_csrf_and_ends_the_session(browser: TestClient) -> None:
    assert browser.post("/logout", follow_redirects=False).status_code == 403
    out = browser.post(
        "/logout",
        data={"csrf_token": browser.csrf},
        follow_redirects=False,
    )
    assert out.status_code == 303
    assert browser.get("/api/collections").status_code == 401


def test_login_redirects_only_within_the_site(anonymous: TestClient) -> None:
    response = anonymous.post(
        "/login", data={"token": TOKEN, "next": "//evil.example/x"}, follow_redirects=False
    )
    assert response.headers["location"] == "/"
    assert safe_next("/runs/1/map") == "/runs/1/map"
    assert safe_next("https://evil.example") == "/"


def test_generated_token_is_private_and_stable(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = resolve_app_token(settings)
    assert first.created and first.path is not None and len(first.value) >= 24
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o600
    again = resolve_app_token(settings)
    assert (again.value, again.created) == (first.value, False)
    configured = resolve_app_token(Settings(data_dir=tmp_path / "data", app_token="mine"))
    assert (configured.value, configured.path) == ("mine", None)


def test_api_docs_render_offline_from_local_files(anonymous, api) -> None:
    page = api.get("/docs")
    assert page.status_code == 200
    assert "/static/swagger/swagger-ui-bundle.js" in page.text
    assert "cdn.jsdelivr" not in page.text
    assert anonymous.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
    spec = api.get("/openapi.json").json()
    assert any(path.startswith("/api/") for path in spec["paths"])


def test_api_docs_need_the_token_too(anonymous) -> None:
    assert anonymous.get("/openapi.json").status_code == 401
    page = anonymous.get("/docs", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
