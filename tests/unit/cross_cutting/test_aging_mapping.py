"""Things that age, continued (see test_aging.py): signature windows, compiled transforms, lookups and
filters under a moved wall clock, schedules, expiry stamps, the metrics buffer and hookline dev's
configuration reload."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hookline.validation import parse_config
from tests.support.aging import HOURS, LATER, MINUTES, SECONDS, THREADS, Clock, together

# ---------------------------------------------------------------- signature timestamp tolerance (ingress/signatures.py)


@pytest.mark.parametrize("scheme", ["stripe", "standard-webhooks"])
def test_a_signed_timestamp_is_accepted_for_its_tolerance_and_refused_after(scheme: str) -> None:
    # Signed by the provider's own SDK at `signed`, verified by ours as the ingress clock moves on
    from datetime import UTC, datetime

    import standardwebhooks.webhooks as sw
    import stripe

    from hookline.core.config import VerifyConfig
    from hookline.ingress.signatures import SignatureError, verify

    signed, body = 1_800_000_000, b'{"id": "evt_1", "type": "charge.succeeded"}'
    cfg = VerifyConfig(scheme=scheme, secrets=["env:S"], tolerance_seconds=300)
    if scheme == "stripe":
        secret = "whsec_test_secret"
        headers = {"stripe-signature": stripe.WebhookSignature.generate_signature_header(
            body.decode(), secret, timestamp=signed)}
    else:
        secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        headers = {"webhook-id": "msg_1", "webhook-timestamp": str(signed),
                   "webhook-signature": sw.Webhook(secret).sign("msg_1", datetime.fromtimestamp(signed, UTC),
                                                                 body.decode())}
    for later in (SECONDS, 300):
        verify(cfg, [secret], headers, body, now=signed + later)
        verify(cfg, [secret], headers, body, now=signed - later)  # a sender's clock a little ahead
    for later in (301, MINUTES, HOURS):
        with pytest.raises(SignatureError, match="outside the 300 s tolerance"):
            verify(cfg, [secret], headers, body, now=signed + later)
        with pytest.raises(SignatureError, match="outside the 300 s tolerance"):
            verify(cfg, [secret], headers, body, now=signed - later)


# ------------------------------------------- compiled transforms, lookups, filters (mapping/, core/routing.py)
# These have no clock: what could age is a budget or counter hidden in a library (jsonata-python started
# its time budget when an expression was built). So the wall clock itself is moved (time-machine moves
# time.time and datetime, which such libraries read), and each form is evaluated again and again.

ENVELOPE = {"id": "evt_1", "source": "stripe", "type": "charge.succeeded", "received_at": 1_800_000_000,
            "body": {"id": "ch_1", "amount": 129900, "currency": "eur", "status": "succeeded", "country": "FR",
                     "created": "2027-01-15T10:00:00Z", "note": None, "items": [{"sku": "a", "qty": 2}]}}


def _every_form(base: Path) -> tuple[dict[str, Any], Any]:
    (base / "regions.csv").write_text("country,region\nFR,emea\nUS,amer\n")
    (base / "transforms").mkdir()
    (base / "transforms" / "__init__.py").write_text("")
    (base / "transforms" / "deal.py").write_text(
        "def to_deal(envelope):\n    return {'id': envelope['body']['id'], 'cents': envelope['body']['amount']}\n")
    spec = {
        "id": "body.id",
        "amount": {"path": "body.amount", "type": "int"},
        "label": {"template": "charge {body.id} in {body.currency}"},
        "stage": {"path": "body.status", "lookup": {"succeeded": "won", "failed": "lost"}},
        "region": {"path": "body.country", "lookup_file": "regions.csv"},
        "closed": {"path": "body.created", "type": "datetime", "output_format": "%d/%m/%Y %H:%M",
                   "timezone": "Europe/Paris"},
        "note": {"path": "body.note", "default": "none"},
        "euros": {"jsonata": "body.amount / 100"},
        "lines": {"each": "body.items", "fields": {"sku": "sku", "qty": {"path": "qty", "type": "int"}}},
    }
    expected = {"id": "ch_1", "amount": 129900, "label": "charge ch_1 in eur", "stage": "won", "region": "emea",
                "closed": "15/01/2027 11:00", "note": "none", "euros": 1299, "lines": [{"sku": "a", "qty": 2}]}
    return spec, expected


def test_every_transform_form_gives_the_same_answer_hours_later_after_failures_and_from_threads(
        tmp_path: Path) -> None:
    import time_machine

    from hookline.core.expressions import search
    from hookline.core.routing import RouteIndex
    from hookline.mapping.compiler import MappingError, compile_transform
    from hookline.mapping.urls import compile_url_template

    spec, expected = _every_form(tmp_path)
    cfg = parse_config({
        "sources": {"stripe": {"verify": {"scheme": "stripe", "secrets": ["env:S"]}}},
        "destinations": {"crm": {"url": "https://crm.example.com"}},
        "routes": [{"name": "won", "source": "stripe", "destination": "crm", "when": "body.status == 'succeeded'"},
                   {"name": "eu", "source": "stripe", "destination": "crm",
                    "when": "contains(['FR','DE'], body.country)"},
                   {"name": "all", "source": "stripe", "destination": "crm"}]})
    with time_machine.travel(1_800_000_000, tick=False) as traveller:
        mapping = compile_transform(spec, tmp_path)
        python = compile_transform({"python": "transforms.deal:to_deal"}, tmp_path)
        url = compile_url_template("/contacts/{body.id}?c={body.currency}")
        index = RouteIndex(cfg.routes)
        strict = compile_transform({"stage": {"path": "body.status", "lookup": {"x": "y"}}}, tmp_path)

        def answers(envelope: dict[str, Any]) -> tuple[Any, ...]:
            return (mapping.apply(envelope), python.apply(envelope), url(envelope),
                    [r.name for r in index.matching("stripe", envelope)], search("body.items[0].qty", envelope))

        want = (expected, {"id": "ch_1", "cents": 129900}, "/contacts/ch_1?c=eur", ["won", "eu", "all"], 2)
        assert answers(ENVELOPE) == want
        for step in LATER:
            traveller.shift(step)
            assert answers(ENVELOPE) == want, step
        # 500 failing evaluations (a value missing from a lookup table) leave nothing behind
        for _ in range(500):
            with pytest.raises(MappingError):
                strict.apply(ENVELOPE)
        assert answers(ENVELOPE) == want
        # Ten threads at once, each its own envelope, 50 times each
        def many(i: int) -> bool:
            envelope = {**ENVELOPE, "body": {**ENVELOPE["body"], "id": f"ch_{i}"}}
            mine = (
                {**expected, "id": f"ch_{i}", "label": f"charge ch_{i} in eur"}, {"id": f"ch_{i}", "cents": 129900},
                f"/contacts/ch_{i}?c=eur", ["won", "eu", "all"], 2)
            return all(answers(envelope) == mine for _ in range(50))
        assert together(many) == [True] * THREADS


def test_the_transform_cache_refills_correctly_after_it_is_emptied() -> None:
    from hookline.mapping import compiler

    # render() keeps 256 compiled transforms and empties itself when full: a long-lived process that has
    # seen more specs (hot reloads in hookline dev) still renders each one right
    specs = [{"n": {"value": i}} for i in range(compiler._CACHE_SIZE + 44)]
    for _ in range(2):
        assert [compiler.render(s, ENVELOPE) for s in specs] == [{"n": i} for i in range(len(specs))]
    assert len(compiler._CACHE) <= compiler._CACHE_SIZE


# ---------------------------------------------------------------- schedules and expiry stamps


def test_a_sync_is_due_again_exactly_every_interval_and_an_unfinished_run_at_once() -> None:
    from hookline.sync.runner import due

    cfg = parse_config({
        "sources": {"shop": {"verify": {"scheme": "github", "secrets": ["env:X"]}}},
        "destinations": {}, "routes": [],
        "syncs": {"orders": {"source": "shop", "url": "https://shop.example.com/orders", "every": "1h"}}})
    finished = 1_000_000.0
    states = {"orders": {"next_run_at": finished + 3600, "watermark": "2027-01-01T00:00:00Z"}}
    assert due(cfg, states, finished + SECONDS) == []
    assert due(cfg, states, finished + MINUTES) == []
    assert due(cfg, states, finished + 3600) == ["orders"]
    assert due(cfg, states, finished + HOURS) == ["orders"]  # a missed hour runs once, not six times
    # A run that stopped part-way (its checkpoint kept) is resumed on the next tick, whatever next_run_at says
    states["orders"]["checkpoint"] = {"run_id": "r1"}
    assert due(cfg, states, finished + SECONDS) == ["orders"]


def test_held_events_look_again_sooner_than_five_minutes_however_long_the_hold() -> None:
    from hookline.delivery.outcomes.deferral import MAX_HOLD_DELAY_SECONDS, hold_delay

    delays = [hold_delay(held, cool_down=60) for held in (0.0, *LATER, 3 * 86400.0)]
    assert delays[:3] == [60, 60, 150]  # the cool-down, then a quarter of the time held
    assert delays[3:] == [MAX_HOLD_DELAY_SECONDS] * 2 == [300, 300]


def test_a_retry_after_date_is_read_against_the_current_time() -> None:
    from hookline.delivery.outcomes.retry import parse_retry_after

    # "Retry-After: <date>": the wait shrinks as the clock moves on, and a date already past is no wait
    header = "Fri, 15 Jan 2027 08:10:00 GMT"
    at = 1_800_000_600  # that date, as epoch seconds
    assert parse_retry_after(header, now=at - MINUTES) == 600
    assert parse_retry_after(header, now=at - MINUTES + SECONDS) == 597
    assert parse_retry_after(header, now=at + HOURS) == 0


def test_ttl_stamps_follow_the_clock_at_each_write_not_the_process_start() -> None:
    from hookline.adapters.aws.guard_store import GuardStore
    from hookline.adapters.aws.stores import EventLog

    clock = Clock()
    log = EventLog("events", ttl_seconds=30 * 86400, resource=object(), clock=clock)
    records = GuardStore("records", resource=object(), clock=clock, ttl_seconds=86400)
    first = (log._expires(), int(records._expires()))
    for step in LATER:
        clock.advance(step)
        assert (log._expires(), int(records._expires())) == (first[0] + int(clock.now - 1_000_000.0),
                                                              first[1] + int(clock.now - 1_000_000.0))


# ---------------------------------------------------------------- hookline dev's configuration reload (local/reload.py)


class ScriptedPolls:
    """Stands in for the watcher's stop event: each wait() is one poll interval passing, after `steps[i]`."""

    def __init__(self, steps: list[Callable[[], None]]) -> None:
        self.steps = list(steps)

    def wait(self, interval: float) -> bool:
        if not self.steps:
            return True  # stop
        self.steps.pop(0)()
        return False

    def set(self) -> None:
        self.steps = []


