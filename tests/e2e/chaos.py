"""The chaos run: many events through `hookline dev` while receivers and the process misbehave.

    python -m tests.e2e.chaos --events 1000 [--seed N]       (make chaos)

Load: `--events` events over five sources (github, stripe, shopify, standard-webhooks,
hmac-sha256), each sent 1-3 times (a seeded share of the copies at the same moment), fanned
out to 2-3 routes each, all to one ChaosReceiver (tests/support/chaos_receiver.py): 30% of
its answers are faults (500 / 429 + Retry-After / timeout / reset / slow body), 2% of the
(event, route) pairs are refused for good (422). Process faults (hookline/local/faults.py via
HOOKLINE_FAULTS): AWS errors injected into the ingress function's writes, and deliver
invocations killed between the HTTP 2xx and the acknowledgement.

A sender retries 409 and 503 (and refused connections) as real senders do. When the delivery
queue is empty, the run counts, then makes the receiver healthy, runs `hookline dlq replay`,
and counts again. Everything random comes from `--seed`; the seed is printed first.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import requests
import yaml

from hookline.ingress.signatures import sign
from hookline.validation import parse_config
from tests.e2e.helpers import DevProcess, dev_env, free_port
from tests.support.chaos_receiver import ChaosReceiver

SECRETS = {
    "CHAOS_GITHUB_SECRET": "chaos-github-secret",
    "CHAOS_STRIPE_SECRET": "whsec_chaos_stripe_secret",
    "CHAOS_SHOPIFY_SECRET": "chaos-shopify-secret",
    "CHAOS_SW_SECRET": "whsec_Y2hhb3Mtc3RhbmRhcmQtd2ViaG9va3Mta2V5",
    "CHAOS_APP_SECRET": "chaos-app-secret",
}
SOURCES: dict[str, dict[str, Any]] = {
    "github": {"scheme": "github", "secrets": ["env:CHAOS_GITHUB_SECRET"]},
    "stripe": {"scheme": "stripe", "secrets": ["env:CHAOS_STRIPE_SECRET"]},
    "shopify": {"scheme": "shopify", "secrets": ["env:CHAOS_SHOPIFY_SECRET"]},
    "sw": {"scheme": "standard-webhooks", "secrets": ["env:CHAOS_SW_SECRET"]},
    "app": {"scheme": "hmac-sha256", "secrets": ["env:CHAOS_APP_SECRET"], "header": "X-Signature",
            "prefix": "sha256=", "id_header": "X-Event-Id"},
}
SECRET_OF = {"github": "chaos-github-secret", "stripe": "whsec_chaos_stripe_secret",
             "shopify": "chaos-shopify-secret", "sw": SECRETS["CHAOS_SW_SECRET"], "app": "chaos-app-secret"}
ROUTES_PER_SOURCE = {"github": 3, "stripe": 2, "shopify": 2, "sw": 3, "app": 2}
DESTINATIONS = ("crm", "warehouse", "chat")
CLIENT_TIMEOUT = 1.0


@dataclass
class Settings:
    events: int
    seed: int
    concurrent_share: float = 0.3       # of the events sent more than once: copies sent at the same moment
    fault_rate: float = 0.30
    permanent_rate: float = 0.02
    ingress_error: float = 0.05
    deliver_kill: float = 0.05
    workers: int = 6
    queue_limit: int = 150  # senders wait while the delivery queue holds more (see Backpressure)
    settle_timeout: float = 0.0  # 0: 300 s plus 3 s per event (the emulator slows as its queue grows)


@dataclass
class Event:
    source: str
    id: str
    body: bytes
    copies: int
    concurrent: bool
    statuses: list[int] = field(default_factory=list)  # the final answer to each copy
    refusals: list[str] = field(default_factory=list)  # 4xx answers (none expected), for the report

    def routes(self) -> list[str]:
        return [f"{self.source}-to-{DESTINATIONS[i]}" for i in range(ROUTES_PER_SOURCE[self.source])]


def write_config(directory: Path, receiver_url: str, settings: Settings) -> Path:
    cfg = {
        "sources": {name: {"verify": verify} for name, verify in SOURCES.items()},
        "destinations": {d: {"url": f"{receiver_url}/{d}", "timeout_seconds": CLIENT_TIMEOUT} for d in DESTINATIONS},
        "routes": [{"name": f"{s}-to-{DESTINATIONS[i]}", "source": s, "destination": DESTINATIONS[i]}
                   for s, n in ROUTES_PER_SOURCE.items() for i in range(n)],
        "retry": {"schedule_seconds": [1, 2]},
    }
    path = directory / "hookline.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def make_events(settings: Settings) -> list[Event]:
    rng = random.Random(f"{settings.seed}:load")
    events = []
    names = list(SOURCES)
    for i in range(settings.events):
        source = names[i % len(names)]
        event_id = f"{source}-{settings.seed}-{i:05d}-{uuid.UUID(int=rng.getrandbits(128)).hex[:8]}"
        payload: dict[str, Any] = {"n": i, "source": source, "note": "chaos"}
        if source == "stripe":
            payload = {"id": event_id, "type": "invoice.paid", "data": {"n": i}}
        copies = rng.choice((1, 2, 3))
        events.append(Event(source, event_id, json.dumps(payload).encode(), copies,
                            copies > 1 and rng.random() < settings.concurrent_share))
    return events


def signed_headers(cfg: Any, event: Event) -> dict[str, str]:
    verify = cfg.sources[event.source].verify
    msg_id = None if event.source == "stripe" else event.id
    headers = sign(verify, SECRET_OF[event.source], event.body, msg_id=msg_id)
    headers["Content-Type"] = "application/json"
    if event.source == "github":
        headers["X-GitHub-Event"] = "push"
    return headers


def post_until_answered(session: requests.Session, url: str, cfg: Any, event: Event) -> int:
    """One copy, retried as a sender retries: 409 / 503 / no connection again later; returns the last status."""
    for attempt in range(60):
        try:
            resp = session.post(url, data=event.body, headers=signed_headers(cfg, event), timeout=30)
            status = resp.status_code
        except requests.RequestException:
            status = 0
        if status in (200, 202) or (400 <= status < 500 and status != 409):
            if status not in (200, 202):
                event.refusals.append(f"{status} {resp.text[:200]}")
            return status
        time.sleep(min(0.2 * (attempt + 1), 2.0))
    return status


def send_event(url: str, cfg: Any, event: Event) -> None:
    session = requests.Session()
    target = f"{url}/webhooks/{event.source}"
    if event.concurrent:
        barrier = threading.Barrier(event.copies)
        results: list[int] = []

        def copy() -> None:
            barrier.wait()
            results.append(post_until_answered(requests.Session(), target, cfg, event))

        threads = [threading.Thread(target=copy) for _ in range(event.copies)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        event.statuses.extend(results)
    else:
        for _ in range(event.copies):
            event.statuses.append(post_until_answered(session, target, cfg, event))


class Stack:
    """The emulated AWS of the running `hookline dev` (from its state file)."""

    def __init__(self, workdir: Path) -> None:
        state = json.loads((workdir / ".hookline" / "dev.json").read_text())
        self.outputs = state["outputs"]
        kwargs = {"endpoint_url": state["endpoint_url"], "region_name": state.get("region", "us-east-1"),
                  "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # the emulator takes any
        self.sqs = boto3.client("sqs", **kwargs)

    def queue_depth(self) -> int:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.outputs["DeliveryQueueUrl"],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                            "ApproximateNumberOfMessagesDelayed"])["Attributes"]
        return sum(int(v) for v in attrs.values())


class Backpressure:
    """Senders wait while the delivery queue holds more than `limit` messages.

    The emulator's queue slows down as it grows (DESIGN.md), and a flood of 1,000 events in
    seconds is not what senders do; events still arrive faster than they are delivered.
    """

    def __init__(self, stack: Stack, limit: int) -> None:
        self.stack, self.limit = stack, limit
        self._lock = threading.Lock()
        self._checked, self._depth = 0.0, 0

    def wait(self) -> None:
        while True:
            with self._lock:
                if time.monotonic() - self._checked > 0.5:
                    self._depth, self._checked = self.stack.queue_depth(), time.monotonic()
                if self._depth <= self.limit:
                    return
            time.sleep(0.5)


def settle(stack: Stack, receiver: ChaosReceiver, timeout: float) -> float:
    """Wait until the delivery queue has been empty and the receiver quiet for a few seconds."""
    # Longer than the longest retry delay (2 s) and the killed batches' return (1 s).
    return wait_quiet(stack.queue_depth, lambda: sum(receiver.requests.values()), timeout, quiet=3.0)


def wait_quiet(depth: Callable[[], int], heard: Callable[[], int], timeout: float, quiet: float,
               interval: float = 0.5) -> float:
    """Seconds until `depth()` has been 0 and `heard()` (requests the receivers got) unchanged for `quiet` s."""
    t0 = time.monotonic()
    quiet_since = None
    last = -1
    while time.monotonic() - t0 < timeout:
        total = heard()
        if depth() == 0 and total == last:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= quiet:
                return time.monotonic() - t0
        else:
            quiet_since = None
        last = total
        time.sleep(interval)
    raise AssertionError(f"the delivery queue did not drain within {timeout:.0f} s")


def hookline(workdir: Path, *args: str) -> Any:
    out = subprocess.run([sys.executable, "-m", "hookline.cli", *args], cwd=workdir, env=dev_env(),
                         capture_output=True, text=True, timeout=600, check=False)
    if out.returncode != 0:
        raise AssertionError(f"hookline {' '.join(args)} exited {out.returncode}: {out.stderr[-2000:]}")
    return json.loads(out.stdout)


@dataclass
class Figures:
    seed: int
    events: int
    sends: int = 0
    concurrent_events: int = 0
    accepted: int = 0
    double_accepted: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    pairs: int = 0
    delivered: int = 0
    dlq: Counter[str] = field(default_factory=Counter)
    dead: dict[str, str] = field(default_factory=dict)  # (event:route) -> DLQ reason
    dlq_entries: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    delivered_and_dead: int = 0
    # key -> the receiver's answers to it in order: what made the pair both delivered and dead-lettered
    delivered_and_dead_answers: dict[str, list[str]] = field(default_factory=dict)
    timed_out_batches: int = 0
    batches: int = 0  # delivery batches the pollers handed to a function
    receives_without_batch: int = 0  # receive counts a message skipped between the batches it was in
    back_after_ack: list[str] = field(default_factory=list)  # message ids seen again after a batch acked them
    dead_lettered_twice: dict[str, list[str]] = field(default_factory=dict)  # key -> the same, DLQ entries last
    receiver_faults: Counter[str] = field(default_factory=Counter)
    process_faults: Counter[str] = field(default_factory=Counter)
    replayed: dict[str, int] = field(default_factory=dict)
    after_replay_not_once: list[str] = field(default_factory=list)
    after_replay_permanent_in_dlq: int = 0
    permanent_pairs: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        dlq = ", ".join(f"{reason} {n}" for reason, n in sorted(self.dlq.items())) or "none"
        return [
            f"chaos seed {self.seed}: {self.events} events, {self.sends} sends "
            f"({self.concurrent_events} events with concurrent copies)",
            f"  receiver faults injected: {dict(sorted(self.receiver_faults.items()))}",
            f"  process faults injected: {dict(sorted(self.process_faults.items()))}; deliver batches that "
            f"timed out (their thread runs on under hookline dev): {self.timed_out_batches}",
            f"  delivery batches: {self.batches}; receives that reached no batch: {self.receives_without_batch}; "
            f"messages back after their acknowledgement: {len(self.back_after_ack)}",
            f"  events accepted: {self.accepted} of {self.events} (accepted twice: {len(self.double_accepted)}; "
            f"never answered 200/202: {len(self.unanswered)})",
            f"  (event, route) pairs: {self.pairs}; delivered: {self.delivered}; in the DLQ: "
            f"{sum(self.dlq.values())} ({dlq}; {self.dlq_entries} DLQ messages)",
            f"  lost: {len(self.lost)}; duplicated effects: {len(self.duplicated)}; "
            f"delivered and also dead-lettered: {self.delivered_and_dead}",
            f"  dlq replay: {self.replayed}; then non-permanent pairs not delivered exactly once: "
            f"{len(self.after_replay_not_once)}; permanent pairs back in the DLQ: "
            f"{self.after_replay_permanent_in_dlq} of {self.permanent_pairs}",
            f"  time: {', '.join(f'{k} {v:.0f} s' for k, v in self.seconds.items())}",
            *(f"  delivered and also dead-lettered: {key}, the receiver's answers then the event log's {answers}"
              for key, answers in sorted(self.delivered_and_dead_answers.items())),
            *(f"  dead-lettered more than once: {key}: {answers}"
              for key, answers in sorted(self.dead_lettered_twice.items())),
            *(f"  in the DLQ: {key} {reason}" for key, reason in sorted(self.dead.items())),
        ]

    def check(self) -> None:
        problems = []
        if self.accepted != self.events:
            problems.append(f"{self.events - self.accepted} events never accepted: {self.unanswered[:5]}")
        if self.double_accepted:
            problems.append(f"{len(self.double_accepted)} events answered 202 twice: {self.double_accepted[:5]}")
        if self.lost:
            problems.append(f"lost pairs: {self.lost[:10]}")
        if self.duplicated:
            problems.append(f"duplicated effects: {self.duplicated[:10]}")
        if self.delivered_and_dead:  # one retry sequence per pair (core/chains.py)
            problems.append(f"pairs both delivered and in the DLQ: {sorted(self.delivered_and_dead_answers)[:10]}")
        if self.dead_lettered_twice:
            problems.append(f"pairs in the DLQ more than once: {sorted(self.dead_lettered_twice)[:10]}")
        if self.after_replay_not_once:
            problems.append(f"after replay, not delivered exactly once: {self.after_replay_not_once[:10]}")
        if self.after_replay_permanent_in_dlq != self.permanent_pairs:
            problems.append(f"{self.permanent_pairs - self.after_replay_permanent_in_dlq} permanent pairs "
                            "not back in the DLQ after replay")
        if problems:
            raise AssertionError("chaos run failed:\n  " + "\n  ".join(problems))


def event_log_outcomes(workdir: Path, key: str) -> list[str]:
    """The pair's attempts as the event log has them (`outcome status_code`), then its status."""
    event_id, route = key.rsplit(":", 1)
    rows = [r for r in hookline(workdir, "events", "--id", event_id, "--json") if r["route"] == route]
    return [f"log: {a.get('outcome')} {a.get('status_code')} by {str(a.get('message_id'))[:8]}"
            for r in rows for a in r["attempt_history"]] + \
        [f"log status: {r['status']}" for r in rows]


