"""The soak run: steady mixed traffic through a real `hookline dev` for N minutes, then a count.

    python -m tests.e2e.soak --minutes 15 [--rate 1.5] [--seed N]       (make soak; SOAK_MINUTES=N)

Configuration: examples/soak/ (its hookline.yaml, the Python transform, the lookup file and the
senders' secrets), copied into a fresh working directory with the receivers' real ports.

- Sources, in turn, `--rate` events a second: github, stripe, shopify, standard-webhooks
  (`billing`) and hmac-sha256 (`app`), signed by tests/support/webhook_senders.py (the stripe
  and standardwebhooks libraries; plain hmac per GitHub's and Shopify's published examples).
- Transforms: JMESPath with an inline lookup and a lookup file, JSONata, a Python transform,
  enrichment against a local profiles API (five customers, each back every ~17 s at the default
  rate, cached 20 s: cache hits and expiries alternate all run long),
  an ordered route with `version` (every tenth of its events re-sends an older version: `stale`),
  and `syncs.orders` every minute (`--enable-schedules`) against a local paged API that changes
  three times a minute; one last `hookline sync run` after the traffic stops.
- Destinations: `erp` goes down at a quarter of the run for `outage_seconds` (2 minutes in 15;
  never under 30 s, so the 2-minute run in `make test` has a 30 s outage): 503 for the first
  half, refused connections for the second, then it recovers. `ledger` answers 429 with
  Retry-After: 1 to the first request of half its keys. `crm` refuses (422) the contacts of the
  login `refused-user`: those pairs belong in the DLQ as `permanent_http`. The rest answer 200.

At the end it waits for the queues to drain, then prints and asserts: every (event, route)
delivered exactly once, or in the DLQ for the reason its destination dictates, or `stale`;
no other DLQ entry; the ordered route's versions rising per record; the dev process's RSS
(from /proc) at ready, after the first minute and at the end; p50/p95 delivery latency per
minute of sending. A failure prints each offending pair with the destination's answers and the
event log's attempts.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

from tests.e2e.chaos import Stack, dlq_entries, hookline, pair_of, wait_quiet
from tests.e2e.helpers import REPO, DevProcess, dev_env, free_port
from tests.e2e.soak_count import (
    AT_MOST_ONCE,
    DELIVERED,
    EITHER,
    STALE,
    Minute,
    Verdict,
    by_minute,
    dlq,
    judge,
    latency_table,
    out_of_order,
)
from tests.support import webhook_senders as sign
from tests.support.paged_api import PagedApi
from tests.support.receiver import Received, Receiver, Script
from tests.support.soak_receivers import (
    ANSWER_503,
    REFUSE,
    UP,
    Destination,
    idempotency_key,
    refusing,
    throttled_first,
)

CONFIG_DIR = REPO / "examples" / "soak"
SOURCES = ("github", "stripe", "shopify", "billing", "app")
HEALTHY = ("crm", "records")  # destinations that never fail on purpose (the latency table's last column)
REFUSED_LOGIN = "refused-user"
APP_KEYS = 6
ORDER_CHANGE_SECONDS = 20.0
# The emulator keeps every event's items and messages in the dev process, so its RSS grows with the
# events sent; a leak costs far more than this per event. Counted from the end of the first minute
# (imports and pools warm up during it), with slack for the allocator's steps.
RSS_MB_PER_EVENT, RSS_SLACK_MB = 0.25, 32.0


@dataclass(frozen=True)
class Plan:
    minutes: float
    rate: float = 1.5  # events a second
    seed: int = 20261206
    settle_timeout: float = 600.0

    @property
    def seconds(self) -> float:
        return self.minutes * 60

    @property
    def outage_start(self) -> float:
        return self.seconds / 4

    @property
    def outage_seconds(self) -> float:
        # 2 minutes of a 15-minute run, in proportion for other lengths, but never under 30 s: a shorter
        # outage would end before the breaker (3 failures, 5 s cool-down) had held anything.
        return max(30.0, self.seconds * 2 / 15)

    def erp_mode(self, t: float) -> str:
        into = t - self.outage_start
        if 0 <= into < self.outage_seconds / 2:
            return ANSWER_503
        if 0 <= into < self.outage_seconds:
            return REFUSE
        return UP


@dataclass
class Sent:
    n: int
    source: str
    id: str
    body: bytes
    expected: dict[str, str]  # route -> expectation (soak_count)
    record: str | None = None  # the app source's record key and version
    version: int = 0
    started: float = 0.0  # wall time the accepted copy was sent
    accepted: float = 0.0  # wall time its 202 came back
    answers: list[str] = field(default_factory=list)

    def pairs(self) -> dict[str, str]:
        return {f"{self.id}:{route}": want for route, want in self.expected.items()}


def read_env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))


class Traffic:
    """Builds the n-th event (source in turn) and signs each copy as its sender would."""

    def __init__(self, plan: Plan, secrets: dict[str, str]) -> None:
        self.plan, self.secrets = plan, secrets
        self.top: dict[str, Sent] = {}  # record key -> the app event carrying its highest version

    def make(self, n: int) -> Sent:
        source, seed = SOURCES[n % len(SOURCES)], self.plan.seed
        if source == "github":
            login = REFUSED_LOGIN if n % 40 == 0 else f"user{n % 9}"
            body = {"action": ("opened", "closed", "reopened", "labeled")[n % 4],
                    "issue": {"number": n, "title": f"soak issue {n}"}, "sender": {"login": login},
                    "repository": {"name": ("api", "web", "billing")[n % 3]}}
            crm = dlq("permanent_http") if login == REFUSED_LOGIN else DELIVERED
            routes = {"github-to-crm": crm, "github-to-erp": DELIVERED}
            return Sent(n, source, f"gh-{seed}-{n:06d}", dumps(body), routes)
        if source == "stripe":
            event_id = f"evt_soak_{seed}_{n:06d}"
            body = {"id": event_id, "type": "payment_intent.succeeded",
                    "data": {"object": {"id": f"pi_{n}", "amount": 1000 + n, "currency": "eur"}}}
            return Sent(n, source, event_id, dumps(body), {"stripe-to-ledger": DELIVERED})
        if source == "shopify":
            body = {"id": 5890840712243076 + n, "email": f"buyer{n}@example.com",
                    "line_items": [{"sku": f"SKU-{n % 7}", "price": "12.50", "quantity": 1 + n % 3},
                                   {"sku": "SKU-GIFT", "price": "0.99", "quantity": 1}]}
            return Sent(n, source, f"shopify-{seed}-{n:06d}", dumps(body), {"shopify-to-erp": DELIVERED})
        if source == "billing":
            body = {"type": "invoice.paid", "customer": f"cus_{(n // 5) % 5}", "invoice": f"in_{n}"}
            return Sent(n, source, f"msg_soak_{seed}_{n:06d}", dumps(body), {"billing-to-crm": DELIVERED})
        return self._app(n)

    def _app(self, n: int) -> Sent:
        a = n // len(SOURCES)
        record = f"rec-{a % APP_KEYS}"
        top = self.top.get(record)
        event_id = f"app-{self.plan.seed}-{n:06d}"
        if top is not None and top.version >= 2 and a % 10 == 9:
            # An older version under a new id. Stale for sure only once the newer one was accepted
            # before this copy is sent (ordered delivery follows ingress's order).
            want = STALE if top.accepted else EITHER
            sent = Sent(n, "app", event_id, b"", {"app-to-records": want}, record, top.version - 1)
        else:
            sent = Sent(n, "app", event_id, b"", {"app-to-records": DELIVERED}, record, (top.version if top else 0) + 1)
            self.top[record] = sent
        sent.body = dumps({"record": record, "version": sent.version, "seq": n})  # seq: no two bodies alike
        return sent

    def headers(self, sent: Sent) -> dict[str, str]:
        s, body = self.secrets, sent.body
        headers = {
            "github": lambda: sign.github(s["SOAK_GITHUB_SECRET"], body, sent.id),
            "stripe": lambda: sign.stripe_signature(s["SOAK_STRIPE_SECRET"], body),
            "shopify": lambda: sign.shopify(s["SOAK_SHOPIFY_SECRET"], body, sent.id),
            "billing": lambda: sign.standard(s["SOAK_SW_SECRET"], body, sent.id),
            "app": lambda: {**sign.hmac_hex(s["SOAK_APP_SECRET"], body, "X-App-Signature", "sha256="),
                            "X-App-Event-Id": sent.id},
        }[sent.source]()
        return {**headers, "Content-Type": "application/json"}


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def send(session: requests.Session, url: str, traffic: Traffic, sent: Sent) -> None:
    """One event, retried as a sender retries (409, 503, no connection); signed afresh each time."""
    for attempt in range(60):
        started = time.time()
        try:
            resp = session.post(f"{url}/webhooks/{sent.source}", data=sent.body, headers=traffic.headers(sent),
                                timeout=30)
            status, text = resp.status_code, resp.text[:200]
        except requests.RequestException as exc:
            status, text = 0, type(exc).__name__
        sent.answers.append(f"{status} {text}")
        if status in (200, 202):  # 200: an earlier copy that timed out here was recorded after all
            sent.started, sent.accepted = sent.started or started, time.time()
            return
        if 400 <= status < 500 and status != 409:
            return
        sent.started = 0.0
        time.sleep(min(0.2 * (attempt + 1), 2.0))


class World:
    """The receivers, the paged orders API and the clock-driven changes of the run."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.crm = Destination(refusing(REFUSED_LOGIN.encode()))
        self.erp = Destination(headers={"Connection": "close"})
        decide, headers = throttled_first()
        self.ledger = Destination(decide, headers)
        self.records = Destination()
        self.warehouse = Destination()
        self.profiles = Receiver(Script(responder=profile))
        self.destinations = {"crm": self.crm, "erp": self.erp, "ledger": self.ledger, "records": self.records,
                             "warehouse": self.warehouse}
        self.orders = PagedApi(page_size=50)
        self.versions: dict[int, list[int]] = {}
        self._clock = 1000
        self._next_change = 0.0
        for _ in range(5):
            self.change_orders()

    def start(self) -> None:
        for r in (*self.destinations.values(), self.profiles):
            r.__enter__()

    def stop(self) -> None:
        for r in (*self.destinations.values(), self.profiles):
            r.__exit__(None, None, None)
        self.orders.stop()

    def change_orders(self) -> None:
        """A new order, and a change to the oldest-changed one (updated_at rises: the watermark sees it)."""
        self._clock += 1
        new_id = len(self.versions) + 1
        self.versions[new_id] = [self._clock]
        self.orders.records.append({"id": new_id, "updated_at": self._clock,
                                    "lines": [{"qty": 1 + new_id % 4, "price": 2.5}]})
        if len(self.versions) > 3:
            old = min(self.versions, key=lambda i: self.versions[i][-1])
            self._clock += 1
            self.versions[old].append(self._clock)
            self.orders.update(old, self._clock, lines=[{"qty": 2, "price": 1.25 * len(self.versions[old])}])

    def tick(self, t: float) -> None:
        mode = self.plan.erp_mode(t)
        if mode != self.erp.mode:
            if mode == UP:
                self.erp.come_back()
            else:
                self.erp.go_down(mode)
        if t >= self._next_change:
            self.change_orders()
            self._next_change = t + ORDER_CHANGE_SECONDS

    def config(self, workdir: Path) -> Path:
        """The soak configuration with this run's ports, beside copies of its files."""
        for name in ("teams.csv", "demo.env"):
            shutil.copy(CONFIG_DIR / name, workdir / name)
        shutil.copytree(CONFIG_DIR / "transforms", workdir / "transforms",
                        ignore=shutil.ignore_patterns("__pycache__"))
        cfg = yaml.safe_load((CONFIG_DIR / "hookline.yaml").read_text())
        for name, dest in cfg["destinations"].items():
            path = dest["url"].split("/", 3)[3]
            base = self.profiles.url if name == "profiles" else self.destinations[name].url
            dest["url"] = f"{base}/{path}"
        cfg["syncs"]["orders"]["url"] = self.orders.url("page")
        path = workdir / "hookline.yaml"
        path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        return path

    def expected_orders(self) -> dict[str, str]:
        """Each order's last version must arrive once; an earlier one at most once (a run may miss it)."""
        return {f"orders:{i}@{v}:orders-to-warehouse": DELIVERED if v == versions[-1] else AT_MOST_ONCE
                for i, versions in self.versions.items() for v in versions}


