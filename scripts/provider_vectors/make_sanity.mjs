// Sanity: sanity-webhook-signature = "t=<unix ms>,v1=<base64url HMAC-SHA256 of '<t>.<body>'>"
// (https://www.sanity.io/docs/webhooks). Signed by @sanity/webhook's own encodeSignatureHeader, and
// isValidSignature must accept it, or nothing is written.
import { sdk, write } from './_vector.mjs';

const { encodeSignatureHeader, isValidSignature } = sdk('@sanity/webhook');
const secret = 'sanity-hookline-test-webhook-secret';
const body = JSON.stringify({ _id: 'drafts.movie_10681', _type: 'movie', title: 'Alien', _rev: 'j4Mqk3bS1u2gUKl8zC6cZf' });
const t = Date.now();
const header = await encodeSignatureHeader(body, t, secret);
if (!(await isValidSignature(body, header, secret))) throw new Error('@sanity/webhook rejected it');
const sig = header.split(',v1=')[1];
write('sanity', '@sanity/webhook', 'encodeSignatureHeader signed it, isValidSignature accepted it', {
  secret, method: 'POST',
  headers: { 'content-type': 'application/json', 'sanity-webhook-signature': header,
    'idempotency-key': 'msg-01JEHR8R7B9F2N3Y4XWV5TQZ6K', 'sanity-operation': 'update' },
  body, now: Math.floor(t / 1000), signature: sig, signature_in: 'sanity-webhook-signature',
  timestamp: String(t), timestamp_in: 'sanity-webhook-signature', timestamp_format: 'unix-ms', tolerance_seconds: 300,
  event_id: 'msg-01JEHR8R7B9F2N3Y4XWV5TQZ6K', event_type: 'update',
});
