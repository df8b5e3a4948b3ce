"""`hookline dev`: the whole pipeline on this machine, from template.yaml, with no AWS account and no Docker.

An embedded AWS (moto server) gets the template's tables, queues, bucket and topic; each
function's handler is imported from its CodeUri + Handler and wired to its template
events: HttpApi routes behind a local API Gateway, an SQS poller per SQS event source, a
clock for Schedule / ScheduleV2. One readable line per request and per delivery attempt.
"""

from __future__ import annotations

import argparse
import contextlib
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
from hookline.commands.dev_events import EventWiring
from hookline.commands.dev_files import DevFiles
from hookline.commands.dev_setup import DevError, DevSetup
from hookline.commands.validate import DEFAULT_CONFIG, print_problems, template_problems

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


class DevRuntime(DevSetup, EventWiring, DevFiles):
    """The running pipeline: start-up in order, the config watcher, the banner, shutdown. Its steps are in
    dev_setup.py (environment, provisioning), dev_events.py (the template's events) and dev_files.py (.hookline/)."""

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
