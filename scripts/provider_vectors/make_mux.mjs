// Mux: Mux-Signature "t=<unix>,v1=<hex HMAC-SHA256 of '<t>.<body>'>"
// (https://www.mux.com/docs/core/verify-webhook-signatures). The request is built from those docs;
// @mux/mux-node's webhooks.verifySignature must accept it, or nothing is written.
import { createHmac } from 'node:crypto';
import { sdk, write } from './_vector.mjs';

const { Mux } = sdk('@mux/mux-node');
const secret = 'mux-hookline-test-signing-secret';
const body = JSON.stringify({
  type: 'video.asset.ready', id: '3a56ac3d-33da-4366-855b-f592d898409d',
  object: { type: 'asset', id: 'fzvt4YCYA00Vt2I5BD95zlVVVh3e8MbSf' },
  data: { status: 'ready', id: 'fzvt4YCYA00Vt2I5BD95zlVVVh3e8MbSf' },
});
const t = Math.floor(Date.now() / 1000);
const sig = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
const headers = { 'content-type': 'application/json', 'mux-signature': `t=${t},v1=${sig}` };
const mux = new Mux({ tokenId: 'x', tokenSecret: 'x' });
await mux.webhooks.verifySignature(body, headers, secret); // throws if Mux's SDK disagrees
write('mux', '@mux/mux-node', 'webhooks.verifySignature accepted it', {
  secret, method: 'POST', headers, body, now: t,
  signature: sig, signature_in: 'mux-signature',
  timestamp: String(t), timestamp_in: 'mux-signature', timestamp_format: 'unix', tolerance_seconds: 300,
  event_id: '3a56ac3d-33da-4366-855b-f592d898409d', event_type: 'video.asset.ready',
});
