"""Actions (only with ``hepstack serve --allow-actions``): a session presents the token once (the login
form), then may roll back or cancel. Every POST passed the CSRF and same-origin checks of
:mod:`hepstack.web.app` before it gets here; the token is compared in constant time and never echoed."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from flask import Flask, abort, redirect, render_template, request, session
from werkzeug.wrappers import Response

from hepstack.errors import HepstackError
from hepstack.pipeline.address import parse_address
from hepstack.web import security

if TYPE_CHECKING:
    from hepstack.pipeline.address import Address
    from hepstack.pipeline.db import StateDB
    from hepstack.web.data import Sources
    from hepstack.web.settings import Settings

log = logging.getLogger("hepstack.web")


def register(app: Flask, sources: Sources, settings: Settings) -> None:
    token = settings.token or ""

    @app.get("/login")
    def login_form() -> str:
        return render_template("login.html", settings=settings, failed=False)

    @app.post("/login")
    def login() -> Response | tuple[str, int]:
        if not security.same(request.form.get("token"), token):
            log.warning("dashboard: a login with a wrong token was refused")
            return render_template("login.html", settings=settings, failed=True), 403
        session.clear()
        session["csrf"] = security.new_csrf()  # a fresh session: no fixation
        session["actions"] = True
        return redirect("/", code=303)

    @app.post("/logout")
    def logout() -> Response:
        session.clear()
        return redirect("/", code=303)

    @app.post("/actions/<regex('rollback|cancel'):action>")
    def act(action: str) -> Response | tuple[str, int]:
        if not session.get("actions"):
            abort(403, description="actions need the token: log in first (/login)")
        target = request.form.get("target", "")
        database = sources.database()
        if database is None:
            abort(404, description="no pipeline state")
        try:
            address = parse_address(target)
            said = _rollback(database, address) if action == "rollback" else _cancel(database, address)
        except HepstackError as exc:
            return render_template("done.html", settings=settings, target=target, said=None, error=exc), 400
        log.info("dashboard: %s %s: %s", action, target, said)
        return render_template("done.html", settings=settings, target=target, said=said, error=None), 200


def _rollback(database: StateDB, address: Address) -> str:
    from hepstack.pipeline.graph import DefinitionCache
    from hepstack.pipeline.rollback import apply_rollback, graph_of, matching, plan_rollback

    with database.write() as connection:
        graph = graph_of(connection, address, DefinitionCache())
        chosen = matching(graph, address)
        if not chosen:
            raise HepstackError(f"no process instance matches {address}")
        plan = plan_rollback(graph, chosen)
        done = apply_rollback(connection, plan)
    chosen_and_downstream = f"{len(plan.chosen)} chosen, {len(plan.downstream)} downstream"
    return f"rolled back {len(done)} process instance(s) ({chosen_and_downstream})"


def _cancel(database: StateDB, address: Address) -> str:
    from hepstack.pipeline.cancel import cancel

    return cancel(database, address)
