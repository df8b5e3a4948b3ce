"""`hookline dev`'s AWS endpoint (moto's server) answers boto3 on this machine and nothing a web page sends.

moto's server reflects any Origin in CORS headers, so any site open in a browser could read the
emulator (the payload bucket, the queues) or change it. Each request here is one a page could
make: a CORS read, a preflight, a no-CORS form post, a DNS-rebinding request.
"""

from __future__ import annotations

import http.client
import os
from collections.abc import Iterator
from typing import Any

import pytest

from hookline.local.emulator import Emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[Any]:
    saved = dict(os.environ)  # Emulator.start points this process's boto3 at itself
    emulator = Emulator().start()
    try:
        yield emulator
    finally:
        emulator.stop()
        os.environ.clear()
        os.environ.update(saved)


def _request(emulator: Any, method: str, path: str, headers: dict[str, str], body: str | None = None) -> Any:
    port = int(emulator.endpoint_url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    resp.body = resp.read()
    conn.close()
    return resp


def _cors(resp: Any) -> dict[str, str]:
    return {k: v for k, v in resp.getheaders() if k.lower().startswith("access-control-")}


def test_a_web_page_can_neither_read_nor_change_the_emulator(emulator: Any) -> None:
    # Given a payload in the emulator's bucket and a queue, as `hookline dev` keeps them
    s3, sqs = emulator.client("s3"), emulator.client("sqs")
    s3.create_bucket(Bucket="payloads")
    s3.put_object(Bucket="payloads", Key="evt-1", Body=b'{"card": "4111111111111111"}')
    queue = sqs.create_queue(QueueName="delivery")["QueueUrl"]
    evil = "https://evil.example"
    # When a page on another site reads moto's state dump (every bucket and queue) or the payload with fetch()
    for path in ("/moto-api/data.json", "/payloads/evt-1"):
        read = _request(emulator, "GET", path, {"Origin": evil})
        # Then it is refused, and no Access-Control-Allow-Origin lets the page see even the refusal
        assert read.status == 403 and b"payloads" not in read.body and _cors(read) == {}, path
        assert b"answers no cross-origin requests" in read.body
    # And its preflight is refused the same way, for any origin (null: a sandboxed frame or a file)
    for origin in (evil, "null", "http://localhost:3000"):
        preflight = _request(emulator, "OPTIONS", "/payloads/evt-1",
                             {"Origin": origin, "Access-Control-Request-Method": "PUT"})
        assert preflight.status == 403 and _cors(preflight) == {}, origin
    # And a form it posts without CORS (the browser sends Origin, and Sec-Fetch-Site) changes nothing
    form = f"Action=PurgeQueue&QueueUrl={queue}"
    sqs.send_message(QueueUrl=queue, MessageBody="task")
    for headers in ({"Origin": evil}, {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}):
        posted = _request(emulator, "POST", "/", {"Content-Type": "application/x-www-form-urlencoded", **headers},
                          form)
        assert posted.status == 403, headers
    count = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
    assert count["Attributes"]["ApproximateNumberOfMessages"] == "1"
    # And a page that rebinds its own host name to 127.0.0.1 (same-origin to the browser) is refused too
    port = emulator.endpoint_url.rsplit(":", 1)[1]
    rebound = _request(emulator, "GET", "/moto-api/data.json", {"Host": f"evil.example:{port}",
                                                                 "Sec-Fetch-Site": "same-origin"})
    assert rebound.status == 403 and b"payloads" not in rebound.body
    # While boto3 (no Origin), and a person typing the URL in the address bar, are answered as before
    assert s3.get_object(Bucket="payloads", Key="evt-1")["Body"].read().startswith(b'{"card"')
    typed = _request(emulator, "GET", "/moto-api/data.json", {"Sec-Fetch-Site": "none"})
    assert typed.status == 200 and b"payloads" in typed.body and _cors(typed) == {}
