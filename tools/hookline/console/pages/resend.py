"""Re-send from the Events page (an event, or search results): dry run, rate, confirmation, progress, as DLQ replay.

The dry run is what `hookline events resend ID... --dry-run` computes and the re-send runs operations/resend.py,
the code behind `hookline events resend`; its progress is the DLQ replay's page (the same job, kind `resend`).
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from hookline.console.current import backend, form_rate
from hookline.operations.dlq import pretty_json, redact

bp = Blueprint("resend", __name__)
DEFAULT_RATE = "10/s"


def _choice() -> tuple[list[str], str | None, bool]:
    values = request.values
    ids = list(dict.fromkeys(i for i in values.getlist("id") if i))
    if not ids:
        abort(400, "select at least one event to re-send")
    return ids, (values.get("route") or "").strip() or None, values.get("force") == "yes"


@bp.get("/resend/preview")
def preview() -> str:
    ids, route, force = _choice()
    live = request.args.get("enrich") == "live"
    plan, previews = backend().resend_dry_run(ids, route=route, force=force, live_enrichment=live)
    rows = [(t, p, pretty_json(redact(p.new)) if p.new is not None else None,
             pretty_json(redact(p.enriched)) if p.enriched else None)
            for t, p in zip(plan.tasks, previews, strict=True)]
    return render_template("resend_preview.html", ids=ids, route=route, force=force, rows=rows,
                           problems=plan.problems, live=live, default_rate=DEFAULT_RATE,
                           not_run=any(p.status == "enrichment_not_run" for p in previews))


@bp.post("/resend")
def start() -> Response:
    ids, route, force = _choice()
    if request.form.get("confirm") != "yes":
        abort(400, "tick the confirmation box: a re-send delivers these events to their destinations again")
    rate = form_rate()
    try:
        job = backend().start_resend(ids, rate, route=route, force=force)
    except PermissionError as e:
        abort(403, f"read-only: {e}")
    return redirect(url_for("dlq.progress", job_id=job.id), code=303)
