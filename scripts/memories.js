#!/usr/bin/env node
// The `memories` bin: the compiled CLI in dist/, which `npm ci`/`npm install` build (the `prepare` script).
try {
  await import('../dist/scripts/cli.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !/Cannot find module '[^']*dist\/scripts\/cli\.js'/.test(String(error.message)))
    throw error;
  process.stderr.write('memories: the CLI is not built yet; run `npm run build` in this checkout\n');
  process.exit(2);
}
