"""SNS messages: AWS's canonical string and signature versions, the certificate URL rule (no request to any
other host, proven with a real local HTTPS server that counts requests), the certificate cache."""

from __future__ import annotations

import base64
import datetime as dt
import json
import ssl
import threading

import pytest

from hookline.ingress import sns
from hookline.ingress.signatures import SignatureError
from tests.support import sns_pki
from tests.support.sns_pki import HOST, TOPIC

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return sns_pki.make_pki(tmp_path_factory.mktemp("pki"), NOW)


class _Server(sns_pki.LocalSns):
    def getter(self, pki) -> sns.HttpsGetter:
        ctx = ssl.create_default_context(cafile=str(pki.ca_file))
        # Every URL's connection goes to this server; TLS still checks the URL's own host name.
        return sns.HttpsGetter(ctx, connect_to=("127.0.0.1", self.port))


@pytest.fixture()
def server(pki):
    s = _Server(pki)
    yield s
    s.close()


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def message(pki, kind="Notification", **kw) -> dict:
    return sns_pki.message(pki, kind, at=NOW, **kw)


def verifier(server, pki, clock=None, **kw) -> sns.SnsVerifier:
    return sns.SnsVerifier(server.getter(pki), clock=clock or Clock(NOW.timestamp()), **kw)


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize("kind", sns.MESSAGE_TYPES)
def test_signed_messages_verify_through_real_https(server, pki, version, kind):
    msg = message(pki, kind, version=version)
    got = verifier(server, pki).verify(json.dumps(msg).encode())
    assert (got.type, got.message_id, got.topic_name) == (kind, msg["MessageId"], "alarms")
    assert server.paths == ["/SimpleNotificationService-0000000000000000000000.pem"]


@pytest.mark.parametrize("field", ["Message", "MessageId", "Timestamp", "TopicArn", "Subject"])
def test_a_changed_signed_field_is_refused(server, pki, field):
    msg = message(pki)
    msg[field] = msg[field][:-1] + ("0" if msg[field][-1] != "0" else "1")
    with pytest.raises(SignatureError, match=r"does not match|Timestamp"):
        verifier(server, pki).verify(json.dumps(msg).encode())


def test_a_flipped_signature_byte_is_refused(server, pki):
    msg = message(pki)
    raw = bytearray(base64.b64decode(msg["Signature"]))
    raw[10] ^= 1
    msg["Signature"] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(SignatureError, match="does not match"):
        verifier(server, pki).verify(json.dumps(msg).encode())


def test_stale_and_future_timestamps_are_refused(server, pki):
    msg = json.dumps(message(pki)).encode()
    for offset in (3601, -3601):
        with pytest.raises(SignatureError, match="Timestamp"):
            verifier(server, pki, Clock(NOW.timestamp() + offset)).verify(msg)
    verifier(server, pki, Clock(NOW.timestamp() + 50)).verify(msg, tolerance_seconds=60)
    with pytest.raises(SignatureError, match="Timestamp"):
        verifier(server, pki, Clock(NOW.timestamp() + 61)).verify(msg, tolerance_seconds=60)


