// Write one provider's test vector made with the provider's npm SDK (see _vector.py for the Python side).
// Run from a scratch folder where the SDK is installed: `cd /tmp/pv-node && npm install PKG@VERSION &&
// node /path/to/scripts/provider_vectors/make_<name>.mjs`; the SDK is resolved from the current folder.
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const sdk = createRequire(process.cwd() + '/');

export function write(name, pkg, acceptedBy, vector) {
  // Read package.json from disk: some SDKs' "exports" hide it from require.
  const version = JSON.parse(readFileSync(`${process.cwd()}/node_modules/${pkg}/package.json`, 'utf8')).version;
  const out = {
    provider: name,
    signer: `${pkg} ${version} (npm): ${acceptedBy}`,
    made_by: `cd /tmp/pv-node && npm install ${pkg}@${version} && node scripts/provider_vectors/make_${name}.mjs`,
    node: process.version,
    ...vector,
  };
  const dir = fileURLToPath(new URL('../../tests/unit/ingress/providers/vectors/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}${name}.json`, JSON.stringify(out, null, 2) + '\n');
  console.log(`wrote ${dir}${name}.json`);
}
