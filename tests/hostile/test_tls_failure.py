"""A TLS certificate the client refuses is a permanent failure with a clear reason, not retried."""

from __future__ import annotations

from pixclass.notify.failures import describe_failure


def test_certificate_failure_is_permanent_and_says_so() -> None:
    entries = [
        (30, "Connection error while submitting the JSON notification."),
        (
            10,
            "Socket Exception: SSLError(SSLCertVerificationError(1, '[SSL: "
            "CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate "
            "(_ssl.c:1000)'))",
        ),
    ]
    failure = describe_failure(entries)
    assert failure.permanent
    assert failure.text.startswith("the server's TLS certificate was refused (self-signed")
    assert "verify=no" in failure.text