BAD_URLS = [
    "http://sns.us-east-1.amazonaws.com/cert.pem",  # not https
    "https://sns.us-east-1.amazonaws.com.evil.com/cert.pem",  # look-alike suffix
    "https://sns.us-east-1.amazonaws.com.cn.evil.com/cert.pem",
    "https://evil-sns.us-east-1.amazonaws.com/cert.pem",
    "https://sns.us-east-1.amazonaws.co/cert.pem",
    "https://s3.amazonaws.com/sns/cert.pem",  # AWS, but not SNS
    "https://evil.com/sns.us-east-1.amazonaws.com/cert.pem",  # off AWS
    "https://user@sns.us-east-1.amazonaws.com/cert.pem",  # userinfo
    "https://sns.us-east-1.amazonaws.com@evil.com/cert.pem",
    "https://sns.us-east-1.amazonaws.com:8443/cert.pem",  # port
    "https://sns.us-east-1.amazonaws.com./cert.pem",  # trailing dot
    "https://SNS.us-east-1.amazonaws.com/cert.pem",  # not the exact form
    "https://sns.us-east-1.amazonaws.com/cert.txt",  # not a certificate path
    "https://sns.us-east-1.amazonaws.com/cert.pem?x=1",
    "https://127.0.0.1/cert.pem",
    "file:///etc/passwd.pem",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_certificate_url_off_sns_is_refused_without_any_request(server, pki, url):
    # The getter would reach the counting server for any URL: the rule alone keeps it at zero.
    msg = message(pki, cert_url=url)
    with pytest.raises(SignatureError, match="SigningCertURL"):
        verifier(server, pki).verify(json.dumps(msg).encode())
    assert server.paths == []


@pytest.mark.parametrize("url", [u.replace("/cert.pem", "/?Action=ConfirmSubscription") for u in BAD_URLS[:12]]
                         + [f"https://{HOST}/?Action=Subscribe"])
def test_a_subscribe_url_off_sns_is_never_requested(server, pki, url):
    v = verifier(server, pki)
    got = v.verify(json.dumps(message(pki, "SubscriptionConfirmation", SubscribeURL=url)).encode())
    with pytest.raises(SignatureError, match="SubscribeURL"):
        v.confirm(got)
    assert [p for p in server.paths if not p.endswith(".pem")] == []


def test_confirm_gets_the_subscribe_url(server, pki):
    v = verifier(server, pki)
    v.confirm(v.verify(json.dumps(message(pki, "SubscriptionConfirmation")).encode()))
    assert server.paths[-1] == "/?Action=ConfirmSubscription&TopicArn=x&Token=2336412f37fb"


def test_tls_to_a_host_without_the_sns_name_is_refused(pki, server):
    # The local CA's certificate is for sns.us-east-1: asked as sns.eu-west-1 the TLS check fails.
    v = verifier(server, pki)
    msg = message(pki, cert_url="https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-x.pem")
    with pytest.raises(SignatureError, match="could not be fetched"):
        v.verify(json.dumps(msg).encode())


def test_certificates_are_cached_until_the_ttl_then_fetched_again(server, pki):
    clock = Clock(NOW.timestamp())
    v = verifier(server, pki, clock, ttl=600)
    body = json.dumps(message(pki)).encode()
    v.verify(body, tolerance_seconds=10_000)
    clock.t += 599
    v.verify(body, tolerance_seconds=10_000)
    assert len(server.paths) == 1
    clock.t += 2
    v.verify(body, tolerance_seconds=10_000)
    assert len(server.paths) == 2


def test_an_expired_certificate_is_refused(server, pki):
    body = json.dumps(message(pki)).encode()
    with pytest.raises(SignatureError, match="validity"):
        verifier(server, pki, Clock(NOW.timestamp() + 31 * 86400)).verify(body, tolerance_seconds=10 ** 8)


def test_many_threads_fetch_a_certificate_once(server, pki):
    v = verifier(server, pki)
    body = json.dumps(message(pki)).encode()
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def run():
        start.wait()
        try:
            for _ in range(5):
                v.verify(body)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and not any(t.is_alive() for t in threads)
    assert len(server.paths) == 1


def test_the_cache_is_bounded(server, pki):
    v = verifier(server, pki, max_certs=3)
    for i in range(5):
        url = f"https://{HOST}/SimpleNotificationService-{i}.pem"
        v.verify(json.dumps(message(pki, cert_url=url)).encode())
    assert len(v._certs) == 3


@pytest.mark.parametrize("body", [b"", b"[]", b"{", json.dumps({"Type": "Other"}).encode(),
                                  json.dumps({"Type": "Notification"}).encode()])
def test_not_an_sns_message(server, pki, body):
    with pytest.raises(SignatureError):
        verifier(server, pki).verify(body)
    assert server.paths == []


def test_event_body_parses_a_json_message():
    msg = sns.Message("Notification", "m", "arn:aws:sns:us-east-1:1:t",
                      {"Message": '{"AlarmName": "dlq"}', "Subject": "s"})
    assert sns.event_body(msg)["Message"] == {"AlarmName": "dlq"}
    plain = sns.Message("Notification", "m", "arn", {"Message": "hello"})
    assert sns.event_body(plain)["Message"] == "hello"


# ---------------------------------------------------------------- through Ingress (in-memory fakes)

class Hub:
    def __init__(self, server, pki) -> None:
        from hookline.ingress.ingress import Ingress, IngressDeps
        from hookline.validation import parse_config
        from tests.support.fakes import FakeEventLogEntries, FakePayloadStore, FakeQueue, FakeSecrets, MemoryTable

        clock = Clock(NOW.timestamp())
        self.records = FakeEventLogEntries(MemoryTable(), clock=clock)
        self.queue = FakeQueue()
        config = parse_config({
            "sources": {"alarms": {"provider": "sns", "topic_arns": [TOPIC]}},
            "destinations": {"chat": {"url": "http://chat.invalid/in"}},
            "routes": [{"name": "alarms-to-chat", "source": "alarms", "destination": "chat",
                        "when": "body.Message.NewStateValue == 'ALARM'"}]})
        self.ingress = Ingress(IngressDeps(
            config=config, secrets=FakeSecrets({}), publisher=self.queue, payloads=FakePayloadStore(),
            entries=self.records, clock=clock, sns=verifier(server, pki, clock)))

    def post(self, fields: dict):
        from hookline.ingress.providers import Request

        body = json.dumps(fields).encode()
        headers = {"x-amz-sns-message-type": fields["Type"], "content-type": "text/plain; charset=UTF-8"}
        return self.ingress.accept("alarms", headers, body, request=Request(headers=headers, body=body))


def test_a_subscription_is_confirmed_and_never_recorded(server, pki):
    hub = Hub(server, pki)
    got = hub.post(message(pki, "SubscriptionConfirmation", TopicArn=TOPIC))
    assert (got.status, got.body) == (200, "")
    assert server.paths[-1].startswith("/?Action=ConfirmSubscription")
    assert hub.queue.tasks == [] and hub.records.memory.items == {}


def test_a_notification_is_an_event_with_its_message_decoded(server, pki):
    hub = Hub(server, pki)
    fields = message(pki, TopicArn=TOPIC)
    got = hub.post(fields)
    assert (got.status, got.body) == (202, {"status": "accepted", "id": fields["MessageId"]})
    [task] = hub.queue.tasks
    assert (task.event_id, task.type, task.route) == (fields["MessageId"], TOPIC, "alarms-to-chat")
    assert json.loads(task.body)["Message"] == {"AlarmName": "dlq", "NewStateValue": "ALARM"}
    retry = hub.post(fields)  # SNS's retry of the same message: a copy (409 while the first may be queueing)
    assert (retry.status, retry.body["status"]) == (409, "in_progress")
    assert len(hub.queue.tasks) == 1


def test_another_accounts_topic_is_refused(server, pki):
    hub = Hub(server, pki)
    for kind in ("Notification", "SubscriptionConfirmation"):
        got = hub.post(message(pki, kind, TopicArn="arn:aws:sns:us-east-1:999999999999:alarms"))
        assert (got.status, got.body) == (401, {"error": "authentication failed"})
    assert hub.queue.tasks == [] and [p for p in server.paths if not p.endswith(".pem")] == []


def test_a_forged_notification_is_refused_without_fetching_elsewhere(server, pki):
    hub = Hub(server, pki)
    got = hub.post(message(pki, TopicArn=TOPIC, cert_url="https://sns.us-east-1.amazonaws.com.evil.com/c.pem"))
    assert (got.status, got.body) == (401, {"error": "authentication failed"})
    forged = message(pki, TopicArn=TOPIC)
    forged["Message"] = json.dumps({"AlarmName": "dlq", "NewStateValue": "OK"})
    assert hub.post(forged).status == 401
    assert hub.queue.tasks == [] and server.paths == ["/SimpleNotificationService-0000000000000000000000.pem"]
