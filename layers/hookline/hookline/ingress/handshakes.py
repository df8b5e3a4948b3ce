"""Handshakes: what a provider asks of an endpoint before (or instead of) sending it events.

Ingress answers them itself; a handshake never becomes an event and is never queued. `answer` returns
None for anything that is not its kind's handshake, and ingress goes on with the request as an event.
Where the provider signs or authenticates the handshake, the source's own check runs first (`check`),
so a forged one is refused with HandshakeRefused: 401 "authentication failed", the reason to the log.

Each kind follows its provider's documentation (the link is at each function):

- slack_url_verification: a signed POST `"type": "url_verification"`: 200 text/plain `challenge`.
- meta_verify_token: GET `hub.mode=subscribe`, `hub.verify_token`, `hub.challenge`: 200 text/plain
  `hub.challenge` when the token is the source's `verify_token`.
- dropbox_challenge: GET `?challenge=`: 200 text/plain echo with `X-Content-Type-Options: nosniff`.
- zoom_url_validation: a signed POST `"event": "endpoint.url_validation"`: 200 JSON `plainToken` and
  `encryptedToken`, the HMAC-SHA256 hex of the plain token with the secret that signed the request.
- twitch_callback_verification: a signed POST, `Twitch-Eventsub-Message-Type: webhook_callback_verification`:
  200 text/plain `challenge`.
- msgraph_validation_token: POST (or GET) `?validationToken=`: 200 text/plain echo.
- okta_verification: GET with `X-Okta-Verification-Challenge` and the hook's auth header: 200 JSON
  `{"verification": ...}`.
- asana_hook_secret: POST with `X-Hook-Secret`: 200 echoing the header; the secret stored once in SSM.
- xero_intent_to_receive: a signed POST with `"events": []`: 200 with no body (401 when wrongly signed).
- sns_subscription: SNS `SubscriptionConfirmation` / `UnsubscribeConfirmation`: 200 after the certificate
  check (and the confirmation GET).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hookline.core import ports
from hookline.core.errors import Problem
from hookline.ingress import providers
from hookline.ingress import sns as sns_messages
from hookline.ingress.providers.request import Request
from hookline.ingress.signatures import SignatureError

TEXT = "text/plain; charset=utf-8"
# Echoed challenges are text, never sniffed as HTML: a reflected value cannot become a page (Dropbox's advice).
NOSNIFF = {"X-Content-Type-Options": "nosniff"}


@dataclass(frozen=True)
class HandshakeResponse:
    status: int
    body: str = ""
    content_type: str | None = TEXT  # None: no body, no Content-Type
    headers: Mapping[str, str] = field(default_factory=dict)


class HandshakeRefused(Exception):
    """A forged or unusable handshake: the caller gets 401 "authentication failed"; str(e) goes to the log."""


@dataclass
class Handshake:
    """What a kind may use: the source's secrets and checks, each read only when that kind needs it."""

    source: str
    secrets: Callable[[], list[str]]  # resolved lazily: Asana's does not exist before its handshake
    check: Callable[[list[str]], None]  # the source's signature check of this request with these secrets
    secret_refs: list[str] = field(default_factory=list)
    verify_token: Callable[[], str | None] = lambda: None
    hook_secrets: ports.HookSecretStore | None = None
    sns: sns_messages.SnsVerifier | None = None
    topic_arns: list[str] | None = None
    tolerance_seconds: int | None = None


KINDS = ("slack_url_verification", "meta_verify_token", "dropbox_challenge", "zoom_url_validation",
         "twitch_callback_verification", "msgraph_validation_token", "okta_verification", "asana_hook_secret",
         "xero_intent_to_receive", "sns_subscription")


def answer(kind: str, request: Request, hs: Handshake) -> HandshakeResponse | None:
    """The handshake's answer, or None when `request` is not this kind's handshake."""
    try:
        fn = _KINDS[kind]
    except KeyError:
        raise HandshakeRefused(f"unknown handshake kind {kind!r} (known: {', '.join(KINDS)})") from None
    return fn(request, hs)


