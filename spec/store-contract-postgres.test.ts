// The store contract on PostgreSQL: this file's own database (random name, dropped at the end), a fresh namespace
// per test, and a second connection pool as the "other process".
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { connectPostgres, type PgDatabase } from '../services/store/postgres/connection.ts';
import { createPostgresStore } from '../services/store/postgres/postgres-store.ts';
import { createTestDatabase, type TestDatabase } from './support/postgres.ts';
import { describeStoreContract, START_SECONDS } from './store-contract.ts';

let database: TestDatabase;
let other: PgDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
  other = connectPostgres(database.url);
}, 120_000);
afterAll(async () => {
  await other?.close();
  await database?.drop();
});

describeStoreContract('postgres', async () => {
  const namespace = `contract-${randomUUID()}`;
  let ms = START_SECONDS * 1000;
  const now = () => ms;
  return {
    store: createPostgresStore({ db: database.db, namespace, now }),
    reopen: () => createPostgresStore({ db: other, namespace, now }),
    now: () => Math.floor(ms / 1000),
    advance(seconds) {
      ms += seconds * 1000;
    },
    cleanup: async () => undefined,
  };
});
