"""The event archive's two query engines, one question (archive_query.Search) and one answer (SearchHit rows).

- Deployed: Athena, over the Glue table template.yaml creates on the archive bucket (its workgroup holds
  the results location). Values go in ExecutionParameters, never in the SQL text.
- `hookline dev`: DuckDB, in this process, over the same objects read from the emulator's S3 through boto3
  (DuckDB's S3 extension is downloaded at run time: not an option offline). The objects are GZIP NDJSON as
  Firehose writes them, or plain NDJSON (moto's Firehose does not compress): both are read.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hookline.operations.archive_query import ATHENA, DUCKDB, Search, athena_literal, search_sql

ARCHIVE_PREFIX = "archive/events/"
# What each archived line holds (core/archive.py); DuckDB reads them with these types, a missing key as NULL.
COLUMNS = {
    "kind": "VARCHAR", "id": "VARCHAR", "source": "VARCHAR", "type": "VARCHAR", "route": "VARCHAR",
    "received_at": "DOUBLE", "dt": "VARCHAR", "headers": "VARCHAR", "body": "VARCHAR", "status": "VARCHAR",
    "status_code": "INTEGER", "latency_ms": "DOUBLE", "reason": "VARCHAR", "at": "DOUBLE", "attempt": "INTEGER",
    "body_encoding": "VARCHAR", "s3_key": "VARCHAR",  # what a re-send needs to rebuild the body (operations/resend.py)
}
_DT = re.compile(r"dt=(\d{4}-\d{2}-\d{2})/")


class SearchFailed(Exception):
    """The engine could not answer (Athena's query failed or timed out): its reason, and what to do."""


@dataclass
class SearchHit:
    """One archived event and, per route, its latest status (`received`: no attempt archived yet)."""

    id: str
    source: str | None
    type: str | None
    received_at: float | None
    routes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "source": self.source, "type": self.type, "received_at": self.received_at,
                "routes": self.routes}


def hits(rows: list[dict[str, Any]]) -> list[SearchHit]:
    """The query's rows (one per event and route) grouped per event, in the rows' order."""
    out: dict[str, SearchHit] = {}
    for row in rows:
        hit = out.get(row["id"])
        if hit is None:
            hit = out[row["id"]] = SearchHit(row["id"], row.get("source"), row.get("type"),
                                             _float(row.get("received_at")))
        hit.routes[row["route"]] = {"status": row.get("status"), "attempts": int(_float(row.get("attempts")) or 0),
                                    "status_code": _int(row.get("status_code"))}
    return list(out.values())


