"""WooCommerce: X-WC-Webhook-Signature = base64 HMAC-SHA256 of the body with the webhook's secret
(https://woocommerce.com/document/webhooks/). WooCommerce prints no test vector, but its signer is open
source: WC_Webhook::generate_signature in woocommerce/woocommerce plugins/woocommerce/includes/class-wc-webhook.php.
That method (cut from the file given, run unmodified by php inside a stand-in class whose get_id/get_secret
return the webhook's id and secret, with WordPress's apply_filters passing its value through as it does
when no filter is hooked and wp_specialchars_decode reduced to htmlspecialchars_decode) SIGNS the request
here: the vector carries WooCommerce's own signature, so nothing of ours makes it.

    python3 scripts/provider_vectors/make_woocommerce.py <class-wc-webhook.php> <commit it was read at>
"""

import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _vector import save

PATH = "plugins/woocommerce/includes/class-wc-webhook.php"

source, commit = Path(sys.argv[1]).read_text(encoding="utf-8"), sys.argv[2]
method = re.search(r"\tpublic function generate_signature\( \$payload \) \{\n.*?\n\t\}\n", source, re.DOTALL).group(0)
secret = "wc-hookline-test-secret&amp;x"  # noqa: S105 - a test vector's secret (an entity, as the admin form stores it)
body = json.dumps({"id": 727, "status": "processing", "currency": "EUR", "total": "29.35",
                   "billing": {"first_name": "Ada", "email": "ada@example.com"}}, separators=(",", ":"))
php = ("<?php\n"
       "function apply_filters($hook, $value, ...$args) { return $value; }\n"
       "function wp_specialchars_decode($text, $quotes) { return htmlspecialchars_decode($text, $quotes); }\n"
       "class WC_Webhook_Signer {\n"
       "\tprivate $secret;\n"
       "\tpublic function __construct($secret) { $this->secret = $secret; }\n"
       "\tpublic function get_id() { return 3; }\n"
       "\tpublic function get_secret() { return $this->secret; }\n"
       f"{method}"
       "}\n"
       "echo (new WC_Webhook_Signer($argv[1]))->generate_signature($argv[2]);\n")
with tempfile.NamedTemporaryFile("w", suffix=".php", delete=False) as f:
    f.write(php)
sig = subprocess.run(["php", f.name, secret, body], capture_output=True, text=True,  # noqa: S603, S607
                     check=True).stdout.strip()
url = f"https://github.com/woocommerce/woocommerce/blob/{commit}/{PATH}"
vector = {
    "provider": "woocommerce",
    "signer": f"{url}: WC_Webhook::generate_signature (WooCommerce's own signer, run by php) signed it",
    "made_by": f"python3 scripts/provider_vectors/make_woocommerce.py <{PATH} at {commit}> {commit}",
    # WordPress stores the secret HTML-escaped and WooCommerce decodes it before signing: the key is the
    # decoded text, which is what a user pastes into hookline.
    "secret": secret.replace("&amp;", "&"), "method": "POST",
    "headers": {"content-type": "application/json", "x-wc-webhook-delivery-id": "9c8e27ad1b2a0e6f",
                "x-wc-webhook-topic": "order.created", "x-wc-webhook-id": "3", "x-wc-webhook-signature": sig},
    "body": body, "now": int(time.time()), "signature": sig, "signature_in": "x-wc-webhook-signature",
    "event_id": "9c8e27ad1b2a0e6f", "event_type": "order.created",
}
save(vector)