def test_config_reload_sees_each_save_seconds_minutes_and_hours_apart_and_nothing_else(tmp_path: Path) -> None:
    import os

    import yaml

    from hookline.local.reload import ConfigWatcher
    from hookline.validation import load_config

    base: dict[str, Any] = {
        "sources": {"gh": {"verify": {"scheme": "github", "secrets": ["env:GH"]}}},
        "destinations": {"crm": {"url": "http://127.0.0.1:9/a", "timeout_seconds": 1}},
        "routes": [{"name": "a", "source": "gh", "destination": "crm"}]}
    path = tmp_path / "hookline.yaml"
    path.write_text(yaml.safe_dump(base))
    start = path.stat().st_mtime
    os.utime(path, (start, start))
    applied: list[Any] = []
    watcher = ConfigWatcher(path, load_config(path), load=load_config, apply=applied.append, say=lambda s: None)

    def save(timeout: int, later: float) -> Callable[[], None]:
        def step() -> None:
            base["destinations"]["crm"]["timeout_seconds"] = timeout
            path.write_text(yaml.safe_dump(base))
            os.utime(path, (start + later, start + later))
        return step

    idle: Callable[[], None] = lambda: None  # noqa: E731 - a poll with no save
    watcher._stop = ScriptedPolls([idle, save(2, SECONDS), idle, idle, save(3, MINUTES), idle,
                                   save(4, HOURS), idle, idle])  # type: ignore[assignment]
    watcher._run()
    assert [cfg.destinations["crm"].timeout_seconds for cfg in applied] == [2, 3, 4]
    assert watcher.reloads == 3


