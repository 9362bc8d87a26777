// `memories pull`: the namespace's newest memory folder into this Codex home, in the layout its Codex reads. The
// folder is written complete beside the old one and swapped in by renaming a symlink, so a Codex starting at any
// moment reads the old folder or the new one, never a mix. A folder that was not pulled (a real directory) is
// moved aside once, never deleted.
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, rename, rm, symlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { loadMemoriesConfig } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { ensureDir, writeFileAtomic } from '../files/atomic-write.ts';
import { layoutRoot, resolveLayout } from '../memory-folder/layout.ts';
import { ensureHandoffConfig, type HandoffConfigResult } from './codex-handoff-config.ts';
import type { FleetClient } from './fleet-client.ts';
import { isSafeFolderPath } from './folder-files.ts';

export interface PullResult {
  revision: number;
  /** The folder Codex reads (a symlink to the pulled copy). */
  root: string;
  files: number;
  /** Nothing was written: the home already had this revision, or the namespace has none yet. */
  unchanged: boolean;
  /** With `init`: the hand-off keys added to config.toml, and those to add by hand. */
  configured: HandoffConfigResult;
}

interface Pulled {
  namespace: string;
  revision: number;
  digest: string;
}

const versionsDir = (root: string) => `${root}.fleet`;

async function readPulled(root: string): Promise<Pulled | null> {
  try {
    return JSON.parse(await readFile(join(versionsDir(root), 'pulled.json'), 'utf8')) as Pulled;
  } catch {
    return null;
  }
}

/**
 * A ConfigError when `root` (a layout's memory folder) is a revision `memories pull` put there: a symlink into
 * `<root>.fleet/`. That folder is the fleet's consolidation; a local run writing into it would prune the fleet's
 * rollout summaries, and the next pull, seeing the revision already here, would keep the changed folder.
 */
export async function refuseIfPulled(root: string, command: string): Promise<void> {
  const link = await readlink(root).catch(() => null);
  if (link === null || !link.startsWith(`${basename(versionsDir(root))}/`)) return;
  const pulled = await readPulled(root);
  const from = pulled ? `fleet namespace ${pulled.namespace} (revision ${pulled.revision})` : 'a fleet namespace';
  throw new ConfigError(
    `${root} is pulled from ${from}; it is consolidated on the fleet, so \`memories ${command}\` does not write it: ` +
      "`memories pull` updates it (`memories push` sends this host's sessions)",
  );
}

/**
 * `init`: the home may be set up for this pull. Its config.toml (created when missing, as on a fresh CI runner) gets
 * the keys it lacks for the Codex there to read the folder: the namespace's layout, memories on, Codex's own
 * generation off. A version key naming another layout is the person's and stays: the pull is refused.
 */
export async function pullMemory(
  client: FleetClient,
  namespace: string,
  codexHome: string,
  options: { init?: boolean } = {},
): Promise<PullResult> {
  const config = await loadMemoriesConfig(codexHome);
  let local = resolveLayout(codexHome, config);
  const previous = await readPulled(local.root);
  const memory = await client.memory(previous?.namespace === namespace ? previous.digest : undefined);
  let configured: HandoffConfigResult = { added: [], manual: [] };
  if (options.init && (config.version === null || config.version === memory.layout)) {
    configured = await ensureHandoffConfig(codexHome, memory.layout);
    local = resolveLayout(codexHome, await loadMemoriesConfig(codexHome));
  }
  if (memory.layout !== local.version) {
    throw new ConfigError(
      `namespace ${namespace} holds a ${memory.layout} memory folder, but the Codex here reads ${local.version} ` +
        `(${local.reason}); set [memories] version = "${memory.layout}" in ${join(codexHome, 'config.toml')}`,
    );
  }
  const root = layoutRoot(codexHome, memory.layout);
  if (memory.revision === 0 || memory.unchanged || !memory.digest) {
    return { revision: memory.revision, root, files: 0, unchanged: true, configured };
  }
  const versions = versionsDir(root);
  await ensureDir(versions);
  const name = `rev-${memory.revision}-${randomBytes(4).toString('hex')}`;
  const copy = join(versions, name);
  for (const file of memory.files) {
    if (!isSafeFolderPath(file.path)) throw new Error(`the server sent an unsafe path ${JSON.stringify(file.path)}`);
    const target = join(copy, file.path);
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    await writeFileAtomic(target, Buffer.from(file.content, 'base64'));
  }
  await ensureDir(copy);
  await swapIn(root, join(basename(versions), name));
  await writeFileAtomic(
    join(versions, 'pulled.json'),
    JSON.stringify({ namespace, revision: memory.revision, digest: memory.digest }),
  );
  await pruneVersions(versions, name);
  return { revision: memory.revision, root, files: memory.files.length, unchanged: false, configured };
}

/** Points `root` at `target` (relative to its parent) with one rename of a fresh symlink over it. */
async function swapIn(root: string, target: string): Promise<void> {
  const current = await lstat(root).catch(() => null);
  if (current && !current.isSymbolicLink()) {
    // A folder this home had before pulling: kept beside the pulled copies.
    await rename(root, join(versionsDir(root), `local-${Date.now()}`));
  }
  const link = join(dirname(root), `.${basename(root)}.link-${randomBytes(4).toString('hex')}`);
  await symlink(target, link, 'dir');
  await rename(link, root);
}

/** Keeps the copy in use and the one before it (a reader may still be inside it); folders moved aside stay. */
async function pruneVersions(versions: string, keep: string): Promise<void> {
  const copies = (await readdir(versions)).filter((entry) => entry.startsWith('rev-') && entry !== keep);
  const byRevision = copies.sort((a, b) => Number(b.split('-')[1]) - Number(a.split('-')[1]));
  for (const old of byRevision.slice(1)) await rm(join(versions, old), { recursive: true, force: true });
}
