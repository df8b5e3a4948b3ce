"""Delivery under the audit's findings: a mapping that recurses too deep is a `mapping` failure with a reason."""

from __future__ import annotations

from typing import Any

from tests.support import moto_delivery as md
from tests.support.receiver import Receiver


class RecursingTransform:
    """A transform whose evaluation recurses without end (a deep document through a recursive mapping)."""

    def apply(self, envelope: Any) -> Any:
        return self.apply(envelope)


def test_a_recursion_error_in_mapping_is_a_mapping_failure_not_a_crash(stack: Any, lambda_context: Any) -> None:
    with Receiver() as dest:
        delivery = md.make_delivery(stack, md.config(dest.url, route=md.MAPPED_ROUTE))
        delivery._transforms["orders-to-crm"] = RecursingTransform()
        md.enqueue(stack, md.task("evt-deep"))
        response = md.run(stack, delivery, md.receive(stack), lambda_context)
        assert dest.requests == []
    # Acknowledged and dead-lettered at once with its reason, not retried until SQS redrives it blind
    assert md.failed(response) == set()
    [dead] = md.dlq_messages(stack)
    a = md.attrs(dead)
    assert a["reason"] == "mapping" and "nested too deeply" in a["last_error"]
