"""The web application: review, name and fix the classes pixclass found (FastAPI + Jinja + htmx).

from pixclass.web import create_app
app = create_app(settings)
"""

from __future__ import annotations

from pixclass.web.app import create_app

__all__ = ["create_app"]
