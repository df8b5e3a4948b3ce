"""The places where moto falls short of what hookline relies on, fixed inside the emulator.

`install()` applies them once per process; the integration tests (in-process `mock_aws`)
and `hookline dev` (moto's server) both call it, so both keep the same guarantees.

1. **Conditional writes are atomic.** DynamoDB guarantees that of N concurrent writes to a
   key under a condition at most one succeeds. moto evaluates the condition and writes the
   item in separate Python steps, so threads interleave: 20 threads putting one key with
   Powertools' idempotency condition got 2-4 winners. Every DynamoDB write of the backend
   runs under one lock (reads stay concurrent): the emulator is one process, so serialising
   its writes is exactly DynamoDB's per-item guarantee and a little more. A transaction backs
   up the items it touches, not (as moto does) a deep copy of every table it names: that made
   each transaction O(table), 60 ms at a few thousand events, where DynamoDB's cost is per item.
2. **IAM policies name resources for DynamoDB, SSM, Secrets Manager, Firehose, and the AWS targets
   (EventBridge, SNS, Lambda, Step Functions).** moto checks the action of these services against the
   resource `*`, so a statement scoped to a table ARN (what every least-privilege policy says) never
   matches and a `Resource: "*"` one always does. Their requests are checked against the ARN they
   touch instead, as on AWS (SQS and S3 already are). Lambda's Invoke is authorised as
   `lambda:InvokeFunction`, its permission's name.
3. **Batch actions are authorised as their single action**, as AWS does (`SendMessageBatch`
   needs `sqs:SendMessage`; there is no `sqs:SendMessageBatch` permission). moto checked them
   as actions of their own, which no correct policy grants.
   A DynamoDB transaction is authorised as the action of each of its items on that item's table
   (`Put` needs `dynamodb:PutItem`...; https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
4. **Inline role policies from CloudFormation are evaluable.** moto stores an
   `AWS::IAM::Role`'s `Policies[].PolicyDocument` as a dict where its IAM enforcement
   expects JSON text (a KeyError on the first authorised request); they are stored as JSON.
5. **`AWS::NoValue` removes a list item**, as in CloudFormation: `!If [Cond, {...}, !Ref AWS::NoValue]`
   in a role's `Policies` (the optional warehouse statements) left a `None` in the list, which
   moto's role creation cannot read.
6. **A receipt handle belongs to one receive.** SQS gives a message a new receipt handle each time it
   is received; a consumer that kept an older one (its invocation outlived the visibility timeout) no
   longer owns the message. moto honours every handle the message ever had. Here, as SQS documents
   (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteMessage.html):
   DeleteMessage with an older handle succeeds on a standard queue but leaves the message (the
   documented "might not be deleted", taken at its strictest), and fails on a FIFO queue, as does a
   FIFO handle whose visibility has lapsed ("The receipt handle has expired");
   ChangeMessageVisibility with an older handle, or for a message no longer in flight, fails with
   "Message does not exist or is not available for visibility timeout change".
7. **Firehose renders its S3 prefix** (partition keys, timestamps) and compresses, as the event archive's
   stream is configured (local/moto_firehose.py).
"""

from __future__ import annotations

import copy
import functools
import json
import threading
import types
from typing import Any
from urllib.parse import unquote

from hookline.local import moto_firehose

_installed = False
_install_lock = threading.Lock()
DYNAMODB_WRITE_LOCK = threading.RLock()
# The IAM action that authorises a batch API call (https://docs.aws.amazon.com/service-authorization/).
IAM_ACTION_OF = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "sns:PublishBatch": "sns:Publish",
    "lambda:Invoke": "lambda:InvokeFunction",  # the API's operation is Invoke, its permission InvokeFunction
}
# A transaction's items, each authorised as its own action on its own table.
TRANSACTION_ITEM_ACTIONS = {"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem",
                            "Delete": "dynamodb:DeleteItem", "ConditionCheck": "dynamodb:ConditionCheckItem",
                            "Get": "dynamodb:GetItem"}
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")


def install() -> None:
    global _installed
    with _install_lock:
        if _installed:
            return
        _serialise_dynamodb_writes()
        _resource_level_iam()
        _json_role_policies()
        _batch_actions_as_their_single_action()
        _no_value_drops_list_items()
        _receipt_handles_belong_to_one_receive()
        moto_firehose.install()
        _installed = True


def _serialise_dynamodb_writes() -> None:
    # lazy: moto (0.2-3 s a service, measured) loads when the emulator starts, not on import.
    from moto.dynamodb.models import DynamoDBBackend

    def locked(original: Any) -> Any:
        @functools.wraps(original)
        def write(self: Any, *args: Any, **kwargs: Any) -> Any:
            with DYNAMODB_WRITE_LOCK:
                return original(self, *args, **kwargs)

        return write

    for name in _WRITES:
        setattr(DynamoDBBackend, name, locked(getattr(DynamoDBBackend, name)))
    _transactions_back_up_their_items()


