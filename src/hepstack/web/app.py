"""The dashboard's Flask application: read-only pages, the live fragments they poll, and (only with
``--allow-actions``) the token login and the rollback and cancel actions.

Flask (Pallets; Jinja2 templates autoescape every value, server-rendered pages, no JavaScript build): see
docs/dashboard.md for the choice. :func:`create_app` takes everything it needs; there is no global state.
"""

from __future__ import annotations

import os

from flask import Flask, Response, abort, g, request, session
from werkzeug.exceptions import HTTPException

from hepstack.web import security
from hepstack.web.data import Sources
from hepstack.web.render import configure_templates
from hepstack.web.settings import Settings


def create_app(sources: Sources, settings: Settings) -> Flask:
    """The dashboard for ``sources``; actions are registered only when ``settings.allow_actions``."""
    if settings.allow_actions and not settings.token:
        raise ValueError("actions need a token")
    app = Flask("hepstack.web", static_folder="static", template_folder="templates")
    app.config.update(
        SECRET_KEY=os.urandom(32),  # sessions end with the server
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_NAME="hepstack_session",
        MAX_CONTENT_LENGTH=16 * 1024,
        TEMPLATES_AUTO_RELOAD=False,
    )
    configure_templates(app.jinja_env)
    app.extensions["hepstack"] = (sources, settings)
    hosts = security.allowed_hosts(settings.host, settings.port)
    _guard(app, settings, hosts)
    from hepstack.web import pages

    pages.register(app, sources, settings)
    if settings.allow_actions:
        from hepstack.web import actions

        actions.register(app, sources, settings)
    return app


def _guard(app: Flask, settings: Settings, hosts: set[str]) -> None:
    @app.before_request
    def check_request() -> None:
        if request.host not in hosts:
            abort(400, description=f"this dashboard answers to {', '.join(sorted(hosts))} only")
        if request.method not in ("GET", "HEAD"):
            reason = security.cross_site(dict(request.headers), settings.origin)
            if reason is not None:
                abort(403, description=f"cross-site request refused ({reason})")
            if not security.same(request.form.get(security.CSRF_FIELD), session.get("csrf", "")):
                abort(403, description="the form's CSRF token is missing or wrong; reload the page")
        if "csrf" not in session:
            session["csrf"] = security.new_csrf()
        g.csrf = session["csrf"]

    @app.after_request
    def add_headers(response: Response) -> Response:
        for name, value in security.HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.errorhandler(HTTPException)
    def error_page(exc: HTTPException) -> tuple[str, int]:
        from flask import render_template

        page = render_template(
            "error.html", settings=settings, code=exc.code, name=exc.name, description=exc.description
        )
        return page, exc.code or 500
