"""DLQ: grouped by route and reason; select, see the dry run, confirm, replay, watch the progress.

The dry run is what `hookline dlq replay --id ... --dry-run` computes, and the replay runs
`operations.dlq.replay_held`, the code behind `hookline dlq replay`.
"""

from __future__ import annotations

import difflib
from collections import Counter
from itertools import zip_longest
from typing import Any

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from hookline.console.current import backend, form_rate
from hookline.operations.dlq import MappingPreview, pretty_json, redact

bp = Blueprint("dlq", __name__)
NAV = ("DLQ", "dlq.index")
DEFAULT_RATE = "10/s"


@bp.get("/dlq")
def index() -> str:
    entries = backend().dlq_entries()
    groups = Counter((e.route or "-", e.reason) for e in entries)
    return render_template("dlq.html", entries=entries, groups=sorted(groups.items()),
                           selected=set(request.args.getlist("id")))


def diff_rows(preview: MappingPreview) -> list[tuple[str, str, bool]]:
    """(before, now, changed) line pairs of the redacted bodies, keys sorted so equal fields line up."""
    def lines(value: Any) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str):
            return value.splitlines()
        return pretty_json(redact(value), sort_keys=True).splitlines()

    old, new = lines(preview.old), lines(preview.new)
    rows: list[tuple[str, str, bool]] = []
    # Aligned like a diff (an added field is one marked line, not every line after it).
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op == "equal":
            rows += [(line, line, False) for line in old[i1:i2]]
        else:
            rows += [(a, b, True) for a, b in zip_longest(old[i1:i2], new[j1:j2], fillvalue="")]
    return rows


@bp.get("/dlq/preview")
def preview() -> str:
    ids = [i for i in request.args.getlist("id") if i]
    if not ids:
        abort(400, "select at least one DLQ event to replay")
    live = request.args.get("enrich") == "live"
    entries, summary, previews, has_config = backend().dry_run(ids, live_enrichment=live)
    return render_template("dlq_preview.html", ids=ids, has_config=has_config, config_file=backend().config_file(),
                           live=live, not_run=any(p.status == "enrichment_not_run" for p in previews),
                           rows=[(e, r, p, diff_rows(p)) for e, r, p in
                                 zip(entries, summary.results, previews, strict=True)],
                           would_send=summary.count("would_send"), default_rate=DEFAULT_RATE)


@bp.post("/dlq/replay")
def start() -> Response:
    ids = [i for i in request.form.getlist("id") if i]
    if not ids:
        abort(400, "select at least one DLQ event to replay")
    if request.form.get("confirm") != "yes":
        abort(400, "tick the confirmation box: replay sends these events to their destinations again")
    rate = form_rate()
    try:
        job = backend().start_replay(ids, rate)
    except PermissionError as e:
        abort(403, f"read-only: {e}")
    return redirect(url_for("dlq.progress", job_id=job.id), code=303)


@bp.get("/dlq/replay/<job_id>")
def progress(job_id: str) -> str:
    job = backend().job(job_id)
    if job is None:
        abort(404, "no such replay (replays are kept while this console runs)")
    return render_template("dlq_progress.html", job=job.to_dict())


@bp.get("/dlq/replay/<job_id>.json")
def progress_json(job_id: str) -> Response:
    job = backend().job(job_id)
    if job is None:
        abort(404)
    return jsonify(job.to_dict())
