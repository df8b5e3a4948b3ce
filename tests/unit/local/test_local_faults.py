"""Which calls the chaos run's ingress faults hit (local/faults.py)."""

from __future__ import annotations

import threading

import pytest

from hookline.local.faults import INGRESS_FUNCTION, Faults

PUTS = {"TransactItems": [{"Put": {"TableName": "t", "Item": {}}}, {"Put": {"TableName": "t", "Item": {}}}]}
DELETES = {"TransactItems": [{"Delete": {"TableName": "t", "Key": {}}}, {"Delete": {"TableName": "t", "Key": {}}}]}


def on_ingress_thread(call: object) -> object:
    out: list[object] = []
    worker = threading.Thread(target=lambda: out.append(call()), name=f"{INGRESS_FUNCTION}-1")
    worker.start()
    worker.join()
    return out[0]


@pytest.mark.parametrize(("operation", "params", "hit"), [
    ("PutItem", {}, True),
    ("TransactWriteItems", PUTS, True),  # the record with its replay guard (github, shopify)
    ("SendMessage", {}, True),  # one route's queueing
    ("SendMessageBatch", {}, True),
    ("TransactWriteItems", DELETES, False),  # the release of a record whose queueing failed
    ("DeleteItem", {}, False),
    ("GetObject", {}, False),
])
def test_ingress_faults_hit_the_recording_and_queueing_calls_and_never_a_release(operation: str, params: dict,
                                                                                 hit: bool) -> None:
    faults = Faults(seed=1, ingress_error=1.0)
    assert on_ingress_thread(lambda: faults.ingress_call_fails(operation, params)) is hit


def test_ingress_faults_spare_other_functions() -> None:
    assert Faults(seed=1, ingress_error=1.0).ingress_call_fails("PutItem", {}) is False  # not an ingress thread
