"""Buildkite: X-Buildkite-Signature = "timestamp=<unix>,signature=<hex HMAC-SHA256 of '<timestamp>.<body>'>"
keyed with the webhook's token (https://buildkite.com/docs/apis/webhooks). Buildkite prints no test vector but
publishes a Ruby verifier, the BuildkiteWebhook class in buildkite/docs
pages/apis/webhooks/_verifying_hmac_signatures.md. That class is taken from the page's ruby block at the given
commit and run unmodified by ruby (Rack::Utils.secure_compare, which it calls, is stood in by a plain
compare); it must accept our request and refuse a changed body, or nothing is written.

    python3 scripts/provider_vectors/make_buildkite.py <checkout or bare git dir> <commit>
"""

import hashlib
import hmac
import json
import re
import subprocess
import tempfile
import time

from _vector import checkout_file, save

PAGE = "pages/apis/webhooks/_verifying_hmac_signatures.md"

commit, page = checkout_file(PAGE)
block = re.search(r"```ruby\n(.*?)```", page, re.DOTALL).group(1)
klass = block[:block.index("BuildkiteWebhook.valid?(")]  # the class, without the page's call on a Rack request

secret = "buildkite-webhook-token"  # noqa: S105 - a test vector's secret
body = json.dumps({"event": "build.finished", "build": {"id": "0190b8e2-4f3a-4c7d-9e1b-2a3c4d5e6f70",
                                                        "state": "passed", "number": 42}}, separators=(",", ":"))
ts = str(int(time.time()))
sig = hmac.new(secret.encode(), f"{ts}.{body}".encode(), hashlib.sha256).hexdigest()
header = f"timestamp={ts},signature={sig}"
script = ("module Rack; module Utils; def self.secure_compare(a, b) a == b end; end; end\n" + klass +
          "body, header, secret = ARGV\n"
          "puts BuildkiteWebhook.valid?(body, header, secret)\n"
          "puts BuildkiteWebhook.valid?(body + ' ', header, secret)\n")
with tempfile.NamedTemporaryFile("w", suffix=".rb", delete=False) as f:
    f.write(script)
out = subprocess.run(["ruby", f.name, body, header, secret], capture_output=True, text=True,  # noqa: S603, S607
                     check=True).stdout.split()
if out != ["true", "false"]:
    raise SystemExit(f"Buildkite's published verifier disagrees: {out}")
url = f"https://github.com/buildkite/docs/blob/{commit}/{PAGE}"
vector = {
    "provider": "buildkite",
    "signer": f"{url}: BuildkiteWebhook.valid? (Ruby) accepted it and refused a changed body",
    "made_by": f"python3 scripts/provider_vectors/make_buildkite.py <buildkite/docs> {commit}",
    "secret": secret, "method": "POST",
    "headers": {"content-type": "application/json", "x-buildkite-event": "build.finished",
                "x-buildkite-signature": header},
    "body": body, "now": int(ts), "signature": sig, "signature_in": "x-buildkite-signature",
    "timestamp": ts, "timestamp_in": "x-buildkite-signature", "timestamp_format": "unix", "tolerance_seconds": 300,
    "event_id": None, "event_type": "build.finished",
}
save(vector)