def dlq_entries(workdir: Path) -> list[dict[str, Any]]:
    return list(hookline(workdir, "dlq", "list", "--json"))


def pair_of(entry: dict[str, Any]) -> str:
    """A DLQ entry's `event:route`, the key the run counts pairs by."""
    return f"{entry['id']}:{entry['route']}"


def dlq_pairs(entries: list[dict[str, Any]]) -> dict[str, str]:
    """`event:route` -> DLQ reason."""
    return {pair_of(e): e["reason"] for e in entries}


def receive_gaps(batches: list[dict[str, Any]]) -> tuple[int, list[str]]:
    """From the pollers' batch lines: receives that reached no batch (a message's ApproximateReceiveCount
    skipping a number: the message was received and then hidden for its visibility timeout without being
    handled), and messages seen again after a batch acknowledged them (neither failed nor killed)."""
    counts: dict[str, set[int]] = {}
    acked: set[str] = set()
    back: list[str] = []
    for batch in sorted(batches, key=lambda b: b["at"]):
        for message_id, count in batch["messages"]:
            if message_id in acked:
                back.append(message_id)
            counts.setdefault(message_id, set()).add(count)
            if not batch["killed"] and message_id not in batch["failed"]:
                acked.add(message_id)
    skipped = sum(max(seen) - len(seen) for seen in counts.values() if seen and min(seen) >= 1)
    return skipped, back


