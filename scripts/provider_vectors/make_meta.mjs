// Meta Graph API webhooks (WhatsApp, Instagram, Messenger, Pages): X-Hub-Signature-256 = "sha256=" + hex
// HMAC-SHA256 of the raw body keyed with the app secret, one scheme for every product
// (https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads). Meta prints no
// test vector; its official WhatsApp Business Platform SDK (npm `whatsapp`, github.com/WhatsApp/WhatsApp-Nodejs-SDK)
// signs with generateXHub256Sig in build/utils.js, the function its webhook server compares the header with.
// That function signs each body here (the package's "exports" hide build/, so it is loaded by its path); the
// vectors for meta, instagram and messenger come from the same signer, Meta's docs naming one scheme for all.
//
//   cd /tmp/pv-node && npm install whatsapp@0.0.5-Alpha && node /path/to/scripts/provider_vectors/make_meta.mjs
import { readFileSync } from 'node:fs';
import { write } from './_vector.mjs';

const pkg = 'whatsapp';
const { version } = JSON.parse(readFileSync(`${process.cwd()}/node_modules/${pkg}/package.json`, 'utf8'));
const { generateXHub256Sig } = await import(`${process.cwd()}/node_modules/${pkg}/build/utils.js`).then((m) => m.default);
const secret = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'; // an app secret's shape: 32 hex characters
const now = 1796000000;

const bodies = {
  whatsapp: { object: 'whatsapp_business_account', entry: [{ id: '106540352242922', changes: [{ field: 'messages', value: {
    messaging_product: 'whatsapp', metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
    messages: [{ from: '16505551234', id: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=',
      timestamp: String(now - 1), type: 'text', text: { body: 'café?' } }] } }] }] },
  meta: { object: 'page', entry: [{ id: '102938475610293', time: now,
    changes: [{ field: 'feed', value: { item: 'status', post_id: '102938475610293_444444444', verb: 'add' } }] }] },
  instagram: { object: 'instagram', entry: [{ id: '17841405309211844', time: now, changes: [{ field: 'comments',
    value: { id: '17865799348089039', text: 'This is an example.' } }] }] },
  messenger: { object: 'page', entry: [{ id: '102938475610293', time: now, messaging: [{ sender: { id: '6789' },
    recipient: { id: '102938475610293' }, timestamp: now * 1000, message: { mid: 'm_1', text: 'hi' } }] }] },
};

for (const [name, event] of Object.entries(bodies)) {
  const body = JSON.stringify(event);
  const signature = generateXHub256Sig(body, secret);
  if (!/^[0-9a-f]{64}$/.test(signature)) throw new Error(`the SDK gave ${signature}`);
  const product = name === 'whatsapp' ? 'WhatsApp' : `Meta's one Graph API webhook scheme (${name})`;
  write(name, pkg, `generateXHub256Sig signed it (${product})`, {
    made_by: `cd /tmp/pv-node && npm install ${pkg}@${version} && node scripts/provider_vectors/make_meta.mjs`,
    secret, method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${signature}` },
    body, now, signature, signature_in: 'x-hub-signature-256', event_id: null, event_type: event.object,
  });
}