def profile(received: Received) -> tuple[int, bytes]:
    customer = received.path.rstrip("/").rsplit("/", 1)[-1]
    tier = "gold" if sum(map(ord, customer)) % 3 == 0 else "silver"
    return 200, dumps({"id": customer, "tier": tier})


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def queue_depth(stack: Stack) -> int:
    total = 0
    for name in ("DeliveryQueueUrl", "OrderedDeliveryQueueUrl"):
        attrs = stack.sqs.get_queue_attributes(
            QueueUrl=stack.outputs[name], AttributeNames=["ApproximateNumberOfMessages",
                                                          "ApproximateNumberOfMessagesNotVisible",
                                                          "ApproximateNumberOfMessagesDelayed"])["Attributes"]
        total += sum(int(v) for v in attrs.values())
    return total


def settle(stack: Stack, world: World, timeout: float) -> float:
    """Until both delivery queues are empty and no destination has heard anything for 6 s."""
    # Past the 5 s cool-down and the 429's Retry-After, though held and delayed messages count in the depth.
    return wait_quiet(lambda: queue_depth(stack), lambda: sum(len(r.requests) for r in world.destinations.values()),
                      timeout, quiet=6.0, interval=1.0)


def last_json_object(text: str) -> dict[str, Any]:
    """The last JSON object in `text`: a log line may come before a command's JSON."""
    decoder, found, i = json.JSONDecoder(), None, 0
    while (i := text.find("{", i)) >= 0:
        try:
            found, i = decoder.raw_decode(text, i)
        except ValueError:
            i += 1
    if not isinstance(found, dict):
        raise AssertionError(f"no JSON object in: {text[-1000:]}")
    return found


