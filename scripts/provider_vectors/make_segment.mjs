// Segment (Webhooks destination): X-Signature = hex HMAC-SHA1 of the request body keyed with the
// destination's Shared Secret (https://segment.com/docs/connections/destinations/catalog/webhooks/). Segment
// prints no test vector, but ships the destination's code on npm: @segment/action-destinations
// dist/destinations/webhook/index.js, whose extendRequest adds that header to every request the destination
// sends (its body being JSON.stringify of the mapped data). That module is loaded unmodified by node; its
// `send` action (which needs Segment's action runtime) is the only stand-in. It signs the body here.
//
//   mkdir -p /tmp/pv-segment && cd /tmp/pv-segment && npm pack @segment/action-destinations@3.497.0 &&
//   tar xzf segment-action-destinations-3.497.0.tgz && node /path/to/scripts/provider_vectors/make_segment.mjs /tmp/pv-segment/package
import Module, { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const pkgDir = process.argv[2];
const { name, version } = JSON.parse(readFileSync(`${pkgDir}/package.json`, 'utf8'));
const require = createRequire(`${pkgDir}/`);
const dir = `${pkgDir}/dist/destinations/webhook`;
const sendPath = require.resolve(`${dir}/send`);
const stand_in = new Module(sendPath);
Object.assign(stand_in, { filename: sendPath, loaded: true, exports: { default: {} } });
require.cache[sendPath] = stand_in;
const destination = require(`${dir}/index.js`).default;
if (destination.slug !== 'actions-webhook') throw new Error(`not the webhook destination: ${destination.slug}`);

const secret = 'segment-hookline-test-secret';
const data = { messageId: 'ajs-next-1796000000000-3f2a', type: 'track', event: 'Order Completed', userId: 'u_123',
  timestamp: '2026-11-30T00:53:19.000Z', properties: { total: 27.5, currency: 'EUR', coupon: 'café' } };
const body = JSON.stringify(data); // what the destination's send action posts (json: data)
const { headers } = destination.extendRequest({ settings: { sharedSecret: secret }, payload: { data } });
const signature = headers['X-Signature'];
if (!/^[0-9a-f]{40}$/.test(signature)) throw new Error(`the destination gave ${JSON.stringify(headers)}`);
const out = fileURLToPath(new URL('../../tests/unit/ingress/providers/vectors/segment.json', import.meta.url));
writeFileSync(out, JSON.stringify({
  provider: 'segment',
  signer: `${name} ${version} (npm): the Webhooks (Actions) destination's extendRequest (dist/destinations/webhook/index.js) signed it`,
  made_by: `cd /tmp/pv-segment && npm pack ${name}@${version} && tar xzf segment-action-destinations-${version}.tgz && `
    + 'node scripts/provider_vectors/make_segment.mjs /tmp/pv-segment/package',
  node: process.version,
  secret, method: 'POST',
  headers: { 'content-type': 'application/json', 'x-signature': signature },
  body, now: 1796000000, signature, signature_in: 'x-signature',
  event_id: data.messageId, event_type: data.type,
}, null, 2) + '\n');
console.log(`wrote ${out}`);
