"""`hookline dev`: the whole pipeline on this machine, from template.yaml, with no AWS account and no Docker.

An embedded AWS (moto server) gets the template's tables, queues, bucket and topic; each
function's handler is imported from its CodeUri + Handler and wired to its template
events: HttpApi routes behind a local API Gateway, an SQS poller per SQS event source, a
clock for Schedule / ScheduleV2. One readable line per request and per delivery attempt.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from hookline.commands import dev_banner
from hookline.commands.dev_banner import rel as _rel
from hookline.commands.dev_banner import say as _say
from hookline.commands.dev_demos import port_number
from hookline.commands.validate import DEFAULT_CONFIG, print_problems, template_problems, unset_env_secrets
from hookline.operations.stack import read_dev_state

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dev", help="the whole pipeline locally (embedded AWS emulator, no Docker); Ctrl-C stops it",
        description=__doc__.splitlines()[0])
    p.add_argument("--config", default=os.environ.get("HOOKLINE_CONFIG", DEFAULT_CONFIG),
                   help="configuration file (default: $HOOKLINE_CONFIG or ./hookline.yaml)")
    p.add_argument("--port", type=int, default=3000, help="ingress port on 127.0.0.1 (default 3000; 0 = any free)")
    p.add_argument("--host", default="127.0.0.1", help="ingress address (default 127.0.0.1)")
    p.add_argument("--env-file", default=None, metavar="FILE",
                   help="KEY=VALUE file for env: secrets (default: demo.env next to the config, if present); "
                        "variables already exported win")
    p.add_argument("--template", default=None, metavar="FILE",
                   help="SAM template (default: template.yaml next to the config or above it, or in this checkout)")
    p.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE",
                   help="template parameter override (repeatable), e.g. --parameter MaxReceiveCount=3")
    p.add_argument("--function", action="append", default=[], metavar="NAME=FILE.py:FUNCTION",
                   help="run this Python handler when a `type: lambda` destination invokes function NAME (repeatable; "
                        "without it the emulator's function prints each event it receives)")
    p.add_argument("--enable-schedules", action="store_true",
                   help="run Schedule / ScheduleV2 events even when the template has them DISABLED")
    p.add_argument("--fire-schedules-on-start", action="store_true",
                   help="invoke every active schedule once as soon as the pipeline is ready")
    p.add_argument("--demo-crm", type=port_number, default=None, metavar="PORT",
                   help="also run the demo CRM (prints what it receives, answers 200) on 127.0.0.1:PORT, or on a "
                        "free port when PORT is taken; exported as CRM_PORT for the configuration's URLs")
    p.add_argument("--fresh", action="store_true",
                   help="start with an empty emulator: the AWS state saved in .hookline/ by the last run "
                        "(event log, DLQ, queues) is discarded")
    p.add_argument("--demo-orders", type=port_number, default=None, metavar="PORT",
                   help="also run the demo orders API (paged, changing orders for syncs.orders) on 127.0.0.1:PORT "
                        "(a free port when taken); exported as ORDERS_PORT")
    p.add_argument("--log-level", default="ERROR", type=str.upper, choices=LOG_LEVELS,
                   help="level of the functions' own JSON logs, which go to --log-file (default ERROR: the console "
                        "lines say what happened)")
    p.add_argument("--log-file", default=None, metavar="FILE",
                   help="where the functions' JSON logs and EMF metrics go (default .hookline/dev.log, emptied at "
                        "each start; '-' = in the console stream, between its readable lines)")
    p.set_defaults(func=run)


class DevError(Exception):
    """Start-up cannot go on: printed as one line, exit 1."""


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    dev = DevRuntime(args)
    try:
        dev.start()
    except (DevError, OSError) as e:
        dev.stop_demos()
        print(f"hookline dev: {e}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        dev.banner(time.perf_counter() - started)
        dev.after_ready()
        while not stop.wait(0.5):
            pass
        _say("\nstopping…")
    finally:
        dev.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
    _say("stopped")
    # Everything is stopped and flushed. Tearing down the emulator's heap at interpreter exit (moto's
    # CloudFormation imports every moto service: ~1,300 modules) takes seconds; Ctrl-C should not.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


class DevRuntime:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.config_path = Path(args.config).resolve()
        self.env_file: Path | None = None
        self.env_names: list[str] = []
        self.emulator: Any = None
        self.gateway: Any = None
        self.pollers: list[Any] = []
        self.scheduler: Any = None
        self.crm: Any = None
        self.orders: Any = None
        self.demo_env: dict[str, str] = {}  # CRM_PORT / ORDERS_PORT: the demo servers' ports, for the config
        self.console: Any = None  # local.console.Console, once wired
        self.warehouse_lines: list[str] = []
        self.target_lines: list[str] = []  # AWS target destinations (local/aws_targets.py)
        self.state_file: Path | None = None
        self.notes: list[str] = []
        self.schedule_lines: list[str] = []
        self.delivery_lines: list[str] = []
        self.jobs: list[Any] = []
        self.state: Any = None  # local.state.StateStore
        self.restored: Any = None  # local.state.Saved, when the last run's state was restored
        self.watcher: Any = None  # local.reload.ConfigWatcher
        self.log_file: Path | None = None  # where the JSON logs and EMF go; None: the console stream
        self.ready = False

    # ------------------------------------------------------------------ start-up
    def start(self) -> None:
        self._load_env_file()
        self._start_demos()  # before the configuration is loaded: its URLs may name the demos' ports
        cfg = self._check_config()
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline.local import cfn
        from hookline.local.emulator import Emulator, template_path

        try:
            self.template_file = template_path(self.config_path, self.args.template)
            cfn.load_template(self.template_file)  # a broken file fails here, before the emulator starts
        except (FileNotFoundError, cfn.CfnError) as e:
            raise DevError(str(e)) from None
        problems = template_problems(cfg, self.template_file)
        if problems:
            print_problems(self.config_path, problems)
            raise DevError(f"{self.template_file} cannot run this configuration")
        parameters = {**self._target_parameters(cfg), **self._parameters()}  # an explicit --parameter wins
        self.state = self._state_store(parameters)
        self.restored = None if self.args.fresh else self.state.load()
        port = self.restored.port if self.restored and _port_free(self.restored.port) else 0
        self.emulator = Emulator(port=port).start()  # from here on boto3 in this process talks to it
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline.local import faults

        faults.install_from_env()  # HOOKLINE_FAULTS: seeded process faults for the chaos run
        # lazy: as above
        from hookline.local import sns_trust

        try:
            sns_trust.install_from_env()  # HOOKLINE_DEV_SNS_TRUST: `provider: sns` against a local SNS
        except ValueError as e:
            raise DevError(str(e)) from None
        try:
            if self.restored is not None:  # the last run's AWS state instead of a freshly deployed stack
                self.state.restore(self.restored)
                self.stack = self.emulator.read_stack(self.template_file)
            else:
                self.stack = self.emulator.deploy_stack(self.template_file, parameters)
            self.resources = self.stack.resources
            self.functions = self.stack.functions()
            self.state.attach(self.emulator.server._server, self.resources, self.emulator.server.get_host_and_port()[1])
            self._provision_warehouse(cfg)
            self._provision_targets(cfg)
            self._provision_archive()
            self._function_environment()
            self._wire(cfg)
            self._watch_config()
        except cfn.CfnError as e:
            self.stop()
            raise DevError(f"{_rel(self.template_file)}: {e}") from None
        except BaseException:
            self.stop()
            raise
        self._write_state()
        self.ready = True

    def _start_demos(self) -> None:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline.commands import dev_demos

        try:
            self.crm, self.orders, self.demo_env = dev_demos.start(self.args, self._demo_line, self.notes)
        except dev_demos.DemoPortError as e:
            raise DevError(str(e)) from None
        os.environ.update(self.demo_env)

    def _demo_line(self, line: str) -> None:
        if self.console is not None:
            self.console.stamp(line)
        else:  # a request before the pipeline is wired (the demo serves from the start)
            print(line, flush=True)

    def stop_demos(self) -> None:
        for server in (self.crm, self.orders):
            if server is not None:
                _quietly(server.stop)
        self.crm = self.orders = None

    def _state_store(self, parameters: dict[str, str]) -> Any:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline.local.state import SNAPSHOT_NAME, StateStore, fingerprint
        from hookline.operations.stack import dev_state_path

        path = dev_state_path().parent / SNAPSHOT_NAME
        return StateStore(path.resolve(), fingerprint(self.template_file, parameters), note=self._note)

    def _note(self, line: str) -> None:
        # Before the banner, notes are listed in it; later ones (a snapshot that left a service out) print at once.
        if self.ready:
            self.console.stamp(f"note: {line}")
        else:
            self.notes.append(line)

    def _watch_config(self) -> None:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline.local.reload import ConfigWatcher

        self.watcher = ConfigWatcher(self.config_path, self.cfg, load=self._checked_config, apply=self._apply_config,
                                     say=self.console.stamp).start()

    def _checked_config(self, path: Path) -> Any:
        """The edited configuration, with the same checks as at start-up; ConfigError when it cannot run."""
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline.core.errors import ConfigError
        from hookline.validation import load_config

        cfg = load_config(path)
        problems = template_problems(cfg, self.template_file)
        if problems:
            raise ConfigError(problems, str(path))
        return cfg

    def _apply_config(self, cfg: Any) -> None:
        # The handlers build their services from hookline.wiring once per cold start; every environment in
        # this process shares that module, so new services carrying the new configuration reach them all.
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline import wiring

        self.cfg = cfg
        wiring.install(wiring.Services(config=cfg))

    def _load_env_file(self) -> None:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline.local.envfile import EnvFileError, default_env_file, load_env_file

        path = Path(self.args.env_file) if self.args.env_file else default_env_file(self.config_path)
        if path is None:
            return
        if not path.is_file():
            raise DevError(f"--env-file {path}: no such file")
        try:
            applied, kept = load_env_file(path)
        except EnvFileError as e:
            raise DevError(str(e)) from None
        self.env_file = path.resolve()
        self.env_names = applied + [f"{k} (already exported)" for k in kept]

    def _check_config(self) -> Any:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline.core.errors import ConfigError
        from hookline.validation import load_config

        try:
            cfg = load_config(self.config_path)
        except ConfigError as e:
            print_problems(Path(self.args.config), e.problems)
            raise DevError(f"fix {self.args.config} first (`hookline validate --config {self.args.config}`)") \
                from None
        for ref in unset_env_secrets(cfg):
            self.notes.append(f"{ref} is not set: requests needing it answer 503 (add it to the env file or "
                              f"export {ref[4:]}=...)")
        self.cfg = cfg
        return cfg

    def _parameters(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in self.args.parameter:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise DevError(f"--parameter {item!r}: expected KEY=VALUE")
            out[key.strip()] = value
        return out

    def _function_environment(self) -> None:
        """Every function's Environment (as deployed: Globals merged, refs resolved) into this one process."""
        merged: dict[str, str] = {}
        for spec in self.functions:
            for key, value in spec.environment.items():
                if key in merged and merged[key] != value:
                    self.notes.append(f"{spec.logical_id} sets {key} differently from another function; "
                                      "all functions share one process here, the last value wins")
                merged[key] = value
        os.environ.update(merged)
        os.environ["HOOKLINE_CONFIG"] = str(self.config_path)
        os.environ["LOG_LEVEL"] = self.args.log_level
        os.environ["POWERTOOLS_LOG_LEVEL"] = self.args.log_level
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        import logging
        import warnings

        from hookline.observability import logger

        # Metrics are off locally (POWERTOOLS_METRICS_DISABLED); their "nothing to publish" warning is noise.
        warnings.filterwarnings("ignore", message="No application metrics to publish")

        logger.setLevel(self.args.log_level)
        logging.getLogger("aws_lambda_powertools").setLevel(
            max(logging.WARNING, logging.getLevelName(self.args.log_level)))
        if self.args.log_file != "-":
            # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
            from hookline.local import devlog
            from hookline.operations.stack import dev_state_path

            path = Path(self.args.log_file) if self.args.log_file else dev_state_path().parent / devlog.LOG_NAME
            try:
                devlog.divert(path)
            except OSError as e:
                raise DevError(f"--log-file {path}: {e.strerror}") from None
            self.log_file = path.resolve()

    # ------------------------------------------------------------------ wiring the template's events
    def _wire(self, cfg: Any) -> None:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline.adapters.aws.stores import EventLog
        from hookline.local.console import Console
        from hookline.local.gateway import Gateway, HttpApi, Route
        from hookline.local.scheduler import Scheduler

        events_table = os.environ.get("EVENTS_TABLE")
        self.console = Console(EventLog(events_table) if events_table else None)
        if self.restored is not None:
            self.console.printed_before = time.time()
        specs = self.functions
        routes: list[Route] = []
        self.scheduler = Scheduler()
        base = self.template_file.parent
        for spec in specs:
            active = [e for e in spec.events if self._active(spec, e)]
            if not active:
                continue
            fn = self._load_function(spec, base)
            if fn is None:
                continue
            for event in active:
                if event.type == "HttpApi":
                    routes.append(Route(event.method or "ANY", event.path or "$default", fn))
                elif event.type == "SQS":
                    self._add_poller(spec, event, fn)
                elif event.type in ("Schedule", "ScheduleV2"):
                    self._add_schedule(spec, event, fn)
        api = HttpApi(routes, api_id="local")
        try:
            self.gateway = Gateway(api, self.args.host, self.args.port, listener=self.console.request)
        except OSError as e:
            raise DevError(f"cannot listen on {self.args.host}:{self.args.port}: {e.strerror} "
                           "(another `hookline dev`? pass --port N)") from None
        self.gateway.start()
        for poller in self.pollers:
            poller.start()
        self.scheduler.start()

    def _provision_warehouse(self, cfg: Any) -> None:
        if any(d.type != "http" for d in cfg.destinations.values()):
            # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
            import boto3

            from hookline.local.warehouse import provision_warehouse

            session = boto3.session.Session(region_name=self.emulator.region)
            self.warehouse_lines = provision_warehouse(cfg, session, self.emulator.account_id)

    def _target_parameters(self, cfg: Any) -> dict[str, str]:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline.local.aws_targets import parameters
        from hookline.local.emulator import ACCOUNT_ID, REGION

        return parameters(cfg, ACCOUNT_ID, REGION)

    def _provision_targets(self, cfg: Any) -> None:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        import boto3

        from hookline.local import target_functions
        from hookline.local.aws_targets import provision_targets

        handlers = {}
        for item in self.args.function:
            name, sep, spec = item.partition("=")
            if not sep or not name:
                raise DevError(f"--function {item!r}: expected NAME=FILE.py:FUNCTION")
            try:
                handlers[name.strip()] = target_functions.load(spec, Path.cwd())
            except ValueError as e:
                raise DevError(f"--function {e}") from None
        session = boto3.session.Session(region_name=self.emulator.region)
        self.target_lines = provision_targets(cfg, session, self.emulator.account_id, self.emulator.region,
                                              handlers=handlers, say=self._demo_line, notes=self.notes)

    def _provision_archive(self) -> None:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        import boto3

        from hookline.local.archive import provision_archive

        line = provision_archive(self.stack, boto3.session.Session(region_name=self.emulator.region).client("firehose"))
        if line:
            self.warehouse_lines.append(line)

    def _active(self, spec: Any, event: Any) -> bool:
        where = f"{spec.logical_id}.{event.name}"
        if event.type in ("Schedule", "ScheduleV2"):
            if not event.enabled and not self.args.enable_schedules:
                self.schedule_lines.append(f"{where} {event.schedule_expression}: DISABLED in the template "
                                           "(--enable-schedules to run it)")
                return False
            return True
        if event.type == "SQS":
            if not event.enabled:
                self.delivery_lines.append(f"{where}: disabled in the template (Enabled: false)")
                return False
            return True
        if event.type == "HttpApi":
            return True
        self.notes.append(f"{where}: {event.type} events are not emulated by hookline dev; skipped")
        return False

    def _load_function(self, spec: Any, base: Path) -> Any:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline.local.runtime import HandlerLoadError, LocalFunction

        fn = LocalFunction(spec.logical_id, spec.code_path(base).resolve(), spec.handler,
                           function_name=spec.function_name, timeout=spec.timeout,
                           memory_mb=spec.memory_size, region=self.emulator.region,
                           account_id=self.emulator.account_id)
        try:
            fn.load()
        except HandlerLoadError as e:
            only_schedules = all(ev.type in ("Schedule", "ScheduleV2") for ev in spec.events)
            if only_schedules:
                self.notes.append(f"{spec.logical_id} skipped: cannot load its handler ({e})")
                return None
            raise DevError(f"{spec.logical_id}: cannot load its handler: {e}") from None
        return fn

    def _add_poller(self, spec: Any, event: Any, fn: Any) -> None:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline.local.poller import SqsPoller

        if event.queue is None or event.queue not in self.resources:
            self.notes.append(f"{spec.logical_id}.{event.name}: the queue is not in this template; skipped")
            return
        queue = self.resources[event.queue]
        report = "ReportBatchItemFailures" in event.function_response_types
        window = event.maximum_batching_window_seconds or 0
        poller = SqsPoller(
            self.emulator.client("sqs"), queue_url=queue.url, queue_arn=queue.arn, region=self.emulator.region,
            function=fn, batch_size=event.batch_size or 10, window_seconds=window,
            report_batch_item_failures=report,
            listener=lambda result, name=spec.logical_id: self.console.batch(name, result),
        )
        self.pollers.append(poller)
        self.delivery_lines.append(
            f"{spec.logical_id} <- {queue.physical_id} (batch {poller.batch_size}, window {window} s"
            f"{', ReportBatchItemFailures' if report else ''})")

    def _add_schedule(self, spec: Any, event: Any, fn: Any) -> None:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline.local.scheduler import (
            Job,
            ScheduleExpressionError,
            eventbridge_scheduled_event,
            parse_expression,
            scheduler_event,
            validate_scheduled_event,
        )

        where = f"{spec.logical_id}.{event.name}"
        expression = str(event.schedule_expression or "")
        try:
            schedule = parse_expression(expression, timezone=event.properties.get("ScheduleExpressionTimezone"))
        except ScheduleExpressionError as e:
            self.notes.append(f"{where}: {e}; schedule skipped")
            return
        region, account = self.emulator.region, self.emulator.account_id
        name = f"{self.resources.stack_name}-{spec.logical_id}-{event.name}"
        input_json = event.input if isinstance(event.input, str) or event.input is None else json.dumps(event.input)

        if event.type == "ScheduleV2":
            arn = f"arn:aws:scheduler:{region}:{account}:schedule/default/{name}"

            def make_event(at: Any) -> Any:
                return scheduler_event(input_json, scheduled_time=at, schedule_arn=arn)
        else:
            arn = f"arn:aws:events:{region}:{account}:rule/{name}"

            def make_event(at: Any) -> Any:
                evt = eventbridge_scheduled_event(scheduled_time=at, rule_arn=arn, region=region,
                                                  account_id=account, input_json=input_json)
                if not input_json:
                    problem = validate_scheduled_event(evt)
                    if problem:
                        raise RuntimeError(f"emulator built a Scheduled Event Powertools rejects: {problem}")
                return evt

        def fire(job: Any, evt: Any, _at: Any) -> None:
            def invoke() -> None:
                self.console.scheduled(job.name, fn.invoke(evt), job.kind)

            threading.Thread(target=invoke, name=f"schedule {job.name}", daemon=True).start()

        job = self.scheduler.add(Job(where, event.type, schedule, make_event, fire))
        self.jobs.append(job)
        nxt = job.next_at.astimezone().strftime("%H:%M:%S") if job.next_at else "never"
        self.schedule_lines.append(f"{where} {expression} ({event.type}), next at {nxt}")

    # ------------------------------------------------------------------ state for the other commands
    def _write_state(self) -> None:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline.operations.stack import dev_state_path, write_dev_state

        previous = _running_dev(dev_state_path())
        if previous:
            self.notes.append(f"{dev_state_path()} belonged to another running hookline dev (pid {previous}); replaced")
        self.ingress_base = self._ingress_base()
        outputs = {**self.stack.outputs, "WebhookUrl": self.ingress_base}
        self.outputs = outputs
        self.state_file = write_dev_state(
            outputs, self.emulator.endpoint_url, self.emulator.region,
            config=str(self.config_path), env_file=str(self.env_file) if self.env_file else None,
            ingress_url=self.ingress_base, template=str(self.template_file), stack_name=self.resources.stack_name,
            resources=self.resources.to_dict(), pid=os.getpid(), log_file=str(self.log_file) if self.log_file else None,
            environment=self.demo_env,
        ).resolve()

    def _ingress_base(self) -> str:
        for route in self.gateway.api.routes:
            if "{source}" in route.path:
                return self.gateway.url + route.path.split("{source}")[0]
        return self.gateway.url + "/"

    def banner(self, seconds: float) -> None:
        dev_banner.show(self, seconds)
        self.state.note = self.console.stamp  # from now on the saver's troubles are console lines

    def after_ready(self) -> None:
        if self.args.fire_schedules_on_start:
            for job in self.jobs:
                try:
                    self.scheduler.fire_now(job)
                except Exception as e:  # a bad event must not take the pipeline down
                    self.console.stamp(f"{job.name}: cannot fire: {type(e).__name__}: {e}")

    # ------------------------------------------------------------------ shutdown
    def stop(self) -> None:
        deadline = time.monotonic() + 1.0
        for poller in self.pollers:
            poller.stop()
        # The schedules, the config watcher and the servers wind down in parallel, within one second in all
        # (each waits out its poll interval; one after the other, their joins added up to 2.5 s more on a
        # loaded machine). A poller in a long poll or a batch gets as long to finish, past that it ends with
        # the process (its messages reappear after their visibility timeout, as after a Lambda crash).
        parts = [self.scheduler, self.watcher, self.gateway, self.crm, self.orders]
        stoppers = [threading.Thread(target=_quietly, args=(part.stop,), daemon=True)
                    for part in parts if part is not None]
        for t in stoppers:
            t.start()
        for t in stoppers:
            t.join(max(0.0, deadline - time.monotonic()))
        for poller in self.pollers:
            poller.join(max(0.0, deadline - time.monotonic()))
        self._save_state()
        if self.emulator is not None:
            stopper = threading.Thread(target=_quietly, args=(self.emulator.stop,), daemon=True)
            stopper.start()
            stopper.join(max(0.2, deadline - time.monotonic()))
        self.gateway = self.crm = self.orders = self.emulator = None
        self._remove_state()

    def _save_state(self) -> None:
        """The final snapshot, once nothing but a poller's last long poll can still touch the emulator."""
        if self.state is None or self.emulator is None:
            return
        try:
            self.state.stop(save=self.ready)  # a start-up that failed half-way is not worth restoring
        except Exception as e:
            print(f"hookline dev: state not saved: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            return
        if self.ready:
            _say(f"state saved to {_rel(self.state.path)} (--fresh at the next start to begin empty)")

    def _remove_state(self) -> None:
        if self.state_file is None:
            return
        if read_dev_state(self.state_file).get("pid") == os.getpid():
            with contextlib.suppress(OSError):
                self.state_file.unlink()
                self.state_file.parent.rmdir()  # only when empty
        self.state_file = None


def _port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether the last run's AWS port can be had again (then AWS_ENDPOINT_URL in other shells stays right)."""
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    import socket

    if not port:
        return False
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will: TIME_WAIT is no obstacle
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _quietly(fn: Any) -> None:
    with contextlib.suppress(Exception):  # best effort on the way out
        fn()


def _running_dev(state: Path) -> int | None:
    try:
        pid = int(read_dev_state(state).get("pid"))
    except (ValueError, TypeError):
        return None
    if pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except OSError:
        return None
    return pid
