"""Delivery claims kept in the event log's (event, route) item: one write completes both. boto3 adapter.

A Powertools persistence layer (the idempotency protocol is Powertools', unchanged: claim before
the send, INPROGRESS until the invocation's time runs out, COMPLETED for the window), whose record
is not an item of its own but `idem_*` attributes of the EventsTable item `(event_id, route)`:

- claim (`_put_record`): a conditional UpdateItem, not a PutItem, so the item's attempt log survives;
- completion (`_update_record`): the same UpdateItem also appends the delivered attempt and sets the
  route's status, so a delivery costs two writes (claim, completion) instead of three;
- release on failure (`_delete_record`): REMOVE of the `idem_*` attributes (the log stays).

The delivered attempt travels in the function's result under `ports.LOG_KEY`; it is written, not stored
in the saved response. Readers (aws.EventLog) drop the `idem_*` attributes.

The claim also binds the route to one queueing of the event, and refuses a message handed back after
it was dead-lettered or after it re-enqueued its event (core/chains.py); `hand_over` is a
deferral's write, `before_dead_letter` the same terms for a dead letter sent without a claim.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyItemAlreadyExistsError
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from hookline.adapters.aws.errors import translated
from hookline.adapters.aws.stores import clear_on_delivery
from hookline.core import ports
from hookline.core.chains import CURRENT_CLAIMANT, AlreadyDeadLettered, ChainSuperseded, Claimant, HandedOver
from hookline.core.errors import StoreUnavailable

CLAIM_PREFIX = "idem_"  # not `claim_`: pulled records' `#event` items use claim_until, claim_run
_SEP = ":"  # route names never contain it (config: ^[A-Za-z0-9_.-]+$); event ids may
CHAIN_ATTR, CHAIN_UNTIL_ATTR = f"{CLAIM_PREFIX}chain", f"{CLAIM_PREFIX}chain_until"
DEAD_MESSAGE_ATTR = "dead_message_id"  # written with the route's `dead` status (the event log's, public)
HANDED_OVER_ATTR = f"{CLAIM_PREFIX}handed_over_by"  # the message whose deferral re-enqueued the event last
_BOUND = "attribute_not_exists(#chain) OR #chain = :chain OR #chain_until < :now"
_LIVE_CLAIM = "attribute_not_exists(#status) OR #expiry < :now OR " \
              "(#status = :inprogress AND attribute_exists(#ip) AND #ip < :now_ms)"


def _value(value: Any) -> dict[str, Any]:
    return TypeSerializer().serialize(json.loads(json.dumps(value), parse_float=Decimal))


class RouteClaims(DynamoDBPersistenceLayer):
    """Powertools records as attributes of the event log's `(event_id, route)` items."""

    logs_delivery = True  # the engine does not write the delivered attempt separately

    def __init__(self, table_name: str, ttl_seconds: int = 30 * 24 * 3600, boto3_client: Any = None) -> None:
        super().__init__(table_name=table_name, key_attr="event_id", expiry_attr=f"{CLAIM_PREFIX}expiration",
                         in_progress_expiry_attr=f"{CLAIM_PREFIX}in_progress_expiration",
                         status_attr=f"{CLAIM_PREFIX}status", data_attr=f"{CLAIM_PREFIX}data",
                         validation_key_attr=f"{CLAIM_PREFIX}validation", boto3_client=boto3_client)
        self.ttl_seconds = ttl_seconds

    def _get_hashed_idempotency_key(self, data: Any) -> str | None:
        # The key is the item's own key ("<event_id>:<route>", delivery.http.idempotency_key), not a hash.
        return data if isinstance(data, str) and _SEP in data else super()._get_hashed_idempotency_key(data)

    def _get_key(self, idempotency_key: str) -> dict:
        event_id, route = idempotency_key.rsplit(_SEP, 1)
        return {"event_id": {"S": event_id}, "route": {"S": route}}

    def _expires_at(self) -> dict[str, str]:
        return {"N": str(int(dt.datetime.now().timestamp()) + self.ttl_seconds)}

    def _put_record(self, data_record: DataRecord) -> None:
        now = dt.datetime.now().timestamp()
        values: dict[str, Any] = {
            ":status": {"S": data_record.status}, ":expiry": {"N": str(data_record.expiry_timestamp)},
            ":inprogress": {"S": "INPROGRESS"}, ":exp": self._expires_at(),
            ":now": {"N": str(int(now))}, ":now_ms": {"N": str(int(now * 1000))},
        }
        names = {"#status": self.status_attr, "#expiry": self.expiry_attr, "#ip": self.in_progress_expiry_attr,
                 "#data": self.data_attr}
        sets = "#status = :status, #expiry = :expiry, expires_at = :exp"
        if data_record.in_progress_expiry_timestamp is not None:
            sets += ", #ip = :ip"
            values[":ip"] = {"N": str(data_record.in_progress_expiry_timestamp)}
        # Powertools' own condition: no live claim, or an expired one, or an in-progress one whose
        # invocation is over.
        condition = _LIVE_CLAIM
        claimant = CURRENT_CLAIMANT.get()
        if claimant is not None:
            condition, sets = _claimant_terms(claimant, condition, sets, names, values)
        try:
            self.client.update_item(
                TableName=self.table_name, Key=self._get_key(data_record.idempotency_key),
                UpdateExpression=f"SET {sets} REMOVE #data", ConditionExpression=condition,
                ExpressionAttributeNames=names, ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            item = exc.response.get("Item")  # type: ignore[typeddict-item]
            if not item:
                raise IdempotencyItemAlreadyExistsError() from exc
            if claimant is not None and not _claimed(item, self, now):
                _refuse(claimant, item)
            old = self._item_to_data_record(item)
            self._save_to_cache(data_record=old)
            raise IdempotencyItemAlreadyExistsError(old_data_record=old) from exc

    @translated(StoreUnavailable)  # the engine's own calls; Powertools' (_put_record ...) keep its contract
    def hand_over(self, idempotency_key: str, claimant: Claimant, until: float,
                  fields: dict[str, Any] | None = None) -> bool:
        """Before a deferral re-enqueues its task (core/chains.py): bind the route to the message's
        chain and name the message as handing it over. False: another queueing owns the route. `fields`
        (source, received_at) keep an item created here filterable, as the event log's writes do."""
        names = {"#handed": HANDED_OVER_ATTR}
        values: dict[str, Any] = {":msg": {"S": claimant.message_id}}
        sets, condition = ["#handed = :msg", *_set_fields(fields or {}, names, values)], None
        if claimant.chain is not None:
            values.update({":now": {"N": str(int(dt.datetime.now().timestamp()))}, ":until": {"N": str(int(until))}})
            condition = _bound(claimant, names, values)
            sets += ["#chain = :chain", "#chain_until = :until"]
        try:
            self.client.update_item(TableName=self.table_name, Key=self._get_key(idempotency_key),
                                    UpdateExpression="SET " + ", ".join(sets), ExpressionAttributeNames=names,
                                    ExpressionAttributeValues=values,
                                    **({"ConditionExpression": condition} if condition else {}))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return False
        return True

    @translated(StoreUnavailable)
    def before_dead_letter(self, idempotency_key: str, claimant: Claimant, until: float,
                           fields: dict[str, Any]) -> None:
        """Before a message dead-letters a route it never claimed (a mapping error, a destination down past
        max_hold): the claim's own terms, so that a message handed back, or one of a deferral's copies,
        does not put the pair in the DLQ a second time. Raises the claim's refusals (core/chains.py);
        otherwise binds the route to the message's chain, as a claim would. One conditional write. `fields`
        (source, received_at) keep an item created here filterable."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        condition, binds = _own_terms(claimant, names, values)
        if binds:
            values.update({":now": {"N": str(int(dt.datetime.now().timestamp()))}, ":expiry": {"N": str(int(until))}})
        sets = [*binds, *_set_fields(fields, names, values)]  # fields (source, received_at): never an empty SET
        try:
            self.client.update_item(TableName=self.table_name, Key=self._get_key(idempotency_key),
                                    UpdateExpression="SET " + ", ".join(sets), ConditionExpression=condition,
                                    ExpressionAttributeNames=names, ExpressionAttributeValues=values,
                                    ReturnValuesOnConditionCheckFailure="ALL_OLD")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            item = exc.response.get("Item") or {}  # type: ignore[typeddict-item]
            _refuse(claimant, item)
            raise ChainSuperseded(item.get(CHAIN_ATTR, {}).get("S") or "unknown") from None

    def _item_to_data_record(self, item: dict[str, Any]) -> DataRecord:
        record = super()._item_to_data_record(item)
        data = self._deserializer.deserialize({"M": item})
        record.idempotency_key = f"{data['event_id']}{_SEP}{data['route']}"
        return record

    def _update_record(self, data_record: DataRecord) -> None:
        response = json.loads(data_record.response_data or "{}")
        log = response.pop(ports.LOG_KEY, None) or {}
        names = {"#status": self.status_attr, "#expiry": self.expiry_attr, "#data": self.data_attr}
        values: dict[str, Any] = {":status": {"S": data_record.status},
                                  ":expiry": {"N": str(data_record.expiry_timestamp)},
                                  ":data": {"S": json.dumps(response, sort_keys=True)}}
        # Not expires_at: its claim, moments ago in this invocation, set it (each clause costs: a DynamoDB
        # emulator such as moto parses and checks every clause of every write, one write at a time).
        sets = ["#status = :status", "#expiry = :expiry", "#data = :data"]
        if log.get("status"):
            names["#st"] = "status"
            values[":st"] = _value(log["status"])
            sets.append("#st = :st")
        if log.get("attempt") is not None:
            values[":attempt"] = _value([log["attempt"]])
            values[":empty"] = {"L": []}
            sets.append("attempts = list_append(if_not_exists(attempts, :empty), :attempt)")
        sets += _set_fields(log.get("fields") or {}, names, values)
        removes = clear_on_delivery(log.get("status"), names)  # a replay delivered it: no dead letter's reason
        self.client.update_item(TableName=self.table_name, Key=self._get_key(data_record.idempotency_key),
                                UpdateExpression="SET " + ", ".join(sets) + removes, ExpressionAttributeNames=names,
                                ExpressionAttributeValues=values)

    def _delete_record(self, data_record: DataRecord) -> None:
        try:
            self.client.update_item(
                TableName=self.table_name, Key=self._get_key(data_record.idempotency_key),
                UpdateExpression="REMOVE #status, #expiry, #ip, #data, #validation",
                ConditionExpression="attribute_exists(event_id)",  # never create an empty item
                ExpressionAttributeNames={"#status": self.status_attr, "#expiry": self.expiry_attr,
                                          "#ip": self.in_progress_expiry_attr, "#data": self.data_attr,
                                          "#validation": self.validation_key_attr},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise


def _claimed(item: dict[str, Any], layer: RouteClaims, now: float) -> bool:
    """Powertools' condition failed on `item` (a live claim or a completed delivery), as opposed to the
    claimant's terms (`_claimant_terms`)."""
    status = item.get(layer.status_attr, {}).get("S")
    if status is None or float(item.get(layer.expiry_attr, {}).get("N", "0")) < int(now):
        return False
    if status != "INPROGRESS":
        return True
    in_progress_until = item.get(layer.in_progress_expiry_attr, {}).get("N")
    return in_progress_until is None or float(in_progress_until) >= int(now * 1000)


def _set_fields(fields: dict[str, Any], names: dict[str, str], values: dict[str, Any]) -> list[str]:
    """SET clauses for plain event log attributes (e.g. source, received_at), their names and values added."""
    sets = []
    for i, (name, value) in enumerate(fields.items()):
        names[f"#f{i}"] = name
        values[f":f{i}"] = _value(value)
        sets.append(f"#f{i} = :f{i}")
    return sets


def _bound(claimant: Claimant, names: dict[str, str], values: dict[str, Any]) -> str:
    """The route bound to this message's chain, to none, to its parent (a deferral's copy takes the
    binding over), or the binding lapsed (`values` holds `:now`)."""
    names.update({"#chain": CHAIN_ATTR, "#chain_until": CHAIN_UNTIL_ATTR})
    values[":chain"] = {"S": str(claimant.chain)}
    if claimant.parent is None:
        return _BOUND
    values[":parent"] = {"S": claimant.parent}
    return f"{_BOUND} OR #chain = :parent"


def _claimant_terms(claimant: Claimant, condition: str, sets: str, names: dict[str, str],
                    values: dict[str, Any]) -> tuple[str, str]:
    """The claim's condition and SET for this message: Powertools' `condition`, and this message's terms
    (`_own_terms`); the first claim binds the route to its chain."""
    terms, binds = _own_terms(claimant, names, values)
    return f"({condition}) AND {terms}", ", ".join([sets, *binds])


def _own_terms(claimant: Claimant, names: dict[str, str], values: dict[str, Any]) -> tuple[str, list[str]]:
    """Not a message already dead-lettered, nor one that handed the route over to a copy, and the route
    bound to no other queueing of the event (or the binding lapsed); the SET clauses that bind it (they
    read `:expiry`, the binding's end)."""
    names["#dead"] = DEAD_MESSAGE_ATTR
    values[":msg"] = {"S": claimant.message_id}
    condition = "(attribute_not_exists(#dead) OR #dead <> :msg)"
    if claimant.received_before:  # a message's first receive cannot have handed anything over
        names["#handed"] = HANDED_OVER_ATTR
        condition += " AND (attribute_not_exists(#handed) OR #handed <> :msg)"
    if claimant.chain is None:
        return condition, []
    return f"{condition} AND ({_bound(claimant, names, values)})", ["#chain = :chain", "#chain_until = :expiry"]


def _refuse(claimant: Claimant, item: dict[str, Any]) -> None:
    """Raise why the claim's own terms (not Powertools') failed on `item`."""
    if item.get(DEAD_MESSAGE_ATTR, {}).get("S") == claimant.message_id:
        raise AlreadyDeadLettered(claimant.message_id)
    owner = item.get(CHAIN_ATTR, {}).get("S")
    if claimant.chain is not None and owner is not None and owner not in (claimant.chain, claimant.parent):
        raise ChainSuperseded(owner)
    if item.get(HANDED_OVER_ATTR, {}).get("S") == claimant.message_id:
        raise HandedOver(claimant.message_id)
