"""Where a notification may connect: never link-local or cloud-metadata addresses, private and
loopback ones only when ``Settings.notify_allow_private`` says so.

The check sits where every connection is made rather than on the URL: Apprise's plugins reach
hosts that their URLs do not name (``slack://`` posts to hooks.slack.com, ``ntfy://topic`` to
ntfy.sh), and a host name can resolve to any address. While a send runs,
``guarded_connections`` makes the two functions that HTTP (urllib3) and SMTP (``smtplib``) open
sockets through resolve the host themselves, refuse it if any of its addresses is off limits,
and connect to the very address they checked — so a name that resolves to a public address for
the check and to 169.254.169.254 for the connection (DNS rebinding) gets nowhere. Connections
made by other threads, or outside a send, are left alone.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import urllib3.util.connection as urllib3_connection

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# The instance-metadata services of the big clouds, refused whatever the settings say
# (AWS/GCP/Azure/OpenStack 169.254.169.254, ECS task metadata, AWS over IPv6, Alibaba, Azure's
# wire server).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.170.2",
        "fd00:ec2::254",
        "100.100.100.200",
        "168.63.129.16",
    )
)
PRIVATE_HINT = "set notify_allow_private (PIXCLASS_NOTIFY_ALLOW_PRIVATE=true) to allow it"


class AddressRefused(ConnectionRefusedError):
    """A notification tried to connect to an address it may not reach."""


def refusal(address: IPAddress, allow_private: bool) -> str | None:
    """Why a send may not connect to ``address``; None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return f"{address} is a cloud metadata address (always refused)"
    if address.is_link_local:
        return f"{address} is a link-local address (always refused)"
    if address.is_global or allow_private:
        return None
    kind = "loopback" if address.is_loopback else "private or reserved"
    return f"{address} is a {kind} address; {PRIVATE_HINT}"


@dataclass
class _Policy:
    allow_private: bool
    refused: list[str] = field(default_factory=list)


_policy: contextvars.ContextVar[_Policy | None] = contextvars.ContextVar(
    "pixclass_notify_address_policy", default=None
)


@contextlib.contextmanager
def guarded_connections(allow_private: bool) -> Iterator[list[str]]:
    """Check every connection this context (and threads started with a copy of it) opens.

    Yields the list of refusals made meanwhile, one short reason each.
    """
    _install()
    policy = _Policy(allow_private)
    token = _policy.set(policy)
    try:
        yield policy.refused
    finally:
        _policy.reset(token)


def _resolve_checked(host: str, port: int, policy: _Policy) -> list[str]:
    """The addresses of ``host`` to connect to, all of them allowed; raises if any is not."""
    bare = host.strip("[]")
    try:
        infos = socket.getaddrinfo(bare, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise  # a name that does not resolve fails as it would have anyway
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for text in addresses:
        reason = refusal(ipaddress.ip_address(text.split("%")[0]), policy.allow_private)
        if reason is not None:
            shown = bare if bare == text else f"{bare} ({text})"
            message = f"refused to connect to {shown}: {reason}"
            policy.refused.append(message)
            raise AddressRefused(message)
    return addresses


def _guard(original: Callable[..., socket.socket]) -> Callable[..., socket.socket]:
    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        policy = _policy.get()
        if policy is None:
            return original(address, *args, **kwargs)
        host, port = address[0], address[1]
        error: OSError | None = None
        for checked in _resolve_checked(host, port, policy):
            try:
                return original((checked, port), *args, **kwargs)
            except OSError as exc:  # try the next address, as the originals do
                error = exc
        raise error or OSError(f"no address found for {host}")

    create_connection.pixclass_guard = True  # type: ignore[attr-defined]
    return create_connection


_install_lock = threading.Lock()


def _install() -> None:
    with _install_lock:
        modules: tuple[Any, ...] = (socket, urllib3_connection)
        for module in modules:
            current = module.create_connection
            if not getattr(current, "pixclass_guard", False):
                module.create_connection = _guard(current)
