// Webflow: x-webflow-signature = hex HMAC-SHA256 of "<x-webflow-timestamp>:<body>", the timestamp in
// milliseconds (https://developers.webflow.com/data/docs/working-with-webhooks). webflow-api's
// webhooks.verifySignature must accept it, or nothing is written.
import { createHmac } from 'node:crypto';
import { sdk, write } from './_vector.mjs';

const { WebflowClient } = sdk('webflow-api');
const secret = 'webflow-hookline-test-secret';
const body = JSON.stringify({
  triggerType: 'form_submission',
  payload: { name: 'Contact', siteId: '65427cf400e02b306eaa049c', data: { email: 'ada@example.com' },
    id: '6321a7e5e8e3d9e43a2ee7e1', submittedAt: '2026-12-06T06:00:00.000Z' },
});
const t = String(Date.now());
const sig = createHmac('sha256', secret).update(`${t}:${body}`).digest('hex');
const headers = { 'content-type': 'application/json', 'x-webflow-timestamp': t, 'x-webflow-signature': sig };
const client = new WebflowClient({ accessToken: 'x' });
if (!(await client.webhooks.verifySignature({ headers, body, secret }))) throw new Error('webflow-api rejected it');
write('webflow', 'webflow-api', 'webhooks.verifySignature accepted it', {
  secret, method: 'POST', headers, body, now: Math.floor(Number(t) / 1000),
  signature: sig, signature_in: 'x-webflow-signature',
  timestamp: t, timestamp_in: 'x-webflow-timestamp', timestamp_format: 'unix-ms', tolerance_seconds: 300,
  event_id: null, event_type: 'form_submission',
});
