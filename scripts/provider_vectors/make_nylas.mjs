// Nylas: X-Nylas-Signature = hex HMAC-SHA256 of the raw body (https://developer.nylas.com/docs/v3/notifications/webhooks/;
// in API v3 the key is the webhook's webhook_secret, in v2 it was the client secret: same computation).
// Nylas prints no test vector but publishes a receiver, nylas/webhooks-server, whose
// WebhookLogs/verifyNylasRequest.js is loaded unmodified here (its key comes from NYLAS_CLIENT_SECRET, read at
// load); it must accept our request and refuse a changed body, or nothing is written.
//
//   node scripts/provider_vectors/make_nylas.mjs <checkout or bare git dir> <commit>
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const [repo, commit] = process.argv.slice(2);
const path = 'WebhookLogs/verifyNylasRequest.js';
const dir = mkdtempSync(`${tmpdir()}/pv-nylas-`);
writeFileSync(`${dir}/verify.js`, execFileSync('git', ['--git-dir', repo, 'show', `${commit}:${path}`]));
const secret = 'nylas-hookline-test-webhook-secret';
process.env.NYLAS_CLIENT_SECRET = secret;
const verifyNylasRequest = createRequire(`${dir}/`)('./verify.js');

const body = JSON.stringify({ specversion: '1.0', type: 'message.created', source: '/google/emails/realtime',
  id: '5ac0a1fa-8d7f-4a4e-bd2a-1a9e0c0d2f33', time: 1796000000,
  data: { application_id: 'NTA2ZDQ5Y2M', object: { id: '18d5c8a2b1e0f6a7', grant_id: 'e6c2b1a0' } } });
const sig = createHmac('sha256', secret).update(body).digest('hex');
const req = (raw) => ({ rawBody: raw, get: (name) => (name.toLowerCase() === 'x-nylas-signature' ? sig : undefined) });
const fail = (e) => { throw e; };
if (!(await verifyNylasRequest(req(body), fail)) || (await verifyNylasRequest(req(body + ' '), fail))) {
  throw new Error("Nylas's published verifier disagrees");
}
const url = `https://github.com/nylas/webhooks-server/blob/${commit}/${path}`;
const out = fileURLToPath(new URL('../../tests/unit/ingress/providers/vectors/nylas.json', import.meta.url));
writeFileSync(out, JSON.stringify({
  provider: 'nylas',
  signer: `${url}: verifyNylasRequest accepted it (and refused a changed body)`,
  made_by: `node scripts/provider_vectors/make_nylas.mjs <nylas/webhooks-server> ${commit}`,
  node: process.version,
  secret, method: 'POST', headers: { 'content-type': 'application/json', 'x-nylas-signature': sig },
  body, now: Math.floor(Date.now() / 1000), signature: sig, signature_in: 'x-nylas-signature',
  event_id: '5ac0a1fa-8d7f-4a4e-bd2a-1a9e0c0d2f33', event_type: 'message.created',
}, null, 2) + '\n');
console.log(`wrote ${out}`);
