"""Twitch EventSub: Twitch-Eventsub-Message-Signature = "sha256=" + hex HMAC-SHA256 of message id + timestamp +
raw body, keyed with the subscription's secret
(https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message). Twitch prints no
test vector, but its official CLI (twitchdev/twitch-cli, `twitch event trigger ... --secret`) signs the
events it forwards to a local endpoint with getSignatureHeader in internal/events/trigger/forward_event.go.
That function, read from the repository at the given commit, is compiled unmodified by go into a tiny program
(the CLI's models.TransportWebhook constant is the only stand-in) which sets the headers on a request; the
request's headers are the vector. Nothing here computes the signature.

    python3 scripts/provider_vectors/make_twitch.py <checkout or bare git dir> <commit>
"""

import json
import os
import re
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

VECTORS = Path(__file__).resolve().parents[2] / "tests" / "unit" / "ingress" / "providers" / "vectors"
PATH = "internal/events/trigger/forward_event.go"

repo, commit = sys.argv[1], sys.argv[2]
source = subprocess.run(["git", "--git-dir", repo, "show", f"{commit}:{PATH}"],  # noqa: S603, S607 - a maintainer's tool
                        capture_output=True, text=True, check=True).stdout
func = re.search(r"^func getSignatureHeader\(.*?^}\n", source, re.DOTALL | re.MULTILINE).group(0)
program = """package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

// twitch-cli's internal/models constant, the one name the function needs from elsewhere.
var models = struct{ TransportWebhook string }{"webhook"}

func main() {
	id, secret, timestamp, body := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	req, _ := http.NewRequest("POST", "http://127.0.0.1/", strings.NewReader(body))
	getSignatureHeader(req, id, secret, models.TransportWebhook, timestamp, []byte(body))
	out, _ := json.Marshal(map[string]string{
		"timestamp": req.Header.Get("Twitch-Eventsub-Message-Timestamp"),
		"signature": req.Header.Get("Twitch-Eventsub-Message-Signature"),
	})
	fmt.Println(string(out))
}

""" + func

secret = "twitch-eventsub-secret-0123456789"  # noqa: S105 - a test vector's secret
msg_id = "e76c6bd4-55c9-4987-8304-da1588d8988b"
timestamp = "2026-11-30T00:53:20.123456789Z"  # RFC 3339 with nanoseconds, as `twitch event trigger` sends it
body = json.dumps({"subscription": {"id": "f1c2a387-161a-49f9-a165-0f21d7a4e1c4", "type": "channel.follow",
                                    "version": "2", "status": "enabled", "cost": 0,
                                    "condition": {"broadcaster_user_id": "1337", "moderator_user_id": "1337"},
                                    "transport": {"method": "webhook", "callback": "https://example.com/webhooks"},
                                    "created_at": "2026-11-30T00:50:00.000000000Z"},
                   "event": {"user_id": "1234", "user_login": "cool_user", "user_name": "Cool_User",
                             "broadcaster_user_id": "1337", "broadcaster_user_login": "cooler_user",
                             "broadcaster_user_name": "Cooler_User", "followed_at": "2026-11-30T00:53:19.5Z"}},
                  separators=(",", ":"))
with tempfile.TemporaryDirectory() as tmp:
    (Path(tmp) / "main.go").write_text(program, encoding="utf-8")
    env = {**os.environ, "GO111MODULE": "off", "GOCACHE": f"{tmp}/cache", "GOPATH": f"{tmp}/gopath"}
    signed = json.loads(subprocess.run(["go", "run", "main.go", msg_id, secret, timestamp, body],  # noqa: S603, S607
                                       cwd=tmp, env=env, capture_output=True, text=True, check=True,
                                       timeout=300).stdout)
if signed["timestamp"] != timestamp or not signed["signature"].startswith("sha256="):
    raise SystemExit(f"twitch-cli's signer gave {signed}")
signed_at = datetime.fromisoformat(timestamp[:26] + "+00:00").timestamp()  # microseconds are enough here
url = f"https://github.com/twitchdev/twitch-cli/blob/{commit}/{PATH}"
vector = {
    "provider": "twitch",
    "signer": f"published example: {url}, getSignatureHeader of Twitch's CLI (`twitch event trigger`), "
              "compiled by go, signed it",
    "made_by": f"python3 scripts/provider_vectors/make_twitch.py <twitchdev/twitch-cli> {commit}",
    "go": subprocess.run(["go", "version"], capture_output=True, text=True, check=True).stdout.split()[2],  # noqa: S607
    "secret": secret, "method": "POST",
    "headers": {"content-type": "application/json", "twitch-eventsub-message-id": msg_id,
                "twitch-eventsub-message-retry": "0", "twitch-eventsub-message-type": "notification",
                "twitch-eventsub-subscription-type": "channel.follow",
                "twitch-eventsub-subscription-version": "2",
                "twitch-eventsub-message-timestamp": signed["timestamp"],
                "twitch-eventsub-message-signature": signed["signature"]},
    "body": body, "now": int(signed_at), "signature": signed["signature"].removeprefix("sha256="),
    "signature_in": "twitch-eventsub-message-signature", "timestamp": timestamp,
    "timestamp_in": "twitch-eventsub-message-timestamp", "timestamp_format": "iso8601",
    "signed_at": signed_at, "tolerance_seconds": 600,
    "event_id": msg_id, "event_type": "channel.follow",
}
(VECTORS / "twitch.json").write_text(json.dumps(vector, indent=2) + "\n", encoding="utf-8")
print(f"wrote {VECTORS / 'twitch.json'}")