def run(settings: Settings, workdir: Path, log: Any = print) -> Figures:
    figures = Figures(settings.seed, settings.events)
    faults_log, batches_log = workdir / "faults.jsonl", workdir / "batches.jsonl"
    faults_spec = {"seed": settings.seed, "ingress_error": settings.ingress_error,
                   "deliver_kill": settings.deliver_kill, "kill_visibility_seconds": 1, "log": str(faults_log),
                   "batches": str(batches_log)}
    saved = {k: os.environ.get(k) for k in [*SECRETS, "HOOKLINE_FAULTS"]}
    os.environ.update(SECRETS)
    os.environ["HOOKLINE_FAULTS"] = json.dumps(faults_spec)
    log(f"chaos seed {settings.seed} (repeat with --seed {settings.seed})")
    with ChaosReceiver(settings.seed, fault_rate=settings.fault_rate, permanent_rate=settings.permanent_rate,
                       client_timeout=CLIENT_TIMEOUT) as receiver:
        config_path = write_config(workdir, receiver.url, settings)
        cfg = parse_config(yaml.safe_load(config_path.read_text()))
        dev = DevProcess(workdir, config_path, free_port(), "--log-level", "ERROR")
        try:
            dev.wait_ready(60)
            os.environ.pop("HOOKLINE_FAULTS")  # only the dev process injects faults; the CLI runs below do not
            events = make_events(settings)
            figures.sends = sum(e.copies for e in events)
            figures.concurrent_events = sum(e.concurrent for e in events)
            t0 = time.monotonic()
            stack = Stack(workdir)
            gate = Backpressure(stack, settings.queue_limit)

            def send(event: Event) -> None:
                gate.wait()
                send_event(dev.url, cfg, event)

            with ThreadPoolExecutor(settings.workers) as pool:
                list(pool.map(send, events))
            figures.seconds["sending"] = time.monotonic() - t0
            patience = settings.settle_timeout or 300 + 3 * settings.events
            figures.seconds["settling"] = settle(stack, receiver, patience)

            # ---- first count
            for e in events:
                if e.statuses.count(202) == 1:
                    figures.accepted += 1
                elif e.statuses.count(202) > 1:
                    figures.accepted += 1
                    figures.double_accepted.append(e.id)
                else:
                    figures.unanswered.append(f"{e.id} {e.statuses} {e.refusals}")
            pairs = [f"{e.id}:{r}" for e in events for r in e.routes()]
            figures.pairs = len(pairs)
            entries = dlq_entries(workdir)
            dead = dlq_pairs(entries)
            figures.dlq_entries = len(entries)

            def evidence(key: str) -> list[str]:
                return [*receiver.answers[key], *event_log_outcomes(workdir, key)]

            twice = Counter(pair_of(e) for e in entries)
            figures.dead_lettered_twice = {
                k: [*evidence(k), *(f"dlq: {e['reason']} after {e.get('attempts')}" for e in entries
                                    if pair_of(e) == k)]
                for k, n in twice.items() if n > 1}
            figures.dlq = Counter(dead.values())
            figures.dead = dead
            delivered = {k for k in pairs if receiver.effects[k] >= 1}
            figures.delivered = len(delivered)
            figures.lost = [k for k in pairs if k not in delivered and k not in dead]
            figures.duplicated = [k for k in pairs if receiver.effects[k] > 1]
            figures.delivered_and_dead = len(delivered & set(dead))
            figures.delivered_and_dead_answers = {k: evidence(k) for k in delivered & set(dead)}
            figures.receiver_faults = Counter(receiver.faults)
            figures.timed_out_batches = sum("Task timed out" in line for line in dev.output().splitlines())
            if faults_log.exists():
                figures.process_faults = Counter(json.loads(line)["fault"]
                                                 for line in faults_log.read_text().splitlines())
            if batches_log.exists():
                batches = [json.loads(line) for line in batches_log.read_text().splitlines()]
                figures.batches = len(batches)
                figures.receives_without_batch, figures.back_after_ack = receive_gaps(batches)

            # ---- the destination is fixed; replay the DLQ
            receiver.faulty = False
            t1 = time.monotonic()
            summary = hookline(workdir, "dlq", "replay", "--json")
            figures.replayed = {k: summary[k] for k in ("matched", "sent", "skipped", "failed") if k in summary}
            settle(stack, receiver, patience)
            figures.seconds["replay"] = time.monotonic() - t1
            dead_after = dlq_pairs(dlq_entries(workdir))
            permanent = {k for k in pairs if receiver.is_permanent(k)}
            figures.permanent_pairs = len(permanent)
            figures.after_replay_not_once = [k for k in pairs if k not in permanent and receiver.effects[k] != 1]
            figures.after_replay_permanent_in_dlq = sum(
                1 for k in permanent if dead_after.get(k) == "permanent_http" and receiver.effects[k] == 0)
        finally:
            dev.interrupt()
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    return figures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=1000)
    p.add_argument("--seed", type=int, default=None, help="default: a new random seed (printed)")
    p.add_argument("--workdir", default=None, help="where hookline dev runs (default: a temporary directory)")
    args = p.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**6)
    with tempfile.TemporaryDirectory(prefix="hookline-chaos-") as tmp:
        workdir = Path(args.workdir or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        figures = run(Settings(events=args.events, seed=seed), workdir)
    for line in figures.lines():
        print(line)
    figures.check()
    print("chaos run passed: lost 0, duplicated effects 0, no pair both delivered and dead-lettered or dead-lettered "
          "twice, every non-permanent pair delivered exactly once after the replay")
    return 0


if __name__ == "__main__":
    sys.exit(main())