def _float(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    number = _float(value)
    return int(number) if number is not None else None


def engine_for(stack: Any) -> DuckDbArchive | AthenaArchive:
    """The stack's engine: DuckDB on `hookline dev` (the emulator's archive bucket), else Athena (the stack's
    Glue table and workgroup, as its outputs name them)."""
    if "ArchiveBucketName" not in stack.outputs:
        raise SearchFailed(f"the stack ({stack.origin}) keeps no event archive: it was deployed with "
                           "ArchiveRetentionDays=0 or before the archive existed; deploy the current template.yaml "
                           "with ArchiveRetentionDays > 0 (default 30) to archive the events that arrive from then on")
    if stack.local:
        return DuckDbArchive.on_s3(stack.client("s3"), stack.output("ArchiveBucketName"))
    return AthenaArchive(stack.client("athena"), database=stack.output("ArchiveDatabaseName"),
                         table=stack.output("ArchiveTableName"), workgroup=stack.output("ArchiveWorkGroupName"))


# ---------------------------------------------------------------- DuckDB (hookline dev)


def archive_objects(s3: Any, bucket: str, prefix: str = ARCHIVE_PREFIX, since: float | None = None) -> Iterator[bytes]:
    """Each archived object's bytes as stored (GZIP or plain NDJSON); objects of days before `since` are skipped
    by their key."""
    first_day = datetime.fromtimestamp(since, tz=UTC).strftime("%Y-%m-%d") if since is not None else None
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            m = _DT.search(obj["Key"])
            if first_day and m and m.group(1) < first_day:
                continue
            yield s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()


class DuckDbArchive:
    """The archive's objects in a DuckDB table of this process; `search` runs archive_query's SQL on it."""

    TABLE = "archive"

    def __init__(self, objects: Callable[[float | None], Iterator[bytes]]) -> None:
        self._objects = objects

    @classmethod
    def on_s3(cls, s3: Any, bucket: str, prefix: str = ARCHIVE_PREFIX) -> DuckDbArchive:
        return cls(lambda since: archive_objects(s3, bucket, prefix, since))

    def connect(self, since: float | None) -> Any:
        # lazy: every `hookline` run imports all command modules; DuckDB loads only for a local search.
        import duckdb

        con = duckdb.connect()
        columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in COLUMNS.items()) + "}"
        with tempfile.TemporaryDirectory(prefix="hookline-archive-") as folder:
            # Each object as stored: DuckDB reads GZIP itself (several members too), faster than Python's gzip.
            files = []
            for n, data in enumerate(self._objects(since)):
                path = os.path.join(folder, f"{n}.ndjson" + (".gz" if data[:2] == b"\x1f\x8b" else ""))
                with open(path, "wb") as f:
                    f.write(data)
                files.append(path)
            # The table name and the column types are this module's constants; the files are a parameter.
            source = "read_ndjson(?, columns=" + columns + ")" if files else \
                "(SELECT " + ", ".join(f"CAST(NULL AS {t}) AS {k}" for k, t in COLUMNS.items()) + " LIMIT 0)"
            con.execute(f"CREATE TABLE {self.TABLE} AS SELECT * FROM {source}", [files] if files else [])  # noqa: S608  # nosec B608 - constants
        return con

    def search(self, search: Search) -> list[SearchHit]:
        con = self.connect(search.since)
        try:
            return hits(self.rows(con, *search_sql(search, self.TABLE, DUCKDB)))
        finally:
            con.close()

    def query(self, sql: str, params: list[Any], since: float | None = None) -> list[dict[str, Any]]:
        """Another question of the archive (operations/resend.py's event lines): `{table}` in `sql` is the table."""
        con = self.connect(since)
        try:
            return self.rows(con, sql.format(table=self.TABLE), params)
        finally:
            con.close()

    @staticmethod
    def rows(con: Any, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        cursor = con.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# ---------------------------------------------------------------- Athena (deployed)


class AthenaArchive:
    """StartQueryExecution in the stack's workgroup, polled until done, then GetQueryResults page by page."""

    def __init__(self, athena: Any, *, database: str, table: str, workgroup: str, timeout: float = 300,
                 poll: float = 1.0, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.athena, self.database, self.table, self.workgroup = athena, database, table, workgroup
        self.timeout, self.poll, self.sleep, self.clock = timeout, poll, sleep, clock

    def request(self, search: Search) -> dict[str, Any]:
        """The StartQueryExecution request (its SQL has `?` where each value goes)."""
        sql, params = search_sql(search, f'"{self.database}"."{self.table}"', ATHENA)
        request: dict[str, Any] = {"QueryString": sql, "WorkGroup": self.workgroup,
                                   "QueryExecutionContext": {"Database": self.database}}
        if params:
            request["ExecutionParameters"] = [athena_literal(p) for p in params]
        return request

    def search(self, search: Search) -> list[SearchHit]:
        return hits(self.run(self.request(search)))

    def query(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        """Another question of the archive (operations/resend.py's event lines): `{table}` in `sql` is the
        stack's table, each `?` one of `params`."""
        request: dict[str, Any] = {"QueryString": sql.format(table=f'"{self.database}"."{self.table}"'),
                                   "WorkGroup": self.workgroup, "QueryExecutionContext": {"Database": self.database}}
        if params:
            request["ExecutionParameters"] = [athena_literal(p) for p in params]
        return self.run(request)

    def run(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        started = self.athena.start_query_execution(**request)["QueryExecutionId"]
        deadline = self.clock() + self.timeout
        while True:
            status = self.athena.get_query_execution(QueryExecutionId=started)["QueryExecution"]["Status"]
            state = status.get("State")
            if state == "SUCCEEDED":
                break
            if state in ("FAILED", "CANCELLED"):
                raise SearchFailed(f"Athena query {started} {state.lower()}: "
                                   f"{status.get('StateChangeReason', 'no reason given')}")
            if self.clock() >= deadline:
                raise SearchFailed(f"Athena query {started} still {state} after {self.timeout:.0f} s; "
                                   "narrow it with --since or --source, or see it in the Athena console")
            self.sleep(self.poll)
        rows: list[dict[str, Any]] = []
        names: list[str] | None = None
        for page in self.athena.get_paginator("get_query_results").paginate(QueryExecutionId=started):
            for row in page["ResultSet"]["Rows"]:
                values = [d.get("VarCharValue") for d in row["Data"]]
                if names is None:  # the first row of the first page holds the column names
                    names = [str(v) for v in values]
                    continue
                rows.append(dict(zip(names, values, strict=True)))
        return rows
