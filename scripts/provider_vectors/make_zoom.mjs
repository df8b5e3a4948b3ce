// Zoom: x-zm-signature = "v0=" + hex HMAC-SHA256(secret token, "v0:{x-zm-request-timestamp}:{body}")
// (https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events). The request is built from those
// docs; @zoom/rivet's AwsLambdaReceiver (Zoom's own Node SDK) must answer it 200 "processed", or nothing
// is written. Rivet re-serialises the parsed body before hashing, so the body here is JSON.stringify's.
import { createHmac } from 'node:crypto';
import { sdk, write } from './_vector.mjs';

const { AwsLambdaReceiver } = sdk('@zoom/rivet/users');
const secret = 'zoom-secret-token-Abc123';
const t = Math.floor(Date.now() / 1000);
const body = JSON.stringify({
  event: 'meeting.started', event_ts: t * 1000,
  payload: { account_id: 'AAAAAABBBB', object: { id: '1234567890', uuid: '4444AAAiAAAAAiAiAiiAii==', topic: 'Café standup' } },
});
const sig = createHmac('sha256', secret).update(`v0:${t}:${body}`).digest('hex');
const headers = { 'content-type': 'application/json', 'x-zm-signature': `v0=${sig}`, 'x-zm-request-timestamp': String(t) };
console.debug = () => {};  // the receiver logs every event it is given
const answer = await new AwsLambdaReceiver({ webhooksSecretToken: secret }).start()({ body, headers, isBase64Encoded: false }, {});
if (answer.statusCode !== 200) throw new Error(`@zoom/rivet refused the request: ${answer.body}`);
write('zoom', '@zoom/rivet', 'AwsLambdaReceiver answered it 200', {
  secret, method: 'POST', headers, body, now: t,
  signature: sig, signature_in: 'x-zm-signature',
  timestamp: String(t), timestamp_in: 'x-zm-request-timestamp', timestamp_format: 'unix', tolerance_seconds: 300,
  event_id: null, event_type: 'meeting.started',
});
