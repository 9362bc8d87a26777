// The store contract on the embedded lowdb store: two JSON files in a fresh temp dir.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLowdbStore } from '../services/store/lowdb-store.ts';
import { describeStoreContract, START_SECONDS } from './store-contract.ts';

describeStoreContract('lowdb', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'memories-contract-'));
  const dir = path.join(root, 'memories_state');
  let ms = START_SECONDS * 1000;
  const now = () => ms;
  return {
    store: createLowdbStore({ dir, now }),
    reopen: () => createLowdbStore({ dir, now }),
    now: () => Math.floor(ms / 1000),
    advance(seconds) {
      ms += seconds * 1000;
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});
