"""The event archive's Firehose stream (ports.ArchiveSink): PutRecordBatch of the lines core/archive.py builds.

Firehose buffers them, compresses them (GZIP) and writes them to S3 partitioned by day and source
(template.yaml, ArchiveStream). Errors are not translated into outcomes: core.archive.write logs and
counts any failure, and a delivery's outcome never depends on it.
"""

from __future__ import annotations

from typing import Any

from hookline.adapters.aws.stores import hot_path_client


class FirehoseArchive:
    def __init__(self, stream: str, client: Any | None = None) -> None:
        self.stream = stream
        self._client = client

    def put(self, lines: list[bytes]) -> int:
        if not lines:
            return 0
        if self._client is None:  # made at the first put: importing and wiring need no region
            self._client = hot_path_client("firehose")
        resp = self._client.put_record_batch(DeliveryStreamName=self.stream,
                                             Records=[{"Data": data} for data in lines])
        return int(resp.get("FailedPutCount") or 0)
