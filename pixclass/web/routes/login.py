"""Logging in and out: the token from the configuration, exchanged for a signed session cookie."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from pixclass.web.auth import SESSION_COOKIE, SESSION_MAX_AGE, authenticate, safe_next
from pixclass.web.deps import ContextDep, render

router = APIRouter(include_in_schema=False)

# A wrong token costs the guesser this long (the token itself is 32 random characters).
FAILED_LOGIN_DELAY = 0.5


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", next=safe_next(next), error=None)


@router.post("/login")
async def login(
    request: Request, ctx: ContextDep, token: str = Form(""), next: str = Form("/")
) -> Response:
    if not ctx.sessions.token_matches(token):
        await asyncio.sleep(FAILED_LOGIN_DELAY)
        return render(
            request,
            "login.html",
            status_code=401,
            next=safe_next(next),
            error="That is not the app's token. It is printed when `pixclass serve` first "
            "starts and kept in the data dir (app-token), or set as app_token.",
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        ctx.sessions.new_cookie(),
        max_age=SESSION_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=ctx.settings.base_url.startswith("https://"),
    )
    return response


@router.post("/logout")
async def logout(request: Request, ctx: ContextDep) -> Response:
    await authenticate(request, ctx.sessions)  # a forged form cannot log you out
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