def _signed(hs: Handshake, what: str, secrets: list[str] | None = None) -> None:
    try:
        hs.check(hs.secrets() if secrets is None else secrets)
    except SignatureError as e:
        raise HandshakeRefused(f"{what} failed the source's signature check: {e}") from None


def _json_object(body: bytes, marker: bytes) -> dict[str, Any] | None:
    # The marker test keeps JSON parsing off the path of every ordinary event.
    if marker not in body:
        return None
    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _text(value: str, headers: Mapping[str, str] | None = None) -> HandshakeResponse:
    return HandshakeResponse(200, value, TEXT, {**NOSNIFF, **(headers or {})})


# ---------------------------------------------------------------- kinds

def slack_url_verification(request: Request, hs: Handshake) -> HandshakeResponse | None:
    # https://api.slack.com/events/url_verification: signed like any event; answer the challenge.
    data = _json_object(request.body, b"url_verification") if request.method == "POST" else None
    if not data or data.get("type") != "url_verification":
        return None
    _signed(hs, "Slack url_verification")
    challenge = data.get("challenge")
    if not isinstance(challenge, str):
        raise HandshakeRefused("Slack url_verification without a challenge string")
    return _text(challenge)


def meta_verify_token(request: Request, hs: Handshake) -> HandshakeResponse | None:
    # https://developers.facebook.com/docs/graph-api/webhooks/getting-started: GET with hub.* parameters.
    if request.method != "GET" or "hub.mode" not in request.query:
        return None
    if request.query.get("hub.mode") != "subscribe":
        raise HandshakeRefused("Meta verification with hub.mode other than subscribe")
    expected = hs.verify_token()
    if not expected:
        raise HandshakeRefused(f"sources.{hs.source}.verify_token is not set: Meta's verification cannot be checked")
    token = request.query.get("hub.verify_token") or ""
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise HandshakeRefused("Meta verification: hub.verify_token is not the source's verify_token")
    return _text(request.query.get("hub.challenge") or "")


def dropbox_challenge(request: Request, hs: Handshake) -> HandshakeResponse | None:
    # https://www.dropbox.com/developers/reference/webhooks: GET ?challenge=, echoed as text, nosniff.
    if request.method != "GET" or "challenge" not in request.query:
        return None
    return _text(request.query["challenge"])


def zoom_url_validation(request: Request, hs: Handshake) -> HandshakeResponse | None:
    # https://developers.zoom.us/docs/api/webhooks/#validate-your-webhook-endpoint: the request is signed
    # (x-zm-signature); the answer proves the secret: encryptedToken = hex HMAC-SHA256(secret, plainToken).
    data = _json_object(request.body, b"endpoint.url_validation") if request.method == "POST" else None
    if not data or data.get("event") != "endpoint.url_validation":
        return None
    plain = (data.get("payload") or {}).get("plainToken") if isinstance(data.get("payload"), dict) else None
    if not isinstance(plain, str):
        raise HandshakeRefused("Zoom endpoint.url_validation without payload.plainToken")
    # The secret that signed the request answers it: during a rotation that may be either one.
    last: HandshakeRefused | None = None
    for secret in hs.secrets():
        try:
            _signed(hs, "Zoom endpoint.url_validation", [secret])
        except HandshakeRefused as e:
            last = e
            continue
        token = hmac.new(secret.encode(), plain.encode(), hashlib.sha256).hexdigest()
        return HandshakeResponse(200, json.dumps({"plainToken": plain, "encryptedToken": token}),
                                 "application/json")
    raise last or HandshakeRefused(f"sources.{hs.source} has no secret to answer Zoom's validation")


def twitch_callback_verification(request: Request, hs: Handshake) -> HandshakeResponse | None:
    # https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#responding-to-a-challenge-request
    if request.headers.get("twitch-eventsub-message-type") != "webhook_callback_verification":
        return None
    _signed(hs, "Twitch webhook_callback_verification")
    data = _json_object(request.body, b"challenge")
    challenge = data.get("challenge") if data else None
    if not isinstance(challenge, str):
        raise HandshakeRefused("Twitch webhook_callback_verification without a challenge string")
    return _text(challenge)


