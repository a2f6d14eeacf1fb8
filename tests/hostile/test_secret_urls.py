"""Secrets in target URLs that Apprise's privacy form leaves in clear: header values, payload
fields and query arguments. Each is masked when shown and refused when it would be stored."""

from __future__ import annotations

import pytest

from pixclass.errors import InputError
from pixclass.notify import normalise_targets, parse_target

CANARY = "CANARYx7Q9"

INLINE = [
    f"json://127.0.0.1:8090/h?+X-Token={CANARY}",
    f"json://127.0.0.1:8090/h?+Authorization=Bearer%20{CANARY}",
    f"form://127.0.0.1:8090/h?:api_key={CANARY}",
    f"xml://127.0.0.1:8090/h?-password={CANARY}",
    f"json://user:{CANARY}@127.0.0.1:8090/h",
]


@pytest.mark.parametrize("url", INLINE)
def test_display_masks_every_secret(url: str) -> None:
    shown = parse_target(url).display
    assert CANARY not in shown
    assert "****" in shown


@pytest.mark.parametrize("url", INLINE)
def test_a_secret_written_out_is_refused_for_storing(url: str) -> None:
    with pytest.raises(InputError, match="placeholder") as caught:
        normalise_targets([url])
    assert CANARY not in str(caught.value)


def test_a_placeholder_is_kept_and_shown_as_written() -> None:
    url = "json://127.0.0.1:8090/h?+X-Token={secret:hook}&:name=plain"
    stored = normalise_targets([url])
    assert stored == [{"url": url, "tags": []}]
    shown = parse_target(url).display
    assert "{secret:hook}" in shown and "name=plain" in shown
