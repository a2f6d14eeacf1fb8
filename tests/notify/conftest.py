"""Fixtures: real receivers on loopback. HTTP comes from pytest-httpserver's ``httpserver``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from notify_receivers import SmtpServer, start_smtp


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """Accepts any login and keeps every message."""
    yield from start_smtp(accept_login=True)


@pytest.fixture
def outlook_like_smtp() -> Iterator[SmtpServer]:
    """Refuses every login the way Outlook/Exchange Online does (535 5.7.139)."""
    yield from start_smtp(accept_login=False)
