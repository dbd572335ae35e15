"""The dashboard's read-only pages: pipelines (live), a stream, an instance and its logs, images, studies,
the inventory, the runtime comparison, one evidence line. Every lookup is by a name or id the DB or the
evidence record knows; a file is served only from a study's own directory by its plain name."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask, Response, abort, render_template, send_file

from hepstack.web import data, security

if TYPE_CHECKING:
    from hepstack.web.data import Sources
    from hepstack.web.settings import Settings

# A study's report.html is self-contained (inline style, images as data: URIs): it gets its own policy,
# still without any script.
REPORT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
NAME = r"<regex('[A-Za-z][A-Za-z0-9_-]{0,47}'):name>"


def register(app: Flask, sources: Sources, settings: Settings) -> None:
    from werkzeug.routing import BaseConverter

    class RegexConverter(BaseConverter):
        def __init__(self, url_map: Any, pattern: str) -> None:
            super().__init__(url_map)
            self.regex = pattern

    app.url_map.converters["regex"] = RegexConverter

    def page(template: str, **values: Any) -> str:
        return render_template(template, settings=settings, evidence_href=evidence_href, **values)

    @app.get("/")
    def overview() -> str:
        return page(
            "pipelines.html", pipelines=data.pipelines_overview(sources), used_states=data.used_states
        )

    @app.get("/pipelines/" + NAME)
    def pipeline(name: str) -> str:
        view = data.pipeline_view(sources, name) or abort(404, description=f"no pipeline {name}")
        return page("pipeline.html", view=view)

    @app.get("/pipelines/" + NAME + "/live")
    def pipeline_live(name: str) -> str:
        view = data.pipeline_view(sources, name) or abort(404)
        return page("fragments/pipeline_live.html", view=view)

    @app.get("/pipelines/" + NAME + "/status.json")
    def pipeline_status(name: str) -> Any:
        view = data.pipeline_view(sources, name) or abort(404)
        return view["matrix"]

    @app.get("/pipelines/" + NAME + "/streams/<path:address>")
    def stream(name: str, address: str) -> str:
        view = data.stream_view(sources, name, address) or abort(
            404, description=f"no stream {name}/{address}"
        )
        return page("stream.html", view=view)

    @app.get("/pipelines/" + NAME + "/live/<path:address>")
    def stream_live(name: str, address: str) -> str:
        view = data.stream_view(sources, name, address) or abort(404)
        return page("fragments/stream_live.html", view=view)

    @app.get("/instances/<int:instance_id>")
    def instance(instance_id: int) -> str:
        view = data.instance_view(sources, instance_id) or abort(404, description="no such process instance")
        return page("instance.html", view=view)

    @app.get("/logs/<int:attempt_id>")
    def log(attempt_id: int) -> Response:
        found = data.attempt_log(sources, attempt_id) or abort(404, description="no such attempt")
        _row, excerpt = found
        if excerpt["text"] is None:
            abort(404, description=excerpt["error"])
        response = Response(excerpt["text"], mimetype="text/plain")
        response.headers["Content-Disposition"] = "inline"
        return response

    @app.get("/images")
    def images() -> str:
        return page("images.html", view=data.images_view(sources))

    @app.get("/studies")
    def studies() -> str:
        return page("studies.html", studies=data.studies_view(sources))

    @app.get("/studies/<regex('e[0-9]{1,9}'):label>")
    def study(label: str) -> str:
        view = data.study_view(sources, label) or abort(404, description=f"no study recorded as {label}")
        return page("study.html", view=view)

    @app.get("/studies/<regex('e[0-9]{1,9}'):label>/files/<path:file_name>")
    def study_file(label: str, file_name: str) -> Response:
        view = data.study_view(sources, label) or abort(404)
        path = security.file_in(view["directory"], file_name, data.STUDY_FILES)
        if path is None:
            abort(404, description="no such file in the study's report directory")
        response = send_file(path, max_age=0)
        if path.name.endswith(".html"):
            response.headers["Content-Security-Policy"] = REPORT_POLICY
        return response

    @app.get("/inventory")
    def inventory() -> str:
        return page("inventory_page.html", **_inventory(sources))

    @app.get("/runtimes")
    def runtimes() -> str:
        from hepstack.inventory.compare import ASPECTS, compare_runtimes

        return page("runtimes.html", rows=compare_runtimes(sources.context), aspects=ASPECTS)

    @app.get("/evidence/<regex('e[0-9]{1,9}'):label>")
    def evidence(label: str) -> str:
        line = data.evidence_line(sources, label) or abort(404, description=f"no evidence line {label}")
        return page("evidence.html", line=line)


def evidence_href(label: str) -> str:
    """Where a mark's evidence is: an evidence line's page, or the pipeline instance's stream."""
    if label.startswith("e") and label[1:].isdigit():
        return f"/evidence/{label}"
    pipeline, _, rest = label.partition("/")
    stream = rest.rsplit(":", 1)[0]
    return f"/pipelines/{pipeline}/streams/{stream}"


def _inventory(sources: Sources) -> dict[str, Any]:
    from hepstack.errors import HepstackError
    from hepstack.inventory import render
    from hepstack.inventory.facts import build_inventory
    from hepstack.inventory.model import load_inventory

    if sources.inventory_file is None:
        return {"inventory": None, "problem": "start the dashboard with --inventory FILE to see it"}
    try:
        built = build_inventory(load_inventory(sources.inventory_file), sources.context)
    except HepstackError as exc:
        return {"inventory": None, "problem": str(exc)}
    return {
        "inventory": built,
        "problem": None,
        "cells": render.cells,
        "mark": render.mark,
        "image_text": render.image_text,
    }