def final_sync(workdir: Path) -> dict[str, Any]:
    """`hookline sync run orders`; a tick's run may hold the lock for a moment: try again."""
    for _ in range(6):
        out = subprocess.run([sys.executable, "-m", "hookline.cli", "sync", "run", "orders", "--json"], cwd=workdir,
                             env=dev_env(), capture_output=True, text=True, timeout=300, check=False)
        if out.returncode == 0:
            return last_json_object(out.stdout)
        time.sleep(5)
    raise AssertionError(f"hookline sync run orders kept failing: {out.stdout[-1000:]} {out.stderr[-1000:]}")


@dataclass
class Figures:
    plan: Plan
    events: list[Sent] = field(default_factory=list)
    verdict: Verdict = field(default_factory=Verdict)
    minutes: dict[int, Minute] = field(default_factory=dict)
    rss: dict[str, float] = field(default_factory=dict)
    dlq_reasons: dict[str, int] = field(default_factory=dict)
    refused_by_ingress: list[str] = field(default_factory=list)
    out_of_order: list[str] = field(default_factory=list)
    answers: dict[str, dict[int, int]] = field(default_factory=dict)  # destination -> status -> count
    enrich_calls: int = 0
    erp_refused: int = 0  # erp attempts that found no listening socket (the receiver cannot count those)
    synced_versions: int = 0  # order versions the warehouse received
    orders: int = 0  # orders in the paged API at the end
    order_versions: int = 0  # versions they went through
    sync: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    dev_alive: bool = True
    evidence: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        p, v = self.plan, self.verdict
        routes: dict[str, int] = {}
        for e in self.events:
            for route in e.expected:
                routes[route] = routes.get(route, 0) + 1
        return [
            f"soak: {p.minutes:g} min at {p.rate:g} events/s (seed {p.seed}); erp down from {p.outage_start:.0f} s "
            f"for {p.outage_seconds:.0f} s (503, then refused connections)",
            f"  events sent: {len(self.events)}; refused by ingress: {len(self.refused_by_ingress)}; pairs per route: "
            f"{routes}",
            f"  sync: {self.orders} orders, {self.order_versions} versions; warehouse received "
            f"{self.synced_versions}; the last `sync run`: {self.sync.get('status')} ({self.sync.get('seen')} seen, "
            f"{self.sync.get('queued')} queued, watermark {self.sync.get('watermark')})",
            f"  destinations' answers: {self.answers}; erp attempts that could not connect: {self.erp_refused}; "
            f"enrichment calls: {self.enrich_calls} for "
            f"{routes.get('billing-to-crm', 0)} billing events",
            f"  (event, route) pairs: {v.pairs}; delivered once: {v.delivered}; stale as expected: {v.stale}; "
            f"in the DLQ as expected: {v.dead_as_expected}; DLQ by reason: {self.dlq_reasons}",
            f"  lost: {len(v.lost)}; duplicated: {len(v.duplicated)}; unexpected DLQ entries: {len(v.unexpected_dlq)}; "
            f"missing from the DLQ: {len(v.missing_dlq)}; delivered but should not be: "
            f"{len(v.delivered_unexpectedly)}; not stale: {len(v.not_stale)}; never sent: {len(v.unknown)}; "
            f"records out of order: {len(self.out_of_order)}",
            f"  dev process RSS: {self.rss.get('ready', 0):.0f} MB at ready, "
            f"{self.rss.get('minute 1', 0):.0f} MB after the first minute, "
            f"{self.rss.get('end', 0):.0f} MB at the end: growth "
            f"{self.rss.get('end', 0) - self.rss.get('ready', 0):+.0f} MB "
            f"({self.rss_growth()[0]:+.0f} MB after the first minute, "
            f"{1024 * self.rss_growth()[0] / max(len(self.events), 1):.0f} KB per event; allowed "
            f"{self.rss_growth()[1]:.0f} MB)",
            f"  time: {', '.join(f'{k} {s:.0f} s' for k, s in self.seconds.items())}",
            "  delivery latency by minute of sending (sent to first 2xx):",
            *latency_table(self.minutes),
            *self.evidence,
        ]

    def rss_growth(self) -> tuple[float, float]:
        """(MB grown from the end of the first minute to the end, the bound it must stay under)."""
        growth = self.rss.get("end", 0.0) - self.rss.get("minute 1", self.rss.get("ready", 0.0))
        return growth, RSS_SLACK_MB + RSS_MB_PER_EVENT * len(self.events)

    def problems(self) -> list[str]:
        out = [f"{name}: {len(keys)}: {keys[:10]}" for name, keys in self.verdict.problems().items()]
        if self.refused_by_ingress:
            out.append(f"events ingress never accepted: {self.refused_by_ingress[:10]}")
        if self.out_of_order:
            out.append(f"ordered route delivered versions out of order for: {self.out_of_order}")
        growth, bound = self.rss_growth()
        if growth > bound:
            out.append(f"the dev process's RSS grew {growth:.0f} MB after the first minute, over the "
                       f"{bound:.0f} MB allowed ({RSS_MB_PER_EVENT} MB per event + {RSS_SLACK_MB:.0f} MB)")
        if not self.dev_alive:
            out.append("the hookline dev process died during the run")
        return out

    def check(self) -> None:
        problems = self.problems()
        if problems:
            raise AssertionError("soak run failed:\n  " + "\n  ".join(problems))


