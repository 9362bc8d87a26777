// An optional feature whose package is not installed says so in one line with the npm command that adds it; a module
// missing inside an installed package, or any other error, is not mistaken for that.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../services/errors.ts';
import {
  isMissingModule,
  missingOptionalPeer,
  missingPackagesLine,
  optionalPeers,
  withOptionalPackages,
} from '../services/optional-module.ts';

const manifest = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};
const dev = manifest.devDependencies;

/** A package that is never installed (the name is made up), imported as a feature would import it. */
const load = (name: string): Promise<unknown> => import(/* @vite-ignore */ name);
const absent = (name: string) =>
  load(name).then(
    () => null,
    (error: unknown) => error,
  );

describe('optional packages', () => {
  it('recognises an ESM import and a require of a package that is not installed', async () => {
    expect(isMissingModule(await absent('not-installed-pkg'), ['not-installed-pkg'])).toBe(true);
    expect(isMissingModule(await absent('@not-installed/pkg/sub/path.js'), ['@not-installed/pkg'])).toBe(true);
    const required = (() => {
      try {
        return createRequire(import.meta.url).resolve('not-installed-pkg/dist/bundle.min.js');
      } catch (error) {
        return error;
      }
    })();
    expect(isMissingModule(required, ['not-installed-pkg'])).toBe(true);
  });

  it('does not take a module missing inside an installed package, another package or another error for it', async () => {
    const inside = Object.assign(new Error("Cannot find package 'pg-pool' imported from /app/node_modules/pg/esm/index.mjs"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    expect(isMissingModule(inside, ['pg'])).toBe(false);
    expect(isMissingModule(await absent('not-installed-pkg'), ['pg'])).toBe(false);
    expect(isMissingModule(new Error("Cannot find package 'pg'"), ['pg'])).toBe(false);
    expect(isMissingModule(undefined, ['pg'])).toBe(false);
  });

  it('formats one line naming the feature and the npm command, at the versions the tests run with', () => {
    expect(missingPackagesLine('`memories serve`', ['pg', 'fastify'])).toBe(
      `\`memories serve\` needs optional packages that are not installed: npm install pg@${dev.pg} fastify@${dev.fastify}`,
    );
    expect(missingPackagesLine('`memories machines --html`', ['mermaid'])).toBe(
      `\`memories machines --html\` needs an optional package that is not installed: npm install mermaid@${dev.mermaid}`,
    );
  });

  it('turns a missing package of the feature into a ConfigError carrying that line, and rethrows anything else', async () => {
    const missing = withOptionalPackages('the inspector', ['not-installed-pkg'], () =>
      absent('not-installed-pkg').then((error) => Promise.reject(error)),
    );
    await expect(missing).rejects.toThrow(ConfigError);
    await expect(missing).rejects.toThrow(/^the inspector needs an optional package that is not installed: npm install/);
    const other = withOptionalPackages('the inspector', ['ws'], () =>
      absent('not-installed-pkg').then((error) => Promise.reject(error)),
    );
    await expect(other).rejects.toMatchObject({ code: 'ERR_MODULE_NOT_FOUND' });
  });

  it('declares each optional peer in devDependencies at the version its range starts from, not in dependencies', async () => {
    const peers = optionalPeers();
    expect(peers).toEqual(expect.arrayContaining(['pg', 'fastify', '@statelyai/inspect', 'ws', 'mermaid']));
    for (const name of peers) {
      expect({ name, range: manifest.peerDependencies[name] }).toEqual({ name, range: `^${dev[name]}` });
      expect(manifest.dependencies[name]).toBeUndefined();
    }
    expect(missingOptionalPeer(await absent('not-installed-pkg'))).toBeUndefined();
  });

  it("gives every optional peer in the README's install lines, at the versions the tests run with", () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Installing, and the optional packages'));
    const rows = section
      .slice(0, section.indexOf('\n## '))
      .split('\n')
      .filter((line) => line.startsWith('| '));
    const named = rows.flatMap((row) => [...row.matchAll(/`npm install ([^`]+)`/g)].flatMap((m) => m[1]!.split(' ')));
    expect(new Set(named)).toEqual(new Set(optionalPeers().map((name) => `${name}@${dev[name]}`)));
  });
});
