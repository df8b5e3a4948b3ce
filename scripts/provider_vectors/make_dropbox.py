"""Dropbox: X-Dropbox-Signature = hex HMAC-SHA256 of the raw body keyed with the app secret
(https://www.dropbox.com/developers/reference/webhooks#notifications). Dropbox prints no test vector, but
publishes the tool it offers for testing webhook endpoints, dropbox/dropbox_hook (dropbox_hook.py,
"generates fake requests, mimicking what Dropbox itself sends"). Its `notify` command, read from the
repository at the given commit and run unmodified (in a throwaway venv with its two dependencies, click and
requests), posts a signed notification to a local HTTP server here; that request, as received, is the
vector. Nothing here computes the signature.

    python3 -m venv /tmp/pv-dropbox && /tmp/pv-dropbox/bin/pip install click requests
    python3 scripts/provider_vectors/make_dropbox.py <checkout or bare git dir> <commit> /tmp/pv-dropbox/bin/python
"""

import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

from _vector import checkout_file, save

PATH = "dropbox_hook.py"

commit, tool = checkout_file(PATH)
python = sys.argv[3]
received: list[tuple[dict[str, str], bytes]] = []


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


server = HTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()
secret = "dropbox-app-secret-q1w2e3"  # noqa: S105 - a test vector's secret
account = "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"
with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
    f.write(tool)
out = subprocess.run([python, f.name, "notify", f"http://127.0.0.1:{server.server_port}/", "--secret", secret,  # noqa: S603
                      "--account", account], capture_output=True, text=True, timeout=60, check=True).stdout
server.shutdown()
if "invoked successfully" not in out or len(received) != 1:
    raise SystemExit(f"dropbox_hook.py did not deliver: {out!r}")
headers, body = received[0]
url = f"https://github.com/dropbox/dropbox_hook/blob/{commit}/{PATH}"
vector = {
    "provider": "dropbox",
    "signer": f"published example: {url}, Dropbox's webhook test tool (notify), signed and sent it",
    "made_by": f"python3 scripts/provider_vectors/make_dropbox.py <dropbox/dropbox_hook> {commit} "
               "/tmp/pv-dropbox/bin/python",  # noqa: S108 - the command that made it
    "secret": secret, "method": "POST",
    "headers": {"content-type": headers["content-type"], "x-dropbox-signature": headers["x-dropbox-signature"]},
    "body": body.decode(), "now": int(time.time()), "signature": headers["x-dropbox-signature"],
    "signature_in": "x-dropbox-signature", "event_id": None, "event_type": None,
}
save(vector)
