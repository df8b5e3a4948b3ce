// Docusign Connect: X-DocuSign-Signature-1 = base64 HMAC-SHA256 of the body with a Connect HMAC key
// (https://developers.docusign.com/platform/webhooks/connect/hmac/). Docusign prints no test vector but
// publishes its validator in docusign/code-examples-node, lib/connect/examples/validateWebhookMessage.js
// (the code its docs' "Validate webhook message using HMAC" example shows). That module is loaded unmodified
// from a checkout; its isHashValid must accept our request and refuse a changed body, or nothing is written.
//
//   node scripts/provider_vectors/make_docusign.mjs <checkout or bare git dir> <commit>
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const [repo, commit] = process.argv.slice(2);
const path = 'lib/connect/examples/validateWebhookMessage.js';
const dir = mkdtempSync(`${tmpdir()}/pv-docusign-`);
writeFileSync(`${dir}/validate.js`, execFileSync('git', ['--git-dir', repo, 'show', `${commit}:${path}`]));
const { isHashValid } = createRequire(`${dir}/`)('./validate.js');

const secret = '7XOYz5nFMOfXQ9PbP3bDZlZbSrQJjhWCQYxW2DykT7A=';
const body = JSON.stringify({ event: 'envelope-completed', apiVersion: 'v2.1',
  uri: '/restapi/v2.1/accounts/8ab2c9e4/envelopes/93b4b1a7-cc56-4b63-b4a4-a0bb2a5b1b4f', retryCount: 0,
  configurationId: 10418256, generatedDateTime: '2026-12-06T06:00:00.0000000Z',
  data: { accountId: '8ab2c9e4', envelopeId: '93b4b1a7-cc56-4b63-b4a4-a0bb2a5b1b4f' } });
const sig = createHmac('sha256', secret).update(body).digest('base64');
if (!isHashValid({ verify: sig, secret, payload: body }) || isHashValid({ verify: sig, secret, payload: `${body} ` })) {
  throw new Error("Docusign's published validator disagrees");
}
const url = `https://github.com/docusign/code-examples-node/blob/${commit}/${path}`;
const out = fileURLToPath(new URL('../../tests/unit/ingress/providers/vectors/docusign.json', import.meta.url));
writeFileSync(out, JSON.stringify({
  provider: 'docusign',
  signer: `${url}: isHashValid accepted it (and refused a changed body)`,
  made_by: `node scripts/provider_vectors/make_docusign.mjs <docusign/code-examples-node> ${commit}`,
  node: process.version,
  secret, method: 'POST', headers: { 'content-type': 'application/json', 'x-docusign-signature-1': sig },
  body, now: Math.floor(Date.now() / 1000), signature: sig, signature_in: 'x-docusign-signature-1',
  event_id: null, event_type: 'envelope-completed',
}, null, 2) + '\n');
console.log(`wrote ${out}`);