def msgraph_validation_token(request: Request, hs: Handshake) -> HandshakeResponse | None:
    # https://learn.microsoft.com/graph/change-notifications-delivery-webhooks#notificationurl-validation:
    # POST ?validationToken=..., answered within 10 s with the token, text/plain. Graph does not sign it.
    if "validationToken" not in request.query:
        return None
    return _text(request.query["validationToken"])


def okta_verification(request: Request, hs: Handshake) -> HandshakeResponse | None:
    # https://developer.okta.com/docs/concepts/event-hooks/#one-time-verification-request: a GET carrying the
    # hook's authentication header like every event, answered {"verification": <the challenge header>}.
    challenge = request.headers.get("x-okta-verification-challenge")
    if request.method != "GET" or challenge is None:
        return None
    _signed(hs, "Okta verification")
    return HandshakeResponse(200, json.dumps({"verification": challenge}), "application/json")


def asana_hook_secret(request: Request, hs: Handshake) -> HandshakeResponse | None:
    # https://developers.asana.com/docs/webhooks-guide#the-webhook-handshake: the secret comes in the
    # handshake itself; echo it, then verify later events' X-Hook-Signature (HMAC-SHA256 hex) with it.
    secret = request.headers.get("x-hook-secret")
    if secret is None:
        return None
    if not secret:
        raise HandshakeRefused("Asana handshake with an empty X-Hook-Secret")
    name = next((ref.partition(":")[2] for ref in hs.secret_refs if ref.startswith("ssm:")), None)
    if name is None or hs.hook_secrets is None:
        raise HandshakeRefused(f"sources.{hs.source}.secrets names no ssm: parameter to keep Asana's X-Hook-Secret in")
    stored = hs.hook_secrets.put_new(name, secret)
    if stored is not None and not hmac.compare_digest(stored.encode(), secret.encode()):
        # Anyone can send a handshake: a second one must not replace the secret events are checked with.
        raise HandshakeRefused(f"Asana handshake: a different secret is already stored in SSM {name}; delete "
                               "that parameter to register a new webhook")
    return HandshakeResponse(200, "", None, {"X-Hook-Secret": secret})


def xero_intent_to_receive(request: Request, hs: Handshake) -> HandshakeResponse | None:
    # https://developer.xero.com/documentation/webhooks/configuring-your-server#intent-to-receive: signed
    # POSTs with no events, some signed wrongly on purpose: 200 with no body when right, 401 when wrong.
    data = _json_object(request.body, b'"events"') if request.method == "POST" else None
    if data is None or data.get("events") != []:
        return None
    _signed(hs, "Xero intent to receive")
    return HandshakeResponse(200, "", None)


def sns_subscription(request: Request, hs: Handshake) -> HandshakeResponse | None:
    # https://docs.aws.amazon.com/sns/latest/dg/SendMessageToHttp.prepare.html: confirmations are verified like
    # notifications (ingress.sns), then confirmed by a GET on SubscribeURL. Notifications are events: None.
    kind = request.headers.get("x-amz-sns-message-type")
    if kind not in ("SubscriptionConfirmation", "UnsubscribeConfirmation") or request.method != "POST":
        return None
    if hs.sns is None:
        raise HandshakeRefused("no SNS verifier configured")
    try:
        message = hs.sns.verify(request.body, tolerance_seconds=hs.tolerance_seconds)
        if message.type != kind:
            raise SignatureError(f"x-amz-sns-message-type {kind} but the signed Type is {message.type}")
        allowed_topic(message, hs)
        if kind == "SubscriptionConfirmation":
            hs.sns.confirm(message)
    except SignatureError as e:
        raise HandshakeRefused(f"SNS {kind}: {e}") from None
    except OSError as e:
        raise HandshakeRefused(f"SNS {kind}: confirming the subscription failed: {type(e).__name__}") from None
    return HandshakeResponse(200, "", None)


