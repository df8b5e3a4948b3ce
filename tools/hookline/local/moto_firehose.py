"""moto's Firehose, writing to S3 as Firehose does for the event archive's stream (moto_fixes.install, fix 7).

moto writes each PutRecordBatch as one uncompressed object under `<Prefix>YYYY/MM/DD/HH/`, ignoring the
prefix's expressions, dynamic partitioning and CompressionFormat. Firehose itself, with a prefix holding
expressions (https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html), writes under the rendered
prefix only; with dynamic partitioning each record goes under the values its MetadataExtraction query
takes from it (https://docs.aws.amazon.com/firehose/latest/dev/dynamic-partitioning.html); with GZIP the
object is compressed, and it buffers: an object holds what arrived within BufferingHints' interval and
size, not one call's records. Here a stream whose prefix has expressions gets that: the records of a call
grouped by their rendered prefix, GZIP when configured, appended to that prefix's current object while it
is younger than the interval and smaller than the size (a GZIP file may hold several members), so the
objects are as few as Firehose's; each record is readable at once, where Firehose waits for the buffer.
The queries understood are the `{name: .field, ...}` form (what template.yaml's archive stream uses); a
stream with any other query, or a plain prefix, keeps moto's behaviour.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

_EXPRESSION = re.compile(r"!\{([A-Za-z]+):([^}]*)\}")
_SIMPLE_QUERY = re.compile(r"^\{\s*(\w+\s*:\s*\.\w+\s*(?:,\s*\w+\s*:\s*\.\w+\s*)*)\}$")
# (account, stream, rendered prefix) -> the object being filled: (key, started at, size)
_BUFFERS: dict[tuple[str, str, str], tuple[str, float, int]] = {}
_JAVA_DATE = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}


def _query(destination: dict[str, Any]) -> dict[str, str] | None:
    """The MetadataExtraction query as {partition key: record field}, or None when there is none we read."""
    for processor in (destination.get("ProcessingConfiguration") or {}).get("Processors") or []:
        if processor.get("Type") != "MetadataExtraction":
            continue
        for parameter in processor.get("Parameters") or []:
            if parameter.get("ParameterName") == "MetadataExtractionQuery":
                m = _SIMPLE_QUERY.match(str(parameter.get("ParameterValue", "")).strip())
                if not m:
                    return None
                pairs = [p.split(":") for p in m.group(1).split(",")]
                return {k.strip(): v.strip()[1:] for k, v in pairs}
    return {}


def _java_date(pattern: str, now: datetime) -> str:
    out = pattern
    for java, strftime in _JAVA_DATE.items():
        out = out.replace(java, strftime)
    return now.strftime(out)


def render(prefix: str, data: bytes, query: dict[str, str], now: datetime) -> str:
    values: dict[str, Any] = {}
    if query:
        try:
            record = json.loads(data)
        except ValueError:
            record = {}
        values = {k: record.get(field) if isinstance(record, dict) else None for k, field in query.items()}

    def one(m: re.Match[str]) -> str:
        kind, arg = m.group(1), m.group(2)
        if kind == "partitionKeyFromQuery":
            value = values.get(arg)
            return "null" if value is None else str(value)
        if kind == "timestamp":
            return _java_date(arg, now)
        if kind == "firehose":
            return "processing-failed"
        return m.group(0)

    return _EXPRESSION.sub(one, prefix)


def install() -> None:
    # lazy: moto (0.2-3 s a service, measured) loads when the emulator starts, not on import.
    from moto.firehose.models import FirehoseBackend
    from moto.s3.models import s3_backends

    original = FirehoseBackend.put_s3_records

    @functools.wraps(original)
    def put_s3_records(self: Any, delivery_stream_name: str, version_id: str, s3_destination: dict[str, Any],
                       records: list[dict[str, bytes]]) -> list[dict[str, str]]:
        prefix = s3_destination.get("Prefix", "")
        query = _query(s3_destination)
        if "!{" not in prefix or query is None:
            return original(self, delivery_stream_name, version_id, s3_destination, records)
        now = datetime.now(tz=UTC)
        groups: dict[str, list[bytes]] = {}
        for r in records:
            groups.setdefault(render(prefix, r["Data"], query, now), []).append(r["Data"])
        bucket = s3_destination["BucketARN"].split(":")[-1]
        compress = s3_destination.get("CompressionFormat") == "GZIP"
        hints = s3_destination.get("BufferingHints") or {}
        interval = float(hints.get("IntervalInSeconds", 300))
        limit = int(hints.get("SizeInMBs", 5)) * 1024 * 1024
        s3 = s3_backends[self.account_id][self.partition]
        for path, datas in groups.items():
            part = gzip.compress(b"".join(datas)) if compress else b"".join(datas)
            buffer = (self.account_id, delivery_stream_name, path)
            key, started, size = _BUFFERS.get(buffer, ("", 0.0, 0))
            body = part
            if key and now.timestamp() - started < interval and size + len(part) <= limit:
                try:
                    body = s3.get_object(bucket, key).value + part
                except Exception:  # the object is gone (deleted, or the emulator's state reset): start another
                    key = ""
            else:
                key = ""
            if not key:
                key = f"{path}{delivery_stream_name}-{version_id}-{now:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}"
                key += ".gz" if compress else ""
                started = now.timestamp()
            s3.put_object(bucket, key, body)
            _BUFFERS[buffer] = (key, started, len(body))
        return [{"RecordId": str(uuid.uuid4())} for _ in records]

    FirehoseBackend.put_s3_records = put_s3_records  # type: ignore[method-assign]
