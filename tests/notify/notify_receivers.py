"""The loopback receivers now live in ``tests/loopback_receivers.py``, shared with the job tests."""

from __future__ import annotations

from loopback_receivers import OUTLOOK_535, SmtpServer, free_port, start_smtp

__all__ = ["OUTLOOK_535", "SmtpServer", "free_port", "start_smtp"]
