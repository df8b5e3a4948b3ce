// Webex: X-Spark-Signature = hex HMAC-SHA1 of the body keyed with the webhook's secret
// (https://developer.webex.com/docs/webhooks). Webex prints no test vector, but publishes a bot framework on npm,
// webex-node-bot-framework (repository github.com/webex/webex-node-bot-framework), whose lib/webhook.js checks
// that header on every webhook before the event is processed. That module is loaded unmodified by node; only the
// two modules it requires for what follows the check are stood in (`when`, which ends an ignored webhook, and
// ./process-event, which would handle an accepted one). It must process our request and ignore the same request
// with one changed body value, or nothing is written. The framework re-serializes the parsed body
// (JSON.stringify) before it checks, so the body here is in that form, as Webex sends it.
//
//   mkdir -p /tmp/pv-webex && cd /tmp/pv-webex && npm pack webex-node-bot-framework@2.3.14 &&
//   tar xzf webex-node-bot-framework-2.3.14.tgz && node /path/to/scripts/provider_vectors/make_webex.mjs /tmp/pv-webex/package
import Module, { createRequire } from 'node:module';
import { createHmac } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const pkgDir = process.argv[2];
const { name, version } = JSON.parse(readFileSync(`${pkgDir}/package.json`, 'utf8'));
const require = createRequire(`${pkgDir}/lib/`);
function standIn(path, exports) {
  const m = new Module(path);
  Object.assign(m, { filename: path, loaded: true, exports });
  require.cache[path] = m;
}
standIn(require.resolve(`${pkgDir}/lib/process-event.js`), () => 'processed');
const whenPath = `${pkgDir}/node_modules/when/when.js`; // not installed: resolved to this path by the hook below
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) { return request === 'when' ? whenPath : resolve.call(this, request, ...rest); };
standIn(whenPath, () => 'ignored');
const Webhook = require(`${pkgDir}/lib/webhook.js`);

const secret = 'webex-hookline-test-secret';
const event = { id: 'Y2lzY29zcGFyazovL3VzL1dFQkhPT0svOTZhYmM', name: 'hookline', targetUrl: 'https://hooks.example.com/webhooks/webex',
  resource: 'messages', event: 'created', orgId: 'OTZhYmMyYWEtM2RjYy0xMWU1LWExNTItZmUzNDgxOWNkYzlh',
  createdBy: 'fd5ce9fe-9b7a-4fe7-8d35-1a1f2ce5ebd6', appId: 'Y2lzY29zcGFyazovL3VzL0FQUExJQ0FUSU9OL0MyNzljYjMw',
  ownedBy: 'creator', status: 'active', created: '2026-11-30T00:53:19.000Z', actorId: 'Y2lzY29zcGFyazovL3VzL1BFT1BMRS9mNWIz',
  data: { id: 'Y2lzY29zcGFyazovL3VzL01FU1NBR0UvOTJkYjNiZTAtNDNiZC0xMWU2LThhZTktZGQ1YjNkZmM1NjVk',
    roomId: 'Y2lzY29zcGFyazovL3VzL1JPT00vYmJjZWIxYWQtNDNmMS0zYjU4LTkxNDctZjE0YmIwYzRkMTU0', personEmail: 'ada@example.com',
    created: '2026-11-30T00:53:19.000Z' } };
const body = JSON.stringify(event);
const signature = createHmac('sha1', secret).update(body).digest('hex'); // as Webex's docs say; the framework judges it
const framework = { options: { webhookSecret: secret, webhookRequestJSONLocation: 'body' }, emit() {}, debug() {} };
const check = (raw) => Webhook(framework)({ body: JSON.parse(raw), headers: { 'x-spark-signature': signature } });
const verdicts = [check(body), check(body.replace('ada@', 'adA@'))];
if (verdicts.join() !== 'processed,ignored') throw new Error(`Webex's framework disagrees: ${verdicts}`);
const out = fileURLToPath(new URL('../../tests/unit/ingress/providers/vectors/webex.json', import.meta.url));
writeFileSync(out, JSON.stringify({
  provider: 'webex',
  signer: `${name} ${version} (npm): lib/webhook.js, Webex's bot framework, processed it and ignored a changed body`,
  made_by: `cd /tmp/pv-webex && npm pack ${name}@${version} && tar xzf ${name}-${version}.tgz && `
    + 'node scripts/provider_vectors/make_webex.mjs /tmp/pv-webex/package',
  node: process.version,
  secret, method: 'POST',
  headers: { 'content-type': 'application/json', 'x-spark-signature': signature },
  body, now: 1796000000, signature, signature_in: 'x-spark-signature',
  event_id: null, event_type: 'messages.created',
}, null, 2) + '\n');
console.log(`wrote ${out}`);
