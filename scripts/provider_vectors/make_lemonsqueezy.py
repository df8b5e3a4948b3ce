"""Lemon Squeezy: X-Signature = hex HMAC-SHA256 of the raw body keyed with the webhook's signing secret
(https://docs.lemonsqueezy.com/help/webhooks/signing-requests). Lemon Squeezy prints no test vector, but
publishes its own Laravel package, lmsqueezy/laravel, whose VerifyWebhookSignature middleware
(src/Http/Middleware/VerifyWebhookSignature.php) guards the webhook route. That file, read from the repository
at the given commit, is included unmodified by php; only what Laravel would provide around it is stood in
(Illuminate\\Http\\Request's getContent/header, Symfony's AccessDeniedHttpException, the config() helper holding
the signing secret). It must pass our request on and refuse the same request with one changed body byte, or
nothing is written. The request is built as Lemon Squeezy's docs say; the published middleware is the judge.

    python3 scripts/provider_vectors/make_lemonsqueezy.py <checkout or bare git dir> <commit>
"""

import hashlib
import hmac
import json
import subprocess
import tempfile
import time
from pathlib import Path

from _vector import checkout_file, save

PATH = "src/Http/Middleware/VerifyWebhookSignature.php"

commit, middleware = checkout_file(PATH)
secret = "lemonsqueezy-hookline-test-secret"  # noqa: S105 - a test vector's secret (6 to 40 characters)
body = json.dumps({"meta": {"event_name": "order_created", "custom_data": {"customer_id": 25}},
                   "data": {"type": "orders", "id": "1", "attributes": {
                       "store_id": 1, "identifier": "104e18a2-d755-4d4b-80c4-a6c1dcbe1c10", "order_number": 1,
                       "user_name": "Darlene Daugherty", "currency": "EUR", "total": 999, "status": "paid"}}},
                  separators=(",", ":"))
sig = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
# Laravel's pieces around the middleware, reduced to what it calls.
harness = r"""<?php
namespace Illuminate\Http { class Request {
    public function __construct(private string $body, private array $headers) {}
    public function getContent() { return $this->body; }
    public function header($name) { return $this->headers[strtolower($name)] ?? null; }
} }
namespace Symfony\Component\HttpKernel\Exception { class AccessDeniedHttpException extends \RuntimeException {} }
namespace {
    function config($key) { return $key === 'lemon-squeezy.signing_secret' ? $GLOBALS['argv'][3] : null; }
    require $argv[1];
    [, , $body, , $signature] = $argv;
    $verdict = function (string $payload) use ($signature) {
        $request = new Illuminate\Http\Request($payload, ['x-signature' => $signature]);
        try {
            return (new LemonSqueezy\Laravel\Http\Middleware\VerifyWebhookSignature())
                ->handle($request, fn ($r) => 'passed');
        } catch (Symfony\Component\HttpKernel\Exception\AccessDeniedHttpException $e) {
            return 'refused';
        }
    };
    echo $verdict($body), ' ', $verdict(str_replace('paid', 'pAid', $body)), "\n";
}
"""
with tempfile.TemporaryDirectory() as tmp:
    (Path(tmp) / "VerifyWebhookSignature.php").write_text(middleware, encoding="utf-8")
    (Path(tmp) / "harness.php").write_text(harness, encoding="utf-8")
    out = subprocess.run(["php", f"{tmp}/harness.php", f"{tmp}/VerifyWebhookSignature.php", body, secret, sig],  # noqa: S603, S607
                         capture_output=True, text=True, check=True, timeout=60).stdout.split()
if out != ["passed", "refused"]:
    raise SystemExit(f"Lemon Squeezy's published middleware disagrees: {out}")
php = subprocess.run(["php", "-r", "echo PHP_VERSION;"], capture_output=True, text=True, check=True).stdout  # noqa: S607
url = f"https://github.com/lmsqueezy/laravel/blob/{commit}/{PATH}"
vector = {
    "provider": "lemonsqueezy",
    "signer": f"published example: {url}, Lemon Squeezy's Laravel middleware (php {php}), passed it and refused "
              "a changed body",
    "made_by": f"python3 scripts/provider_vectors/make_lemonsqueezy.py <lmsqueezy/laravel> {commit}",
    "secret": secret, "method": "POST",
    "headers": {"content-type": "application/json", "x-event-name": "order_created", "x-signature": sig},
    "body": body, "now": int(time.time()), "signature": sig, "signature_in": "x-signature",
    "event_id": None, "event_type": "order_created",
}
save(vector)
