"""Real receivers on loopback for the notification and job tests: an SMTP server (aiosmtpd)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# What Exchange Online answers a basic-auth SMTP login since Microsoft turned it off.
OUTLOOK_535 = "535 5.7.139 Authentication unsuccessful, basic authentication is disabled"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class SmtpServer:
    """A running SMTP server and what it saw."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    sessions: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle_data(self, content: bytes) -> None:
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.messages.append(parsed)


def start_smtp(accept_login: bool) -> Iterator[SmtpServer]:
    server = SmtpServer(port=free_port())

    class Handler:
        async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
            server.handle_data(envelope.original_content or envelope.content)
            return "250 OK"

    def authenticator(
        smtp: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        with server.lock:
            server.sessions.add(id(session))
            server.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        if accept_login:
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False, message=OUTLOOK_535)

    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=server.port,
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
