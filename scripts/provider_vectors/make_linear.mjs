// Linear: Linear-Signature = hex HMAC-SHA256(signing secret, raw body); the body's webhookTimestamp (ms)
// must be within a minute (https://linear.app/developers/webhooks#securing-webhooks). The request is built
// from those docs; @linear/sdk's LinearWebhookClient.verify must accept it, or nothing is written.
import { createHmac } from 'node:crypto';
import { sdk, write } from './_vector.mjs';

const { LinearWebhookClient } = sdk('@linear/sdk/webhooks');
const secret = 'lin_wh_hookline_test_signing_secret_5d1f';
const nowMs = Date.now();
const body = JSON.stringify({
  action: 'create', type: 'Issue', createdAt: new Date(nowMs).toISOString(),
  data: { id: '2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9', title: 'Café menu is wrong', priority: 2 },
  url: 'https://linear.app/acme/issue/ENG-42', organizationId: 'c6c3a9b4-3f0e-4f5a-9a36-3c3a1f0e0d11',
  webhookTimestamp: nowMs, webhookId: '000042e3-d123-4980-b49f-8e140eef9329',
});
const signature = createHmac('sha256', secret).update(body).digest('hex');
if (!new LinearWebhookClient(secret).verify(Buffer.from(body), signature)) throw new Error('the SDK refused it');
write('linear', '@linear/sdk', 'LinearWebhookClient.verify accepted it', {
  secret, method: 'POST',
  headers: { 'content-type': 'application/json; charset=utf-8', 'linear-signature': signature,
    'linear-delivery': '234d1a4e-b617-4388-90fe-adc3633d6b72', 'linear-event': 'Issue' },
  body, now: nowMs / 1000, signature, signature_in: 'linear-signature',
  timestamp: String(nowMs), timestamp_in: 'body', timestamp_format: 'unix-ms', tolerance_seconds: 60,
  event_id: '234d1a4e-b617-4388-90fe-adc3633d6b72', event_type: 'Issue',
});
