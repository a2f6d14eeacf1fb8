"""The secrets of a target URL that Apprise's privacy form leaves in clear.

Apprise masks the passwords and tokens it knows a service to have, but a generic webhook
(``json://``, ``form://``, ``xml://``) carries its secrets where Apprise does not look: in header
values (``?+X-Token=...``, ``?+Authorization=Bearer ...``), in extra payload fields
(``?:api_key=...``) and in query arguments (``?-token=...``, ``?password=...``). Here every
``+Header`` value counts as a secret, and any other query value whose name says password, token,
key, secret, signature, credential, cookie or session. Such a value is shown as ``****``, and
``inline_query_secrets`` says whether one is written out instead of being a placeholder.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlsplit

MASK = "****"

# Name words that mark a query value as a secret. Over-matching only masks a harmless value;
# under-matching would show a secret.
_SECRET_NAME = re.compile(
    r"pass|pwd|token|secret|key|signature|sig$|credential|cookie|session|bearer|authori[sz]",
    re.IGNORECASE,
)
# Apprise's own switches whose value is a mode, never a secret (ntfy's auth=token|basic).
_MODE_NAMES = frozenset({"auth"})


def is_secret_name(name: str) -> bool:
    """Whether a query argument named ``name`` holds a secret (``+Header`` values always do)."""
    if name.startswith("+"):
        return True
    bare = name.lstrip(":-").lower()
    return bare not in _MODE_NAMES and bool(_SECRET_NAME.search(bare))


def query_secrets(url: str) -> list[tuple[str, str]]:
    """The (name, value) pairs of the URL's query that hold secrets, unquoted."""
    try:
        query = urlsplit(url).query
    except ValueError:
        query = url.partition("?")[2]
    pairs = parse_qsl(query, keep_blank_values=True)
    return [(name, value) for name, value in pairs if value and is_secret_name(name)]


def mask_query(url: str, keep: tuple[str, ...] = ()) -> str:
    """``url`` with the value of every secret query argument replaced by ``****``.

    A value holding any of ``keep`` (placeholder markers) is left as written.
    """
    base, mark, query = url.partition("?")
    if not mark:
        return url
    query, hash_mark, fragment = query.partition("#")
    kept = []
    for pair in query.split("&"):
        name, equals, value = pair.partition("=")
        secret = equals and value and is_secret_name(unquote(name))
        if secret and not any(marker in unquote(value) for marker in keep):
            value = MASK
        kept.append(f"{name}{equals}{value}")
    return f"{base}?{'&'.join(kept)}{hash_mark}{fragment}"


def inline_query_secrets(url: str, markers: tuple[str, ...]) -> bool:
    """Whether a secret query value is written out rather than a placeholder (a marker)."""
    return any(not any(marker in value for marker in markers) for _, value in query_secrets(url))


def query_secret_values(url: str) -> set[str]:
    """The secret query values of a resolved URL, as written and quoted (for log redaction)."""
    values: set[str] = set()
    for _, value in query_secrets(url):
        values.update({value, quote(value, safe="")})
    return values
