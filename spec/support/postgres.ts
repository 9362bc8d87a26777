// The real PostgreSQL for the fleet specs: 127.0.0.1:5432, trust auth, user postgres. Started when it is stopped,
// installed from Debian's packages when it is missing; when none of that works the spec fails saying why (never
// skips). Each caller gets a database of its own with a random name, dropped afterwards.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import pg from 'pg';
import { connectPostgres, type PgDatabase } from '../../services/store/postgres/connection.ts';
import { migrate } from '../../services/store/postgres/migrations.ts';

const HOST = '127.0.0.1';
const PORT = 5432;
const ADMIN_URL = `postgres://postgres@${HOST}:${PORT}/postgres`;

function listening(timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port: PORT });
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function waitListening(seconds: number): Promise<boolean> {
  for (let i = 0; i < seconds * 4; i++) {
    if (await listening()) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

const run = (command: string, args: string[]) => {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 600_000 });
  return `$ ${command} ${args.join(' ')} → ${result.status ?? result.error?.message}: ${(result.stderr || '').trim().slice(-300)}`;
};

const clusters = () => (existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql') : []);

/** Makes sure a server answers on 127.0.0.1:5432, or throws with every step that was tried. */
export async function ensurePostgres(): Promise<void> {
  if (await listening()) return;
  const tried: string[] = [];
  const installed = clusters().length === 0;
  if (installed) {
    tried.push(run('apt-get', ['update']));
    tried.push(run('apt-get', ['install', '-y', 'postgresql']));
  }
  for (const version of clusters()) tried.push(run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start']));
  if (!(await waitListening(10))) {
    tried.push(run('service', ['postgresql', 'start']));
  }
  if (await waitListening(20)) {
    // A fresh Debian cluster asks for passwords over TCP; the specs (and the project's machines) use trust.
    if (installed) trustLocalTcp(tried);
    if (await canLogIn()) return;
  }
  throw new Error(`PostgreSQL is not reachable at ${HOST}:${PORT} and could not be started:\n${tried.join('\n')}`);
}

async function canLogIn(): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Only for a cluster this helper just installed: its pg_hba.conf gets a trust line for 127.0.0.1, then a reload. */
function trustLocalTcp(tried: string[]): void {
  for (const version of clusters()) {
    const hba = `/etc/postgresql/${version}/main/pg_hba.conf`;
    if (!existsSync(hba)) continue;
    const text = readFileSync(hba, 'utf8');
    if (/^host\s+all\s+all\s+127\.0\.0\.1\/32\s+trust/m.test(text)) continue;
    execFileSync('sed', ['-i', '1i host all all 127.0.0.1/32 trust', hba]);
    tried.push(run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'reload']));
  }
}

export interface TestDatabase {
  url: string;
  name: string;
  /** A connected handle, migrated unless asked otherwise (closed by drop). */
  db: PgDatabase;
  drop(): Promise<void>;
}

/**
 * A new database with a random name, migrated unless `migrated` is false; `drop()` closes every handle given and
 * removes it.
 */
export async function createTestDatabase({ migrated = true } = {}): Promise<TestDatabase> {
  await ensurePostgres();
  const name = `memories_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = `postgres://postgres@${HOST}:${PORT}/${name}`;
  const db = connectPostgres(url);
  if (migrated) await migrate(db);
  return {
    url,
    name,
    db,
    async drop() {
      await db.close();
      const client = new pg.Client({ connectionString: ADMIN_URL });
      await client.connect();
      try {
        // WITH (FORCE) ends what a killed child process may have left connected.
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
