// Bundles the CLI (lambdas/cli/main.ts) into dist/fleetwire.cjs with esbuild, so `npx fleetwire`
// starts fast without a TypeScript loader. Runs from `prepare` (npm ci / npm install) and `npm test`.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export async function buildCli() {
  await build({
    entryPoints: [join(root, 'lambdas/cli/main.ts')],
    outfile: join(root, 'dist/fleetwire.cjs'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'linked',
    // Native and heavy runtime dependencies stay external and load from node_modules.
    packages: 'external',
    logLevel: 'warning',
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildCli();
}
