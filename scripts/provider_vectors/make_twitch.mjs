// Twitch EventSub: Twitch-Eventsub-Message-Signature = "sha256=" + hex HMAC-SHA256 of message id + timestamp +
// raw body, keyed with the subscription's secret
// (https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message). Twitch prints no
// test vector, but publishes a receiver, twitchdev/eventsub-webhooks-node-sample index.js (Express), whose
// verifySignature uses the secret it hard-codes ("keepItSecretKeepItSafe"). That file, read from the repository
// at the given commit, is run by node with two fill-ins only: a free port instead of its 3000, bound to loopback.
// It must answer our notification 200 and the same request with one changed body byte 403, or nothing is
// written. The request is built as Twitch's docs say; the published receiver is the judge of it.
//
//   cd /tmp/pv-twitch && npm install express@4 dotenv@8 &&
//   node /path/to/scripts/provider_vectors/make_twitch.mjs <checkout or bare git dir> <commit>
import { execFileSync, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [repo, commit] = process.argv.slice(2);
const published = execFileSync('git', ['--git-dir', repo, 'show', `${commit}:index.js`], { encoding: 'utf8' });
const port = await new Promise((ok) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => ok(p)); }); });
const fills = [['const port = 3000', `const port = ${port}`], ['app.listen(port, ', "app.listen(port, '127.0.0.1', "]];
let source = published;
for (const [from, to] of fills) {
  if (source.split(from).length !== 2) throw new Error(`index.js changed: no single '${from}'`);
  source = source.replace(from, to);
}
const dir = process.cwd(); // node_modules with express and dotenv
writeFileSync(`${dir}/twitch-sample.js`, source);
const server = spawn(process.execPath, [`${dir}/twitch-sample.js`], { cwd: dir, env: { PATH: process.env.PATH } });
await new Promise((ok, fail) => { server.stdout.once('data', ok); server.once('exit', fail); });

const secret = 'keepItSecretKeepItSafe'; // the sample's own secret
const id = 'e76c6bd4-55c9-4987-8304-da1588d8988b';
const timestamp = '2026-11-30T00:53:20.123456789Z'; // RFC 3339 with nanoseconds, as Twitch sends it
const body = JSON.stringify({
  subscription: { id: 'f1c2a387-161a-49f9-a165-0f21d7a4e1c4', type: 'channel.follow', version: '2', status: 'enabled',
    cost: 0, condition: { broadcaster_user_id: '1337', moderator_user_id: '1337' },
    transport: { method: 'webhook', callback: 'https://example.com/webhooks/twitch' },
    created_at: '2026-11-30T00:50:00.000000000Z' },
  event: { user_id: '1234', user_login: 'cool_user', user_name: 'Cool_User', broadcaster_user_id: '1337',
    broadcaster_user_login: 'cooler_user', broadcaster_user_name: 'Cooler_User', followed_at: '2026-11-30T00:53:19.5Z' },
});
const signature = createHmac('sha256', secret).update(id + timestamp + body).digest('hex');
const headers = {
  'content-type': 'application/json', 'twitch-eventsub-message-id': id, 'twitch-eventsub-message-retry': '0',
  'twitch-eventsub-message-type': 'notification', 'twitch-eventsub-subscription-type': 'channel.follow',
  'twitch-eventsub-subscription-version': '2', 'twitch-eventsub-message-timestamp': timestamp,
  'twitch-eventsub-message-signature': `sha256=${signature}`,
};
const post = async (payload) => (await fetch(`http://127.0.0.1:${port}/notification`, { method: 'POST', headers, body: payload })).status;
let statuses;
try {
  statuses = [await post(body), await post(body.replace('cool_user', 'cool_usEr'))];
} finally {
  server.kill();
}
if (statuses.join() !== '200,403') throw new Error(`Twitch's published receiver disagrees: ${statuses}`);
const express = JSON.parse(execFileSync(process.execPath, ['-p', "JSON.stringify(require('express/package.json').version)"], { cwd: dir, encoding: 'utf8' }));
const url = `https://github.com/twitchdev/eventsub-webhooks-node-sample/blob/${commit}/index.js`;
const out = fileURLToPath(new URL('../../tests/unit/ingress/providers/vectors/twitch.json', import.meta.url));
writeFileSync(out, JSON.stringify({
  provider: 'twitch',
  signer: `published example: ${url}, Twitch's EventSub sample receiver (express ${express}), answered it 200 and a changed body 403`,
  made_by: `cd /tmp/pv-twitch && npm install express@4 dotenv@8 && node scripts/provider_vectors/make_twitch.mjs <twitchdev/eventsub-webhooks-node-sample> ${commit}`,
  node: process.version,
  secret, method: 'POST', headers, body, now: 1796000000, signature,
  signature_in: 'twitch-eventsub-message-signature', timestamp, timestamp_in: 'twitch-eventsub-message-timestamp',
  timestamp_format: 'iso8601', signed_at: 1796000000.123457, tolerance_seconds: 600,
  event_id: id, event_type: 'channel.follow',
}, null, 2) + '\n');
console.log(`wrote ${out}`);
