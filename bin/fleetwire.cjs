#!/usr/bin/env node
// The `fleetwire` command. Runs the esbuild bundle in dist/; builds it first when it is missing (a fresh
// clone where `prepare` did not run), older than a source file under lambdas/ (a `git pull` since the last
// install), or when FLEETWIRE_REBUILD=1.
'use strict';
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');
const { execFileSync } = require('node:child_process');

const root = join(__dirname, '..');
const bundle = join(root, 'dist', 'fleetwire.cjs');

function stale() {
  if (!existsSync(bundle)) return true;
  const src = join(root, 'lambdas');
  // A published package ships dist/ without sources: nothing to compare against.
  if (!existsSync(src)) return false;
  const built = statSync(bundle).mtimeMs;
  for (const f of readdirSync(src, { recursive: true })) {
    if (String(f).endsWith('.ts') && statSync(join(src, String(f))).mtimeMs > built) return true;
  }
  return false;
}

if (process.env.FLEETWIRE_REBUILD === '1' || stale()) {
  execFileSync(process.execPath, [join(root, 'scripts', 'build-cli.mjs')], { stdio: 'inherit' });
}
require(bundle);