# ---------------------------------------------------------------- metrics buffer (observability.py, Powertools Metrics)


def counting_handler() -> Callable[[dict[str, Any], Any], None]:
    """A handler as the functions wrap theirs: Powertools' log_metrics around a count with the event's fields."""
    from hookline.observability import count_event, metrics

    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> None:
        count_event("Accepted", **event)
    return handler


def test_metrics_and_their_event_fields_are_flushed_per_invocation_not_kept_for_the_process(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    import time_machine

    from hookline.observability import metrics

    handler = counting_handler()
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED")  # the EMF lines are what is checked
    # The buffer is process-wide: earlier tests on this worker counted without a handler (ingress called
    # directly), which no invocation here would have left behind
    metrics.clear_metrics()
    with time_machine.travel(1_800_000_000, tick=False) as traveller:
        lines = []
        for n, step in enumerate([0.0, *LATER]):
            traveller.shift(step)
            handler({"event_id": f"evt-{n}"} if n == 0 else {}, None)
            lines += [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"_aws"' in x]
    # One EMF line per invocation, each counting 1, stamped with its own time; the first event's id is
    # never carried into a later invocation's line, however long the process lives
    assert [line["Accepted"] for line in lines] == [[1.0]] * 4
    assert [line["_aws"]["Timestamp"] for line in lines] == [
        int((1_800_000_000 + at) * 1000) for at in (0, SECONDS, SECONDS + MINUTES, SECONDS + MINUTES + HOURS)]
    assert lines[0]["event_id"] == "evt-0" and all("event_id" not in line for line in lines[1:])
    assert metrics.metric_set == {} and metrics.metadata_set == {}


def test_with_metrics_disabled_nothing_is_kept_between_invocations_nor_printed_every_hundredth(
        capsys: pytest.CaptureFixture[str]) -> None:
    # POWERTOOLS_METRICS_DISABLED (conftest; hookline dev; POWERTOOLS_DEV=true on a deployed function):
    # Powertools' flush then neither prints nor empties the buffer, and add_metric prints it anyway once a
    # metric has 100 values: an EMF line counting 100 invocations under the last event's fields
    import time_machine

    from hookline.observability import metrics

    handler = counting_handler()
    metrics.clear_metrics()
    with time_machine.travel(1_800_000_000, tick=False) as traveller:
        for n in range(150):
            traveller.shift([0.0, *LATER][n % 4])
            handler({"event_id": f"evt-{n}"}, None)
            assert metrics.metric_set == {} and metrics.metadata_set == {}, n
    assert '"_aws"' not in capsys.readouterr().out


def test_with_metrics_disabled_handlers_on_several_threads_leave_nothing_behind(
        capsys: pytest.CaptureFixture[str]) -> None:
    # hookline dev runs the functions' handlers on threads of one process, metrics disabled
    import time_machine

    from hookline.observability import metrics

    handler = counting_handler()
    metrics.clear_metrics()
    with time_machine.travel(1_800_000_000, tick=False) as traveller:
        for step in [0.0, *LATER]:
            traveller.shift(step)
            together(lambda i: [handler({"event_id": f"evt-{i}-{n}"}, None) for n in range(30)])
    assert metrics.metric_set == {} and metrics.metadata_set == {}
    assert '"_aws"' not in capsys.readouterr().out
