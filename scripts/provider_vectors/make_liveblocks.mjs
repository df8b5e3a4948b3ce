// Liveblocks: Standard Webhooks headers webhook-id / webhook-timestamp / webhook-signature "v1,<base64 HMAC-SHA256
// of '<id>.<timestamp>.<body>'>", keyed by the base64 after "whsec_"
// (https://liveblocks.io/docs/platform/webhooks). Built from those docs; @liveblocks/node's
// WebhookHandler.verifyRequest must accept it, or nothing is written.
import { createHmac } from 'node:crypto';
import { sdk, write } from './_vector.mjs';

const { WebhookHandler } = sdk('@liveblocks/node');
const secret = 'whsec_' + Buffer.from('liveblocks-hookline-test-key-012').toString('base64');
const body = JSON.stringify({ type: 'userEntered', data: { projectId: '605a50b01a36d5ea7a2e9104',
  roomId: 'examples-hello-world', connectionId: 14, userId: 'user-1', userInfo: null,
  enteredAt: '2026-12-06T06:00:00.000Z', numActiveUsers: 1 } });
const id = 'msg_2Ke4o2s1ZqvnhVbfVDqRZaXsMPq';
const t = String(Math.floor(Date.now() / 1000));
const sig = createHmac('sha256', Buffer.from(secret.slice(6), 'base64')).update(`${id}.${t}.${body}`).digest('base64');
const headers = { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': t,
  'webhook-signature': `v1,${sig}` };
const event = new WebhookHandler(secret).verifyRequest({ headers, rawBody: body });  // throws when refused
if (event.type !== 'userEntered') throw new Error('unexpected event');
write('liveblocks', '@liveblocks/node', 'WebhookHandler.verifyRequest accepted it', {
  secret, method: 'POST', headers, body, now: Number(t), signature: sig, signature_in: 'webhook-signature',
  timestamp: t, timestamp_in: 'webhook-timestamp', timestamp_format: 'unix', tolerance_seconds: 300,
  event_id: id, event_type: 'userEntered',
});
