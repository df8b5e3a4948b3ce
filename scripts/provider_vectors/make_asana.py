"""Asana: X-Hook-Signature = hex HMAC-SHA256 of the raw body keyed with the X-Hook-Secret from the webhook's
handshake (https://developers.asana.com/docs/webhooks-guide#security). Asana prints no test vector, but
publishes a receiver, Asana/devrel-examples python/webhooks_v5/server.py (Flask). That server, read from the
repository at the given commit and run unmodified through Flask's test client (its .env file holding the
secret, as its README says), must answer our request 200 and the same request with one changed body byte 401,
or nothing is written.

    python3 -m venv /tmp/pv-asana && /tmp/pv-asana/bin/pip install flask python-dotenv
    /tmp/pv-asana/bin/python scripts/provider_vectors/make_asana.py <checkout or bare git dir> <commit>
"""

import hashlib
import hmac
import importlib.util
import json
import os
import tempfile
import time
from importlib import metadata
from pathlib import Path

from _vector import checkout_file, save

PATH = "python/webhooks_v5/server.py"

commit, source = checkout_file(PATH)
secret = "8f2e9f6b1c0d4a7e9b3c5d7f1a2b4c6d"  # noqa: S105 - a test vector's secret (Asana's are 32 hex characters)
body = json.dumps({"events": [{"user": {"gid": "1123", "resource_type": "user"},
                               "created_at": "2026-11-30T00:53:19.000Z", "action": "changed",
                               "resource": {"gid": "1337", "resource_type": "task", "resource_subtype": "default_task"},
                               "parent": None, "change": {"field": "name", "action": "changed"}}]},
                  separators=(",", ":"))
# The request is built as Asana's docs say; the published server is the judge of it.
sig = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
with tempfile.TemporaryDirectory() as tmp:
    (Path(tmp) / ".env").write_text(f"X_HOOK_SECRET={secret}\n", encoding="utf-8")
    (Path(tmp) / "server.py").write_text(source, encoding="utf-8")
    os.chdir(tmp)  # the server reads ./.env
    spec = importlib.util.spec_from_file_location("asana_server", Path(tmp) / "server.py")
    server = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(server)
    client = server.app.test_client()
    headers = {"Content-Type": "application/json", "X-Hook-Signature": sig}
    accepted = client.post("/receive_webhook", data=body, headers=headers).status_code
    refused = client.post("/receive_webhook", data=body.replace("changed", "Changed", 1), headers=headers).status_code
if (accepted, refused) != (200, 401):
    raise SystemExit(f"Asana's published server disagrees: {accepted} / {refused}")
url = f"https://github.com/Asana/devrel-examples/blob/{commit}/{PATH}"
vector = {
    "provider": "asana",
    "signer": f"published example: {url}, Asana's example receiver (Flask {metadata.version('flask')}), "
              "answered it 200 and a changed body 401",
    "made_by": f"/tmp/pv-asana/bin/python scripts/provider_vectors/make_asana.py <Asana/devrel-examples> {commit}",  # noqa: S108
    "secret": secret, "method": "POST",
    "headers": {"content-type": "application/json", "x-hook-signature": sig},
    "body": body, "now": int(time.time()), "signature": sig, "signature_in": "x-hook-signature",
    "event_id": None, "event_type": None,
}
save(vector)
