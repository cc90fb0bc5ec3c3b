"""The staff review web page: server-rendered FastAPI + Jinja2, no front-end build step.

Kept import-light (the migration imports ``ledger.web.models``): the app itself is
built by ``ledger.web.app.create_app``.
"""

from __future__ import annotations


def create_app(settings, **kwargs):
    from ledger.web.app import create_app as _create_app

    return _create_app(settings, **kwargs)