def allowed_topic(message: sns_messages.Message, hs: Handshake) -> None:
    """Any AWS account can sign SNS messages to this URL: only the source's `topic_arns` are accepted."""
    if not hs.topic_arns:
        raise SignatureError(f"sources.{hs.source}.topic_arns is not set: no SNS topic is accepted")
    if message.topic_arn not in hs.topic_arns:
        raise SignatureError(f"TopicArn {message.topic_arn[:200]} is not in sources.{hs.source}.topic_arns")


def sns_notification(request: Request, hs: Handshake) -> sns_messages.Message:
    """A verified Notification of an accepted topic (an event); HandshakeRefused otherwise."""
    if hs.sns is None:
        raise HandshakeRefused("no SNS verifier configured")
    try:
        message = hs.sns.verify(request.body, tolerance_seconds=hs.tolerance_seconds)
        if message.type != "Notification":
            raise SignatureError(f"an SNS {message.type} without its x-amz-sns-message-type header")
        allowed_topic(message, hs)
    except SignatureError as e:
        raise HandshakeRefused(f"SNS Notification: {e}") from None
    return message


def kind_of(provider: str | None) -> str | None:
    """The handshake kind of a catalog entry, or None."""
    if provider is None:
        return None
    try:
        handshake = providers.load(provider).handshake
    except providers.ProviderError:
        return None  # an unknown provider is the configuration check's to report, not a handshake's
    return str(handshake["kind"]) if handshake else None


def for_source(source: str, src: Any, provider: str, request: Request, secrets: ports.Secrets, *, now: float,
               hook_secrets: ports.HookSecretStore | None = None,
               sns: sns_messages.SnsVerifier | None = None) -> Handshake:
    """What the source's configuration gives a handshake, every secret read only when a kind asks for it."""
    refs = list(getattr(src, "secrets", None) or getattr(getattr(src, "verify", None), "secrets", None) or [])
    tolerance = getattr(src, "tolerance_seconds", None)

    def check(values: list[str]) -> None:
        providers.verify(providers.load(provider), values, request, now=now, tolerance_seconds=tolerance)

    token_ref = getattr(src, "verify_token", None)
    return Handshake(source=source, secrets=lambda: secrets.resolve_all(refs), check=check, secret_refs=refs,
                     verify_token=lambda: secrets.resolve(token_ref) if token_ref else None,
                     hook_secrets=hook_secrets, sns=sns, topic_arns=getattr(src, "topic_arns", None),
                     tolerance_seconds=tolerance)


def config_problems(p: str, src: Any, kind: str | None) -> list[Problem]:
    """What a source's handshake needs of its configuration (ingress/checks.py): without it, every
    handshake would be refused at run time with only a log line to say why."""
    problems: list[Problem] = []
    if kind == "meta_verify_token" and not getattr(src, "verify_token", None):
        problems.append(Problem(f"{p}.verify_token", "the provider's handshake checks hub.verify_token against it",
                                "verify_token: ssm:/hookline/meta/verify-token (what you type as the Verify "
                                "token in the provider's dashboard)"))
    if kind == "sns_subscription" and not getattr(src, "topic_arns", None):
        problems.append(Problem(f"{p}.topic_arns", "any AWS account can sign an SNS message to this URL: only "
                                "the listed topics are accepted", "topic_arns: [arn:aws:sns:REGION:ACCOUNT:TOPIC]"))
    refs = list(getattr(src, "secrets", None) or [])
    if kind == "asana_hook_secret" and not any(r.startswith("ssm:") for r in refs):
        problems.append(Problem(f"{p}.secrets", "Asana hands its secret over in the handshake: hookline stores it "
                                "in the SSM parameter this names", "secrets: [ssm:/hookline/asana/" +
                                p.rsplit(".", 1)[-1] + "] (under the stack's SecretsPrefix)"))
    for key, needed in (("verify_token", "meta_verify_token"), ("topic_arns", "sns_subscription")):
        if getattr(src, key, None) and kind != needed:
            problems.append(Problem(f"{p}.{key}", f"only for providers whose handshake uses it ({needed})",
                                    f"remove {key}, or check the provider"))
    return problems


_KINDS: dict[str, Callable[[Request, Handshake], HandshakeResponse | None]] = {
    name: globals()[name] for name in KINDS
}
