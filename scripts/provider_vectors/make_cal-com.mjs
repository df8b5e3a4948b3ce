// Cal.com: X-Cal-Signature-256 = hex HMAC-SHA256 of the raw body keyed with the webhook's secret
// (https://cal.com/docs/developing/guides/automation/webhooks). Cal.com prints no test vector, but ships its
// sender on npm: @calcom/platform-libraries dist/index.cjs carries sendGenericWebhookPayload, _sendPayload and
// createWebhookSignature, the code Cal.com's webhooks go out through. Those three definitions are taken from
// the unpacked package as they are (the module as a whole needs Cal.com's database and app store to load) and
// run by node: they compose the body, sign it and POST it to a local server here, whose received request is
// the vector. Nothing here computes the signature.
//
//   mkdir -p /tmp/pv-cal && cd /tmp/pv-cal && npm pack @calcom/platform-libraries@0.0.360 &&
//   tar xzf calcom-platform-libraries-0.0.360.tgz && node /path/to/scripts/provider_vectors/make_cal-com.mjs /tmp/pv-cal/package
import { createServer } from 'node:http';
import crypto from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const pkgDir = process.argv[2];
const { name, version } = JSON.parse(readFileSync(`${pkgDir}/package.json`, 'utf8'));
const dist = readFileSync(`${pkgDir}/dist/index.cjs`, 'utf8');
function definition(start, end) {
  const at = dist.indexOf(start);
  if (at < 0 || dist.indexOf(start, at + 1) >= 0) throw new Error(`${name} ${version}: no single '${start}'`);
  return dist.slice(at, dist.indexOf(end, at) + end.length);
}
const code = [
  definition('const sendGenericWebhookPayload = async (', '\n};\n'),
  definition('const createWebhookSignature = (', ';\n'),
  definition('const _sendPayload = async (', '\n};\n'),
].join('');
const { sendGenericWebhookPayload } = new Function('crypto', 'fetch', `${code}return { sendGenericWebhookPayload };`)(crypto, fetch);

let received;
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => { received = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }; res.end('ok'); });
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const secret = 'cal-com-hookline-test-secret';
const createdAt = '2026-11-30T00:53:19.000Z';
const result = await sendGenericWebhookPayload({
  secretKey: secret, triggerEvent: 'BOOKING_CREATED', createdAt,
  webhook: { subscriberUrl: `http://127.0.0.1:${server.address().port}/` },
  data: { uid: 'bFJeNb2uX8ANpT3JL5EfXw', title: 'Café chat', startTime: '2026-12-01T10:00:00Z',
    attendees: [{ name: 'Jo', email: 'jo@example.com', timeZone: 'Europe/Paris' }] },
});
server.close();
if (!result.ok || !received) throw new Error(`Cal.com's sender did not deliver: ${JSON.stringify(result)}`);
const signature = received.headers['x-cal-signature-256'];
const out = fileURLToPath(new URL('../../tests/unit/ingress/providers/vectors/cal-com.json', import.meta.url));
writeFileSync(out, JSON.stringify({
  provider: 'cal-com',
  signer: `${name} ${version} (npm): Cal.com's webhook sender (sendGenericWebhookPayload, createWebhookSignature) signed and sent it`,
  made_by: `cd /tmp/pv-cal && npm pack ${name}@${version} && tar xzf calcom-platform-libraries-${version}.tgz && `
    + 'node scripts/provider_vectors/make_cal-com.mjs /tmp/pv-cal/package',
  node: process.version,
  secret, method: 'POST',
  headers: { 'content-type': received.headers['content-type'], 'x-cal-signature-256': signature },
  body: received.body, now: 1796000000, signature, signature_in: 'x-cal-signature-256',
  event_id: null, event_type: 'BOOKING_CREATED',
}, null, 2) + '\n');
console.log(`wrote ${out}`);
