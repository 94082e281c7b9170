#!/usr/bin/env node
// Installs what `npm test` and `npm run demo` need on a fresh clone: npm packages (when
// node_modules is missing or older than package-lock.json, package.json or patches/). Kafka's
// jars are fetched, once, by the managed broker itself. Plain Node, no dependencies: it runs
// before anything is installed.
import { execSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`Keytrail needs Node.js 20.19 or newer; this is ${process.versions.node}.`);
  process.exit(1);
}

const lock = join(root, 'package-lock.json');
const stamp = join(root, 'node_modules', '.keytrail-install-stamp');
// patches/ holds fixes to dependencies that `npm install` applies (patch-package, postinstall).
const patches = join(root, 'patches');
const hash = createHash('sha256')
  .update(readFileSync(lock))
  .update(readFileSync(join(root, 'package.json')));
for (const name of existsSync(patches) ? readdirSync(patches).sort() : [])
  hash.update(name).update(readFileSync(join(patches, name)));
const want = hash.digest('hex');
const have = existsSync(stamp) ? readFileSync(stamp, 'utf8').trim() : '';
if (want !== have) {
  // `npm install` (with the lock file) rather than `npm ci`: npm 11.19 writes lock files that its
  // own `npm ci` then rejects for missing optional platform packages (biome's other-OS binaries).
  console.log('Installing npm packages…');
  execSync('npm install --no-audit --no-fund', { cwd: root, stdio: 'inherit' });
  writeFileSync(stamp, `${want}\n`);
}
