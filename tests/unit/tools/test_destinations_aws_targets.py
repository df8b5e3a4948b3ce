"""`hookline destinations` names an AWS target's type and the resource it delivers to (never an account's
secret: there is none), and its egress is the function's role, not a host."""

from __future__ import annotations

from hookline.operations.destinations import destination_rows
from hookline.validation import parse_config


def test_aws_targets_show_their_type_and_resource() -> None:
    config = parse_config({"destinations": {
        "bus": {"type": "eventbridge", "bus": "orders", "source": "shop"},
        "queue": {"type": "sqs", "queue": "https://sqs.eu-west-1.amazonaws.com/123456789012/orders.fifo"},
        "topic": {"type": "sns", "topic": "arn:aws:sns:eu-west-1:123456789012:alerts"},
        "fn": {"type": "lambda", "function": "enrich", "invocation": "sync"},
        "flow": {"type": "stepfunctions", "state_machine": "arn:aws:states:eu-west-1:123456789012:stateMachine:fulfil"},
        "crm": {"url": "https://crm.example/c"},
    }})
    got = {r.name: (r.target, r.auth, r.egress) for r in destination_rows(config, {}, [], 0.0)}
    assert got == {
        "bus": ("eventbridge orders", "none", "aws"),
        "queue": ("sqs orders.fifo", "none", "aws"),
        "topic": ("sns alerts", "none", "aws"),
        "fn": ("lambda enrich (sync)", "none", "aws"),
        "flow": ("stepfunctions fulfil", "none", "aws"),
        "crm": ("http", "none", "direct"),
    }
