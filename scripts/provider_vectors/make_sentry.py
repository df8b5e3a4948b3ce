"""Sentry (integration platform): Sentry-Hook-Signature = hex HMAC-SHA256 of the raw body with the
integration's Client Secret. Sentry prints no test vector, but publishes the verifier its example app uses:
getsentry/integration-platform-example, backend-py/src/api/middleware/verify_sentry_signature.py,
is_correct_sentry_signature. That function (read from a checkout of the repository at the given commit, run
unmodified; its Flask app's logger is the only stand-in) must accept the request, or nothing is written.

    python3 scripts/provider_vectors/make_sentry.py <checkout or bare git dir> <commit>
"""

import ast
import hashlib
import hmac
import json
import logging
import time
from types import SimpleNamespace

from _vector import checkout_file, save

PATH = "backend-py/src/api/middleware/verify_sentry_signature.py"

commit, source = checkout_file(PATH)
# Only the verifier function itself: the module imports Flask and the example's app.
tree = ast.parse(source)
func = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "is_correct_sentry_signature")
scope = {"hmac": hmac, "hashlib": hashlib, "Any": object, "Mapping": dict,
         "app": SimpleNamespace(logger=logging.getLogger("sentry-example"))}
exec(compile(ast.Module([func], []), PATH, "exec"), scope)  # noqa: S102 - Sentry's published verifier
verify = scope["is_correct_sentry_signature"]

secret = "sentry-integration-client-secret"  # noqa: S105 - a test vector's secret
body = json.dumps({"action": "created", "data": {"issue": {"id": "1170820242", "title": "TypeError"}},
                   "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},
                   "actor": {"type": "application", "id": "sentry", "name": "Sentry"}}, separators=(",", ":"))
sig = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
if not verify(body=body.encode(), key=secret, expected=sig) or verify(body=body.encode() + b" ", key=secret,
                                                                      expected=sig):
    raise SystemExit("Sentry's published verifier disagrees")
url = f"https://github.com/getsentry/integration-platform-example/blob/{commit}/{PATH}"
vector = {
    "provider": "sentry",
    "signer": f"{url}: is_correct_sentry_signature accepted it",
    "made_by": f"python3 scripts/provider_vectors/make_sentry.py <getsentry/integration-platform-example> {commit}",
    "secret": secret, "method": "POST",
    "headers": {"content-type": "application/json", "request-id": "e4ba8bbe-4d36-4b1e-a6b4-2a0dd0ffac2b",
                "sentry-hook-resource": "issue", "sentry-hook-timestamp": str(int(time.time())),
                "sentry-hook-signature": sig},
    "body": body, "now": int(time.time()), "signature": sig, "signature_in": "sentry-hook-signature",
    "event_id": "e4ba8bbe-4d36-4b1e-a6b4-2a0dd0ffac2b", "event_type": "issue",
}
save(vector)
