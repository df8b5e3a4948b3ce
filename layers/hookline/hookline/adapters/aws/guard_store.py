"""The guards table: shared state of the stale guard, limits and breakers (ports.GuardStore). boto3 adapter.

Named for what it guards; the deployed names stay as they were (CloudFormation `RecordsTable`, env var
`RECORDS_TABLE`, output `RecordsTableName`), so a stack upgrade keeps its table.

One DynamoDB table, partition key `pk` (string), TTL attribute `expires_at`. Item kinds, by prefix:

| pk | attributes | written by |
|---|---|---|
| `ver#<route>#<key>` | `delivered`, `delivered_event`, `claim_event`, `claim_version`, `claim_until` | stale.py |
| `rate#<destination>#<shard>` | `tat` (the next free slot, epoch seconds) | limits.py |
| `conc#<destination>#<slot>` | `holder`, `until` | limits.py |
| `brk#<destination>` | `state`, `failures`, `since`, `opened_at`, `probe_at`, `last_failure_at`, probe_* | breaker.py |
| `defer#<route>#<event_id>` | `deferrals`, `held_since` (ordered routes only) | deferral.py via the engine |

A table of its own rather than EventsTable: `hookline events` and `report` scan the event log,
and these items are not events. Keys longer than MAX_KEY_CHARS are replaced by their SHA-256.

Every conditional write here is a real ConditionExpression: DynamoDB decides the winner.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from hookline.adapters.aws.stores import table_of

MAX_KEY_CHARS = 512
DEFAULT_TTL_SECONDS = 30 * 24 * 3600


def _part(value: str) -> str:
    return value if len(value) <= MAX_KEY_CHARS else "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def num(value: float | int) -> Decimal:
    """A DynamoDB number (floats are refused): microsecond precision is plenty for times and versions."""
    return Decimal(str(round(value, 6))) if isinstance(value, float) else Decimal(value)


def _plain(item: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in (item or {}).items():
        out[k] = float(v) if isinstance(v, Decimal) else v
    return out


def _conditional_failed(e: ClientError) -> bool:
    return e.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _old_item(e: ClientError) -> dict[str, Any]:
    """The item as it was when a condition failed (ReturnValuesOnConditionCheckFailure=ALL_OLD), plain."""
    raw = e.response.get("Item") or {}

    des = TypeDeserializer()
    return _plain({k: des.deserialize(v) for k, v in raw.items()})


class GuardStore:
    def __init__(self, table_name: str, resource: Any | None = None, clock: Callable[[], float] = time.time,
                 ttl_seconds: int = DEFAULT_TTL_SECONDS) -> None:
        self.table_name = table_name
        self._resource = resource
        self._table: Any = None
        self.clock = clock
        self.ttl_seconds = ttl_seconds

    @property
    def table(self) -> Any:
        if self._table is None:
            self._table = table_of(self._resource, self.table_name)
        return self._table

    def _expires(self, extra: float = 0) -> Decimal:
        return Decimal(int(self.clock() + self.ttl_seconds + extra))

    def _update(self, pk: str, expression: str, values: dict[str, Any], names: dict[str, str] | None = None,
                condition: str | None = None, returns: str = "NONE") -> tuple[bool, dict[str, Any]]:
        """(True, new or {}) when written; (False, the item as it was) when the condition failed."""
        kwargs: dict[str, Any] = {"Key": {"pk": pk}, "UpdateExpression": expression,
                                  "ExpressionAttributeValues": values, "ReturnValues": returns}
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if condition:
            kwargs["ConditionExpression"] = condition
            kwargs["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        try:
            resp = self.table.update_item(**kwargs)
        except ClientError as e:
            if condition and _conditional_failed(e):
                return False, _old_item(e)
            raise
        return True, _plain(resp.get("Attributes"))

    def get(self, pk: str, consistent: bool = True) -> dict[str, Any]:
        resp = self.table.get_item(Key={"pk": pk}, ConsistentRead=consistent)
        return _plain(resp.get("Item"))

    # ------------------------------------------------------------ versions (stale guard)

    @staticmethod
    def version_pk(route: str, key: str) -> str:
        return f"ver#{_part(route)}#{_part(key)}"

    def claim_version(self, route: str, key: str, version: float, event_id: str, until: float,
                      now: float) -> tuple[bool, dict[str, Any]]:
        """Take the (route, key) claim for `version` if it is newer than the delivered one and nobody holds it."""
        return self._update(
            self.version_pk(route, key),
            "SET claim_event = :id, claim_version = :v, claim_until = :until, expires_at = :exp",
            {":id": event_id, ":v": num(version), ":until": num(until), ":now": num(now), ":exp": self._expires()},
            condition="(attribute_not_exists(delivered) OR delivered < :v OR delivered_event = :id) "
                      "AND (attribute_not_exists(claim_until) OR claim_until < :now OR claim_event = :id)",
        )

    def commit_version(self, route: str, key: str, version: float, event_id: str, now: float) -> None:
        pk = self.version_pk(route, key)
        values = {":id": event_id, ":v": num(version), ":now": num(now), ":exp": self._expires()}
        done, _ = self._update(pk, "SET delivered = :v, delivered_event = :id, delivered_at = :now, "
                                   "expires_at = :exp REMOVE claim_event, claim_version, claim_until",
                               values, condition="claim_event = :id")
        if not done:  # our claim expired and was taken over: record the version only if it is still the newest
            self._update(pk, "SET delivered = :v, delivered_event = :id, delivered_at = :now, expires_at = :exp",
                         values, condition="attribute_not_exists(delivered) OR delivered < :v")

    def release_version(self, route: str, key: str, event_id: str) -> None:
        self._update(self.version_pk(route, key), "REMOVE claim_event, claim_version, claim_until",
                     {":id": event_id}, condition="claim_event = :id")

    # ------------------------------------------------------------ deferral counter (ordered routes)

    @staticmethod
    def deferral_pk(route: str, event_id: str) -> str:
        return f"defer#{_part(route)}#{_part(event_id)}"

    def deferrals(self, route: str, event_id: str) -> tuple[int, float | None]:
        item = self.get(self.deferral_pk(route, event_id))
        held = item.get("held_since")
        return int(item.get("deferrals") or 0), (float(held) if held is not None else None)

    def add_deferral(self, route: str, event_id: str, held_since: float | None) -> None:
        values: dict[str, Any] = {":one": 1, ":exp": self._expires()}
        expression = "ADD deferrals :one SET expires_at = :exp"
        if held_since is not None:
            expression += ", held_since = if_not_exists(held_since, :held)"
            values[":held"] = num(held_since)
        self._update(self.deferral_pk(route, event_id), expression, values)

    # ------------------------------------------------------------ rate limit slots (GCRA)

    def reserve_rate(self, destination: str, shard: int, known_tat: float | None, new_tat: float,
                     now: float) -> tuple[bool, float | None]:
        """Move the shard's `tat` from `known_tat` (None: unset or in the past) to `new_tat`.

        Returns (True, new_tat) when this caller won, else (False, the current tat) so it can try again.
        """
        pk = f"rate#{_part(destination)}#{shard}"
        values: dict[str, Any] = {":new": num(new_tat), ":exp": self._expires()}
        if known_tat is None:
            condition = "attribute_not_exists(tat) OR tat <= :now"
            values[":now"] = num(now)
        else:
            condition = "tat = :old"
            values[":old"] = num(known_tat)
        done, old = self._update(pk, "SET tat = :new, expires_at = :exp", values, condition=condition)
        if done:
            return True, new_tat
        tat = old.get("tat")
        return False, float(tat) if tat is not None else None

    # ------------------------------------------------------------ concurrency leases

    def acquire_slot(self, destination: str, slot: int, holder: str, until: float, now: float) -> bool:
        done, _ = self._update(f"conc#{_part(destination)}#{slot}", "SET holder = :h, #u = :until, expires_at = :exp",
                               {":h": holder, ":until": num(until), ":now": num(now), ":exp": self._expires()},
                               names={"#u": "until"}, condition="attribute_not_exists(holder) OR #u < :now")
        return done

    def release_slot(self, destination: str, slot: int, holder: str) -> None:
        self._update(f"conc#{_part(destination)}#{slot}", "REMOVE holder, #u", {":h": holder},
                     names={"#u": "until"}, condition="holder = :h")

    # ------------------------------------------------------------ circuit breaker

    @staticmethod
    def breaker_pk(destination: str) -> str:
        return f"brk#{_part(destination)}"

    def breaker(self, destination: str) -> dict[str, Any]:
        return self.get(self.breaker_pk(destination))

    def breakers(self) -> dict[str, dict[str, Any]]:
        """Every breaker item, by destination (for `hookline destinations`; a scan of a small table)."""
        out: dict[str, dict[str, Any]] = {}
        kwargs: dict[str, Any] = {"FilterExpression": Attr("pk").begins_with("brk#")}
        while True:
            resp = self.table.scan(**kwargs)
            for item in resp.get("Items", []):
                out[str(item["pk"])[4:]] = _plain(item)
            if "LastEvaluatedKey" not in resp:
                return out
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def record_failure(self, destination: str, now: float) -> dict[str, Any]:
        _, new = self._update(self.breaker_pk(destination),
                              "ADD failures :one SET last_failure_at = :now, #s = if_not_exists(#s, :closed), "
                              "since = if_not_exists(since, :now), expires_at = :exp",
                              {":one": 1, ":now": num(now), ":closed": "closed", ":exp": self._expires()},
                              names={"#s": "state"}, returns="ALL_NEW")
        return new

    def open_breaker(self, destination: str, now: float, probe_at: float) -> bool:
        """closed -> open (one writer wins: the condition)."""
        done, _ = self._update(self.breaker_pk(destination),
                               "SET #s = :open, since = :now, opened_at = :now, probe_at = :probe, expires_at = :exp",
                               {":open": "open", ":now": num(now), ":probe": num(probe_at), ":closed": "closed",
                                ":exp": self._expires()},
                               names={"#s": "state"}, condition="attribute_not_exists(#s) OR #s = :closed")
        return done

    def claim_probe(self, destination: str, now: float, probe_deadline: float) -> bool:
        """open (cool-down over) -> half-open, for one caller: the one that sends the probe."""
        done, _ = self._update(self.breaker_pk(destination),
                               "SET #s = :half, since = :now, probe_at = :deadline, expires_at = :exp",
                               {":half": "half-open", ":open": "open", ":now": num(now),
                                ":deadline": num(probe_deadline), ":exp": self._expires()},
                               names={"#s": "state"}, condition="#s IN (:open, :half) AND probe_at <= :now")
        return done

    def probe_failed(self, destination: str, now: float, probe_at: float, probe_event: str | None = None,
                     probe_tries: int = 0, probe_limit: int = 0) -> None:
        """half-open -> open; with `probe_event`, that event has the next probe (breaker.py)."""
        values: dict[str, Any] = {":open": "open", ":now": num(now), ":probe": num(probe_at), ":one": 1,
                                  ":exp": self._expires()}
        prober = ""
        if probe_event is not None:
            prober = ", probe_event = :pe, probe_tries = :pt, probe_limit = :pl"
            values.update({":pe": probe_event, ":pt": probe_tries, ":pl": probe_limit})
        self._update(self.breaker_pk(destination),
                     "SET #s = :open, since = :now, probe_at = :probe, last_failure_at = :now, expires_at = :exp"
                     f"{prober} ADD failures :one", values, names={"#s": "state"})

    def close_breaker(self, destination: str, now: float) -> None:
        self._update(self.breaker_pk(destination),
                     "SET #s = :closed, since = :now, failures = :zero, expires_at = :exp "
                     "REMOVE probe_at, opened_at, probe_event, probe_tries, probe_limit",
                     {":closed": "closed", ":now": num(now), ":zero": 0, ":exp": self._expires()},
                     names={"#s": "state"})

    def reset_failures(self, destination: str) -> None:
        """A 2xx while closed: the failures are no longer consecutive."""
        self._update(self.breaker_pk(destination), "SET failures = :zero",
                     {":zero": 0, ":closed": "closed"}, names={"#s": "state"},
                     condition="attribute_not_exists(#s) OR #s = :closed")
