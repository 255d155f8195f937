#!/usr/bin/env node
// The sealbell command. The TypeScript is compiled to dist/ by `npm install` (prepare) or `npm run build`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/tools/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  console.error('sealbell: not built yet; run `npm install` (or `npm run build`) first');
  process.exit(1);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