def run(plan: Plan, workdir: Path, log: Any = print) -> Figures:
    figures = Figures(plan)
    world = World(plan)
    world.start()
    config = world.config(workdir)
    traffic = Traffic(plan, read_env(CONFIG_DIR / "demo.env"))
    dev = DevProcess(workdir, config, free_port(), "--fresh", "--enable-schedules", "--fire-schedules-on-start",
                     "--log-level", "ERROR")
    try:
        dev.wait_ready(120)
        pid = dev.proc.pid
        figures.rss["ready"] = rss_mb(pid)
        stack = Stack(workdir)
        log(f"soak: {plan.minutes:g} min, dev ready (pid {pid}, {figures.rss['ready']:.0f} MB); sending")
        erp_modes: dict[int, set[str]] = {}
        t0_wall, t0 = time.time(), time.monotonic()
        n, sampled = 0, -5.0
        with ThreadPoolExecutor(8) as pool:
            local = threading.local()

            def post(sent: Sent) -> None:
                if not hasattr(local, "session"):
                    local.session = requests.Session()
                send(local.session, dev.url, traffic, sent)

            while (t := time.monotonic() - t0) < plan.seconds:
                world.tick(t)
                minute = int(t // 60)
                erp_modes.setdefault(minute, set()).add(world.erp.mode)
                if t >= sampled + 5:  # the last sample of a minute stands for its end
                    sampled = t
                    figures.rss[f"m{minute}"] = rss_mb(pid)
                    if minute >= 1 and "minute 1" not in figures.rss:
                        figures.rss["minute 1"] = rss_mb(pid)
                while n < int(t * plan.rate):
                    sent = traffic.make(n)
                    figures.events.append(sent)
                    pool.submit(post, sent)
                    n += 1
                time.sleep(0.05)
            world.tick(plan.seconds)  # an outage that outlasts the traffic ends with it
            if world.erp.mode != UP:
                world.erp.come_back()
        figures.seconds["sending"] = time.monotonic() - t0
        log("soak: traffic stopped; last sync run, then waiting for the queues to drain")
        figures.sync = final_sync(workdir)
        figures.seconds["settling"] = settle(stack, world, plan.settle_timeout)
        figures.rss["end"] = rss_mb(pid)
        figures.dev_alive = dev.proc.poll() is None
        count(figures, world, workdir, t0_wall, erp_modes)
    finally:
        dev.interrupt()
        world.stop()
    return figures


def count(figures: Figures, world: World, workdir: Path, t0_wall: float, erp_modes: dict[int, set[str]]) -> None:
    events = figures.events
    figures.refused_by_ingress = [f"{e.id} {e.answers[-3:]}" for e in events if not e.accepted]
    expected = {k: want for e in events for k, want in e.pairs().items()} | world.expected_orders()
    effects = {name: d.effects() for name, d in world.destinations.items()}
    hits = {key: len(got) for by_key in effects.values() for key, got in by_key.items()}
    entries = dlq_entries(workdir)
    dead: dict[str, list[str]] = {}
    for entry in entries:
        dead.setdefault(pair_of(entry), []).append(entry["reason"])
    rows = hookline(workdir, "events", "--json")
    statuses = {f"{r['id']}:{r['route']}": r["status"] for r in rows}
    erp_attempts = [a for r in rows if r["route"] in ("github-to-erp", "shopify-to-erp")
                    for a in r.get("attempt_history", [])]
    figures.erp_refused = sum(str(a.get("error") or "").startswith("connection failed") for a in erp_attempts)
    figures.verdict = judge(expected, hits, dead, statuses)
    figures.dlq_reasons = {}
    for reasons in dead.values():
        for reason in reasons:
            figures.dlq_reasons[reason] = figures.dlq_reasons.get(reason, 0) + 1
    records = [(r.json()["record"], r.json()["version"]) for r in world.records.snapshot()
               if r.status is not None and 200 <= r.status <= 299]
    figures.out_of_order = out_of_order(records)
    figures.answers = {name: d.statuses() for name, d in world.destinations.items()}
    figures.enrich_calls = len(world.profiles.requests)
    figures.synced_versions = len(effects["warehouse"])
    figures.orders, figures.order_versions = len(world.versions), sum(map(len, world.versions.values()))

    first_2xx = {key: got[0].at for by_key in effects.values() for key, got in by_key.items()}
    destination_of = {route["name"]: route["destination"]
                      for route in yaml.safe_load((workdir / "hookline.yaml").read_text())["routes"]}
    minutes = by_minute(((e.started, first_2xx.get(f"{e.id}:{route}"), destination_of[route] in HEALTHY)
                         for e in events if e.accepted for route in e.expected), t0_wall)
    for e in events:
        minutes[int((e.started - t0_wall) // 60) if e.started else 0].sent += 1
    for minute, row in minutes.items():
        row.erp = erp_modes.get(minute, set())
        row.rss_mb = figures.rss.get(f"m{minute}")
    figures.minutes = dict(minutes)

    by_id = {r["id"] + ":" + r["route"]: r for r in rows}
    for name, keys in figures.verdict.problems().items():
        for key in keys[:20]:
            answers = [f"{r.status} at +{r.at - t0_wall:.1f}s" for d in world.destinations.values()
                       for r in d.snapshot() if idempotency_key(r) == key]
            row = by_id.get(key, {})
            attempts = [f"{a.get('outcome')} {a.get('status_code')} {str(a.get('error') or '')[:160]}"
                        for a in row.get("attempt_history", [])]
            figures.evidence.append(f"  {name}: {key}: expected {expected.get(key)}; destination answered "
                                    f"{answers}; event log: {row.get('status')} {attempts}; DLQ: {dead.get(key)}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=15.0)
    p.add_argument("--rate", type=float, default=Plan.rate, help="events a second (default %(default)s)")
    p.add_argument("--seed", type=int, default=Plan.seed)
    p.add_argument("--workdir", default=None, help="where hookline dev runs (default: a temporary directory)")
    args = p.parse_args(argv)
    plan = Plan(minutes=args.minutes, rate=args.rate, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="hookline-soak-") as tmp:
        workdir = Path(args.workdir or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        figures = run(plan, workdir)
    for line in figures.lines():
        print(line, flush=True)
    figures.check()
    print("soak run passed: every pair delivered once, stale, or in the DLQ for its destination's reason; "
          "no other DLQ entry; versions in order", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
