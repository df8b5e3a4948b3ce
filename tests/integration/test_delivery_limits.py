"""Delivery under the audit's findings: a mapping that recurses too deep is a `mapping` failure with a reason."""

from __future__ import annotations

from typing import Any

from tests.integration.test_delivery import (
    MAPPED_ROUTE,
    attrs,
    config,
    dlq_messages,
    enqueue,
    failed,
    make_delivery,
    receive,
    run,
    task,
)
from tests.support.receiver import Receiver


class RecursingTransform:
    """A transform whose evaluation recurses without end (a deep document through a recursive mapping)."""

    def apply(self, envelope: Any) -> Any:
        return self.apply(envelope)


def test_a_recursion_error_in_mapping_is_a_mapping_failure_not_a_crash(stack: Any, lambda_context: Any) -> None:
    with Receiver() as dest:
        delivery = make_delivery(stack, config(dest.url, route=MAPPED_ROUTE))
        delivery._transforms["orders-to-crm"] = RecursingTransform()
        enqueue(stack, task("evt-deep"))
        response = run(stack, delivery, receive(stack), lambda_context)
        assert dest.requests == []
    # Acknowledged and dead-lettered at once with its reason, not retried until SQS redrives it blind
    assert failed(response) == set()
    [dead] = dlq_messages(stack)
    a = attrs(dead)
    assert a["reason"] == "mapping" and "nested too deeply" in a["last_error"]
