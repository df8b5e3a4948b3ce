"""The event archive's Firehose stream (ports.ArchiveSink): PutRecordBatch of the lines core/archive.py builds.

Firehose buffers them, compresses them (GZIP) and writes them to S3 partitioned by day and source
(template.yaml, ArchiveStream). Errors are not translated into outcomes: core.archive.write logs and
counts any failure, and a delivery's outcome never depends on it.
"""

from __future__ import annotations

from typing import Any

from botocore.config import Config

from hookline.adapters.aws.stores import client

# The put runs after the batch's deliveries, inside the same invocation: a Firehose that does not answer
# must hold the batch's acknowledgement seconds, not until the function's timeout (botocore's defaults are
# 60 s to connect and 60 s to read, with retries), which would hand every message of the batch back.
CLIENT_CONFIG = Config(parameter_validation=False, connect_timeout=2, read_timeout=5,
                       retries={"max_attempts": 2, "mode": "standard"})


class FirehoseArchive:
    def __init__(self, stream: str, client: Any | None = None) -> None:
        self.stream = stream
        self._client = client

    def put(self, lines: list[bytes]) -> int:
        if not lines:
            return 0
        if self._client is None:  # made at the first put: importing and wiring need no region
            self._client = client("firehose", config=CLIENT_CONFIG)
        resp = self._client.put_record_batch(DeliveryStreamName=self.stream,
                                             Records=[{"Data": data} for data in lines])
        return int(resp.get("FailedPutCount") or 0)
