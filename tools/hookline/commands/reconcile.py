"""`hookline reconcile list` / `hookline reconcile run SOURCE`: webhooks that never arrived (docs/missed-webhooks.md).

`run` against the running `hookline dev` reconciles in this process, on the emulator's tables and queue
(as the dev scheduler's tick would); against a deployed stack it invokes the stack's sync function with
{"reconcile": SOURCE} (its role and secrets) and follows the run's checkpoint meanwhile.
Exit status: 0 when the run completed, 1 otherwise.
"""

from __future__ import annotations

import argparse
from typing import Any

from hookline.commands import _jobs
from hookline.commands._jobs import job_config, sync_store
from hookline.commands._ops import CommandError, emit_json, friendly, shorten, stack_for, table
from hookline.operations.stack import StackInfo
from hookline.operations.timeparse import format_epoch


def add_parser(sub: argparse._SubParsersAction) -> None:
    _jobs.add_list_run_parsers(
        sub, "reconcile", "find webhooks a provider never delivered: list runs, or run one now",
        __doc__.splitlines()[0],
        list_help="each reconciling source: last run, lookback, missed count, next run",
        list_config_help="configuration file (default: the one `hookline dev` runs)",
        run_help="reconcile one source now, with a progress bar (exit 0 completed)",
        target=("source", "the source's name (sources.<name>.reconcile in the configuration)"),
        run_list=run_list, run_one=run_one)


@friendly
def run_list(args: argparse.Namespace) -> int:
    # lazy: every `hookline` run imports all command modules
    from hookline.reconcile.runner import reconciling, state_name

    stack = stack_for(args)
    cfg, _ = job_config(args, stack)
    names = reconciling(cfg)
    states = sync_store(stack).all_states([state_name(n) for n in names]) if names else {}
    rows = []
    for n in names:
        st, rc = states.get(state_name(n)) or {}, cfg.sources[n].reconcile
        last = st.get("last_run") or {}
        rows.append({"source": n, "provider": cfg.sources[n].provider, "every": rc.every, "lookback": rc.lookback,
                     "last_run": last.get("started_at"), "status": last.get("status"), "seen": last.get("seen"),
                     "missed": last.get("missed"), "next_run": st.get("next_run_at"),
                     "resumes": bool(st.get("checkpoint")),
                     "running": _jobs.running(st), "last_error": st.get("last_error")})
    if args.json:
        emit_json(rows)
        return 0
    if not rows:
        print("no source reconciles (sources.<name>.reconcile in the configuration; docs/missed-webhooks.md)")
        return 0
    table(["SOURCE", "PROVIDER", "EVERY", "LOOKBACK", "LAST RUN", "STATUS", "SEEN", "MISSED", "NEXT RUN", "LAST ERROR"],
          [[r["source"], r["provider"], r["every"], r["lookback"], format_epoch(r["last_run"]), _jobs.status_cell(r),
            r["seen"], r["missed"], format_epoch(r["next_run"]), shorten(r["last_error"], 50)] for r in rows],
          right=(6, 7))
    return 0


@friendly
def run_one(args: argparse.Namespace) -> int:
    stack = stack_for(args)
    return _jobs.report_run(args, _run_local(args, stack) if stack.local else _run_remote(args, stack), _summary)


def _summary(run: dict[str, Any]) -> str:
    return (f"reconcile {run['source']}: {run['status']}{' (resumed)' if run.get('resumed') else ''} — "
            f"{run.get('pages', 0)} page(s), {run.get('seen', 0)} listed, {run.get('arrived', 0)} arrived, "
            f"{run.get('missed', 0)} missed (delivered now or redelivery asked), lookback {run.get('lookback')}")


def _run_local(args: argparse.Namespace, stack: StackInfo) -> dict[str, Any]:
    cfg, path = job_config(args, stack)
    src = cfg.sources.get(args.source)
    if src is None or src.reconcile is None:
        raise CommandError(f"source {args.source!r} has no reconcile: in {path}; add sources.{args.source}.reconcile "
                           "(docs/missed-webhooks.md)")
    svc = _jobs.services_beside_dev(stack, cfg, path)
    # lazy: every `hookline` run imports all command modules
    from hookline.reconcile.runner import run_job
    from hookline.reconcile.service import build_runtime

    return _jobs.run_here(f"reconcile {args.source}",
                          lambda run: f"page {run.pages}, {run.seen} listed, {run.missed} missed",
                          lambda on_page: run_job(args.source, cfg, build_runtime(svc, on_page=on_page))).to_dict()


def _run_remote(args: argparse.Namespace, stack: StackInfo) -> dict[str, Any]:
    # lazy: every `hookline` run imports all command modules
    from hookline.reconcile.runner import state_name

    store = sync_store(stack)
    return _jobs.run_deployed(stack, "reconcile", args.source, {"reconcile": args.source}, "reconciled",
                              lambda: "running" if store.get_state(state_name(args.source)).get("checkpoint") else None)