def _transactions_back_up_their_items() -> None:
    # lazy: moto (0.2-3 s a service, measured) loads when the emulator starts, not on import.
    from moto.dynamodb import models
    from moto.dynamodb.models import DynamoDBBackend, Table

    # moto's transact_write_items deep-copies each named table for its rollback; tables are kept as they
    # are here (the rollback below restores the touched items instead). Nothing else in that module
    # deep-copies a table.
    models.copy = types.SimpleNamespace(  # type: ignore[attr-defined]
        copy=copy.copy, deepcopy=lambda obj, memo=None: obj if isinstance(obj, Table) else copy.deepcopy(obj, memo))
    original = DynamoDBBackend.transact_write_items

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with DYNAMODB_WRITE_LOCK:
            saved = []
            for entry in transact_items:
                _, op = next(iter(entry.items()))
                if op.get("TableName") not in self.tables:
                    continue
                table = self.tables[op["TableName"]]
                key = op.get("Key") or {k: op["Item"][k] for k in (table.hash_key_attr, table.range_key_attr)
                                        if k and k in op.get("Item", {})}
                current = self.get_item(op["TableName"], key)
                saved.append((op["TableName"], key, current.to_json()["Attributes"] if current else None))
            try:
                original(self, transact_items)
            except Exception:
                for table_name, key, attributes in reversed(saved):  # all or nothing, as DynamoDB
                    if attributes is None:
                        self.delete_item(table_name, key)
                    else:
                        self.put_item(table_name, attributes)
                raise

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _dynamodb_resource(self: Any) -> str:
    body = getattr(self, "params", None) or {}
    table = body.get("TableName")
    if table is None:
        tables = list((body.get("RequestItems") or {}).keys())
        table = tables[0] if len(tables) == 1 else None
    if not table:
        return "*"
    if str(table).startswith("arn:"):
        return str(table)
    arn = f"arn:aws:dynamodb:{self.region}:{self.current_account}:table/{table}"
    return f"{arn}/index/{body['IndexName']}" if body.get("IndexName") else arn


def _ssm_resource(self: Any) -> str:
    name = self._get_param("Name") or self._get_param("Path")
    if not name:
        names = self._get_param("Names") or []
        name = names[0] if len(names) == 1 else None
    if not name:
        return "*"
    return f"arn:aws:ssm:{self.region}:{self.current_account}:parameter/{str(name).lstrip('/')}"


def _secret_resource(self: Any) -> str:
    secret = self._get_param("SecretId")
    if not secret:
        return "*"
    if str(secret).startswith("arn:"):
        return str(secret)
    return f"arn:aws:secretsmanager:{self.region}:{self.current_account}:secret:{secret}"


def _firehose_resource(self: Any) -> str:
    stream = self._get_param("DeliveryStreamName")
    return f"arn:aws:firehose:{self.region}:{self.current_account}:deliverystream/{stream}" if stream else "*"


def _events_resource(self: Any) -> str:
    # PutEvents: the bus its entries name (hookline's entries of one call share one bus).
    buses = {str(e.get("EventBusName") or "default") for e in (self._get_param("Entries") or [])}
    if len(buses) != 1:
        return "*"
    bus = buses.pop()
    return bus if bus.startswith("arn:") else f"arn:aws:events:{self.region}:{self.current_account}:event-bus/{bus}"


def _sns_resource(self: Any) -> str:
    return str(self._get_param("TopicArn") or "*")


def _lambda_resource(self: Any) -> str:
    # /2015-03-31/functions/NAME-or-ARN/invocations
    parts = [unquote(p) for p in self.path.split("/")]
    if "functions" not in parts or parts.index("functions") + 1 >= len(parts):
        return "*"
    name = parts[parts.index("functions") + 1]
    return name if name.startswith("arn:") else f"arn:aws:lambda:{self.region}:{self.current_account}:function:{name}"


def _states_resource(self: Any) -> str:
    return str(self._get_param("stateMachineArn") or self._get_param("executionArn") or "*")


def _sqs_resource(original: Any) -> Any:
    # GetQueueUrl names its queue by QueueName, which moto's own resource lookup does not read.
    def resource(self: Any) -> str:
        name = self._get_param("QueueName")
        if name and not self._get_param("QueueUrl"):
            return f"arn:aws:sqs:{self.region}:{self.current_account}:{name}"
        return str(original(self))

    return resource


def _resource_level_iam() -> None:
    # lazy: moto (0.2-3 s a service, measured) loads when the emulator starts, not on import.
    from moto.dynamodb.responses import DynamoHandler
    from moto.firehose.responses import FirehoseResponse
    from moto.secretsmanager.responses import SecretsManagerResponse
    from moto.ssm.responses import SimpleSystemManagerResponse

    DynamoHandler._determine_resource = _dynamodb_resource  # type: ignore[attr-defined]
    SimpleSystemManagerResponse._determine_resource = _ssm_resource  # type: ignore[attr-defined]
    SecretsManagerResponse._determine_resource = _secret_resource  # type: ignore[attr-defined]
    FirehoseResponse._determine_resource = _firehose_resource  # type: ignore[attr-defined]
    # lazy: as above
    from moto.awslambda.responses import LambdaResponse
    from moto.events.responses import EventsHandler
    from moto.sns.responses import SNSResponse
    from moto.stepfunctions.responses import StepFunctionResponse

    EventsHandler._determine_resource = _events_resource  # type: ignore[attr-defined]
    SNSResponse._determine_resource = _sns_resource  # type: ignore[attr-defined]
    LambdaResponse._determine_resource = _lambda_resource  # type: ignore[attr-defined]
    StepFunctionResponse._determine_resource = _states_resource  # type: ignore[attr-defined]
    # lazy: as above
    from moto.sqs.responses import SQSResponse

    SQSResponse._determine_resource = _sqs_resource(SQSResponse._determine_resource)  # type: ignore[method-assign]


