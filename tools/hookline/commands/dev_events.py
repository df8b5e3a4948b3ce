"""`hookline dev` wires the template's events to the functions' handlers: HttpApi routes behind the local API
Gateway, an SQS poller per SQS event source, a job on the clock per Schedule / ScheduleV2; events it does not
emulate, or that the template disables, become notes and banner lines.

`EventWiring` is mixed into `commands.dev.DevRuntime`, whose attributes it reads and fills (`args`, `emulator`,
`functions`, `resources`, `console`, `gateway`, `pollers`, `scheduler`, `jobs`, the banner's lines).
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from hookline.commands.dev_setup import DevError


class EventWiring:
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
