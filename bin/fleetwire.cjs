#!/usr/bin/env node
// The `fleetwire` command. Runs the esbuild bundle in dist/; builds it first when it is missing
// (a fresh clone where `prepare` did not run) or when FLEETWIRE_REBUILD=1.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { execFileSync } = require('node:child_process');

const root = join(__dirname, '..');
const bundle = join(root, 'dist', 'fleetwire.cjs');
if (!existsSync(bundle) || process.env.FLEETWIRE_REBUILD === '1') {
  execFileSync(process.execPath, [join(root, 'scripts', 'build-cli.mjs')], { stdio: 'inherit' });
}
require(bundle);
