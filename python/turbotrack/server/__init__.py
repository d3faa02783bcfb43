"""``turbotrack server``: runs under ``ROOT/turbotrack/`` served over HTTP (docs/server-api.md) by an
ASGI application on uvicorn, with an index of runs in SQLite or PostgreSQL, API keys, and the web
UI's static files. ``routes.py`` is the route table, ``asgi.py`` serves it, ``process.py`` starts it;
docs/server.md says how to deploy it."""

from __future__ import annotations

from .process import serve

__all__ = ["serve"]