def _json_role_policies() -> None:
    # lazy: moto (0.2-3 s a service, measured) loads when the emulator starts, not on import.
    from moto.iam.models import Role

    original = Role.put_policy

    @functools.wraps(original)
    def put_policy(self: Any, policy_name: str, policy_json: Any) -> None:
        if not isinstance(policy_json, str):
            policy_json = json.dumps(policy_json)
        original(self, policy_name, policy_json)

    Role.put_policy = put_policy  # type: ignore[method-assign]


def _batch_actions_as_their_single_action() -> None:
    # lazy: moto (0.2-3 s a service, measured) loads when the emulator starts, not on import.
    from moto.iam.access_control import IAMRequestBase

    original = IAMRequestBase.__init__

    @functools.wraps(original)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._action = IAM_ACTION_OF.get(self._action, self._action)

    IAMRequestBase.__init__ = init  # type: ignore[method-assign]
    check = IAMRequestBase.check_action_permitted

    @functools.wraps(check)
    def check_action_permitted(self: Any, resource: str) -> None:
        if self._action not in ("dynamodb:TransactWriteItems", "dynamodb:TransactGetItems"):
            return check(self, resource)
        action = self._action
        try:
            for entry in json.loads(self._body or b"{}").get("TransactItems") or []:
                for kind, item in entry.items():
                    table = str(item.get("TableName", ""))
                    arn = table if table.startswith("arn:") else (
                        f"arn:aws:dynamodb:{self._region}:{self.account_id}:table/{table}")
                    self._action = TRANSACTION_ITEM_ACTIONS.get(kind, action)
                    check(self, arn)
        finally:
            self._action = action

    IAMRequestBase.check_action_permitted = check_action_permitted  # type: ignore[method-assign]


def _no_value_drops_list_items() -> None:
    # lazy: moto (0.2-3 s a service, measured) loads when the emulator starts, not on import.
    from moto.cloudformation import parsing

    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, list):  # moto's own recursion resolves this module global: it comes here
            cleaned = ((val, clean_json(val, resources_map)) for val in resource_json)
            return [c for val, c in cleaned if not (c is None and isinstance(val, dict))]
        return original(resource_json, resources_map)

    parsing.clean_json = clean_json


def _receipt_handles_belong_to_one_receive() -> None:
    # lazy: moto (0.2-3 s a service, measured) loads when the emulator starts, not on import.
    from moto.sqs.exceptions import ReceiptHandleIsInvalid
    from moto.sqs.models import Queue, SQSBackend

    class StaleHandle(ReceiptHandleIsInvalid):
        """SQS's InvalidParameterValue for a handle that no longer works; a ReceiptHandleIsInvalid so that
        moto's batch actions report it per entry, as SQS does."""

        def __init__(self, receipt_handle: str, reason: str) -> None:
            super(ReceiptHandleIsInvalid, self).__init__(
                "InvalidParameterValue",
                f"Value {receipt_handle} for parameter ReceiptHandle is invalid. Reason: {reason}")

    def holder(queue: Any, receipt_handle: str) -> Any:
        return next((m for m in queue._messages if m.had_receipt_handle(receipt_handle)), None)

    delete = Queue.delete_message

    @functools.wraps(delete)
    def delete_message(self: Any, receipt_handle: str) -> None:
        message = holder(self, receipt_handle)
        if message is not None and (message.receipt_handle != receipt_handle
                                    or (self.fifo_queue and message.visible)):
            if self.fifo_queue:
                raise StaleHandle(receipt_handle, "The receipt handle has expired.")
            return  # a standard queue answers success and keeps the message
        delete(self, receipt_handle)

    change = SQSBackend.change_message_visibility

    @functools.wraps(change)
    def change_message_visibility(self: Any, queue_name: str, receipt_handle: str, visibility_timeout: int) -> None:
        message = holder(self.get_queue(queue_name), receipt_handle)
        if message is not None and (message.receipt_handle != receipt_handle or message.visible):
            raise StaleHandle(receipt_handle,
                              "Message does not exist or is not available for visibility timeout change.")
        change(self, queue_name, receipt_handle, visibility_timeout)

    Queue.delete_message = delete_message  # type: ignore[method-assign]
    SQSBackend.change_message_visibility = change_message_visibility  # type: ignore[method-assign]
