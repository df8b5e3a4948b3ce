"""Xero: x-xero-signature = base64 HMAC-SHA256 of the raw body keyed with the app's webhooks key
(https://developer.xero.com/documentation/guides/webhooks/configuring-your-server/). Xero prints no test
vector, but publishes a PHP receiver, XeroAPI/xero-php-webhook index.php ("PHP example of code for verifying
and receiving a Xero webhook"). That file, read from the repository at the given commit with only its key
placeholder filled in (as its comment says: "Update your webhooks key here"), is served by php's built-in server
on a local port; it must answer our request 200 and the same request with one changed body byte 401, or
nothing is written.

    python3 scripts/provider_vectors/make_xero.py <checkout or bare git dir> <commit>
"""

import base64
import hashlib
import hmac
import json
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from _vector import checkout_file, save

PATH = "index.php"
PLACEHOLDER = "'--YOUR_WEBHOOK_KEY---'"

commit, source = checkout_file(PATH)
if source.count(PLACEHOLDER) != 1:
    raise SystemExit("index.php changed: no webhook key placeholder")
key = "Xero+webhooks+key/1Q2w3E4r5T6y7U8i9O0p=="  # the shape of a webhooks key: base64 text, used as bytes
body = json.dumps({"events": [{"resourceUrl": "https://api.xero.com/api.xro/2.0/Contacts/717f2bfc-c6d4-41fd-b238-3f2f0c0cf777",
                               "resourceId": "717f2bfc-c6d4-41fd-b238-3f2f0c0cf777",
                               "eventDateUtc": "2026-11-30T00:53:19.000", "eventType": "CREATE",
                               "eventCategory": "CONTACT", "tenantId": "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f",
                               "tenantType": "ORGANISATION"}],
                   "firstEventSequence": 1, "lastEventSequence": 1, "entropy": "S0m3r4Nd0mt3xt"},
                  separators=(",", ":"))
# The request is built as Xero's docs say; Xero's published receiver is the judge of it.
sig = base64.b64encode(hmac.new(key.encode(), body.encode(), hashlib.sha256).digest()).decode()

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]


def post(payload: str) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", data=payload.encode(), method="POST",
                                     headers={"Content-Type": "application/json", "x-xero-signature": sig})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


with tempfile.TemporaryDirectory() as tmp:
    (Path(tmp) / "index.php").write_text(source.replace(PLACEHOLDER, repr(key)), encoding="utf-8")
    server = subprocess.Popen(["php", "-S", f"127.0.0.1:{port}", "index.php"], cwd=tmp,  # noqa: S603, S607
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        accepted, refused = post(body), post(body.replace("CREATE", "CREATe", 1))
    finally:
        server.terminate()
        server.wait(timeout=10)
if (accepted, refused) != (200, 401):
    raise SystemExit(f"Xero's published receiver disagrees: {accepted} / {refused}")
php = subprocess.run(["php", "-r", "echo PHP_VERSION;"], capture_output=True, text=True, check=True).stdout  # noqa: S607
url = f"https://github.com/XeroAPI/xero-php-webhook/blob/{commit}/{PATH}"
vector = {
    "provider": "xero",
    "signer": f"published example: {url}, Xero's PHP receiver (php {php} -S), answered it 200 and a changed body 401",
    "made_by": f"python3 scripts/provider_vectors/make_xero.py <XeroAPI/xero-php-webhook> {commit}",
    "secret": key, "method": "POST",
    "headers": {"content-type": "application/json", "x-xero-signature": sig},
    "body": body, "now": int(time.time()), "signature": sig, "signature_in": "x-xero-signature",
    "event_id": None, "event_type": None,
}
save(vector)
