// 30+ secret shapes planted in rollouts (user text, tool output, assistant text) and in the model's
// replies (stage-1 fields, the agent's file writes, error bodies). None may reach the store, the
// memory folder, the log, or the requests sent to the model. And everything the pipeline creates
// under CODEX_HOME is private (files 0600, folders 0700), even under umask 000.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startLocalOpenAIServer, type LocalOpenAIServer } from '../../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../../services/local-model/scripted-model.ts';
import { generatedSecrets, leaked } from '../support/secret-corpus.ts';
import {
  allText,
  BIN,
  isAgent,
  isStage1,
  rng,
  seededUuid,
  tempHome,
  threadOfStage1,
  walk,
  writeRollout,
} from './support/harness.ts';

/** [shape, the text as it would appear, the part that must never be seen again]. */
const SECRETS: Array<[string, string, string]> = [
  ['OpenAI legacy key', 'sk-Ab3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5bC7dE9fG1hJ3', 'Ab3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3'],
  ['OpenAI project key', 'sk-proj-Zx9_Yw8-Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe9Dc8Ba7', 'Zx9_Yw8-Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0'],
  ['OpenAI service account key', 'sk-svcacct-Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9Lz', 'Qw3Er5Ty7Ui9Op1As3Df5Gh7'],
  ['Anthropic key', 'sk-ant-api03-Mn8Bv6Cx4Zl2Kj0Hg8Fd6Sa4Qw2Er0Ty8Ui6Op4-AAAA', 'Mn8Bv6Cx4Zl2Kj0Hg8Fd6Sa4Qw2Er0'],
  ['AWS access key id', 'AKIAZ7Q3XK5W9P2M4N6R', 'AKIAZ7Q3XK5W9P2M4N6R'],
  ['AWS temporary access key id', 'ASIAY4T6UB8N0M2K4J6H', 'ASIAY4T6UB8N0M2K4J6H'],
  [
    'AWS secret access key',
    'aws_secret_access_key = wJa1rXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY9',
    'wJa1rXUtnFEMI/K7MDENG/bPxRfiCY',
  ],
  ['GitHub classic token', 'ghp_R4nd0mT0k3nV4lu3F0rT3st1ngAbCdEf123456', 'R4nd0mT0k3nV4lu3F0rT3st1ng'],
  ['GitHub OAuth token', 'gho_Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8', 'Q1w2E3r4T5y6U7i8O9p0A1s2D3f4'],
  [
    'GitHub fine-grained PAT',
    'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF',
    '11ABCDEFG0123456789_abcdefghijkl',
  ],
  ['GitLab PAT', 'glpat-Xy7Zw5Vu3Ts1Rq9Po7Nm', 'Xy7Zw5Vu3Ts1Rq9Po7Nm'],
  ['Slack bot token', 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx', '1234567890123-AbCdEfGhIjKlMnOp'],
  [
    'Slack user token',
    'xoxp-223456789012-2234567890123-2234567890123-0123456789abcdef0123456789abcdef',
    '0123456789abcdef0123456789abcdef',
  ],
  ['Slack webhook', 'https://hooks.slack.com/services/T0ABCDEF1/B0ABCDEF2/Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2', 'Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2'],
  ['Stripe live secret key', 'sk_live_51HxYzAbCdEfGhIjKlMnOpQrStUv', '51HxYzAbCdEfGhIjKlMnOpQr'],
  ['Stripe restricted key', 'rk_live_51JqRsTuVwXyZaBcDeFgHiJkLm', '51JqRsTuVwXyZaBcDeFgHiJk'],
  ['Stripe test key', 'sk_test_4eC39HqLyjWDarjtT1zdp7dc', '4eC39HqLyjWDarjtT1zdp7dc'],
  ['Google API key', 'AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY', 'SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY'],
  ['Google OAuth access token', 'ya29.a0AfH6SMBx7Qk2LmN9pRsT4uVwXyZ1aBcDeFgHiJkLmNoPq', 'a0AfH6SMBx7Qk2LmN9pRsT4uVwXyZ1'],
  [
    'JWT',
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
    'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV',
  ],
  [
    'PEM RSA private key',
    '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----',
    'MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0t',
  ],
  [
    'PEM OpenSSH private key',
    '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----',
    'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ',
  ],
  [
    'PEM EC private key',
    '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY/PuoAoGCCqGSM49\n-----END EC PRIVATE KEY-----',
    'MHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6',
  ],
  ['Postgres URL password', 'postgres://app:S3cr3tPgP4ss@db.internal:5432/prod', 'S3cr3tPgP4ss'],
  ['MySQL URL password', 'mysql://root:MyR00tPw!x@localhost/app', 'MyR00tPw!x'],
  ['HTTPS URL password', 'https://deploy:Hunter2Hunter2@git.example.com/repo.git', 'Hunter2Hunter2'],
  ['env password', 'DB_PASSWORD=Tr0ub4dor&3xyz', 'Tr0ub4dor&3xyz'],
  ['export API key', 'export MY_SERVICE_API_KEY="f9e8d7c6b5a4f3e2d1c0"', 'f9e8d7c6b5a4f3e2d1c0'],
  ['bearer header', 'Authorization: Bearer 9f8e7d6c5b4a39281716abcdef012345', '9f8e7d6c5b4a39281716abcdef012345'],
  ['basic auth header', 'Authorization: Basic dXNlcjpzdXBlcnNlY3JldHBhc3N3b3Jk', 'dXNlcjpzdXBlcnNlY3JldHBhc3N3b3Jk'],
  ['npm token', 'npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789', 'AbCdEfGhIjKlMnOpQrStUvWxYz0123'],
  ['Hugging Face token', 'hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567', 'AbCdEfGhIjKlMnOpQrStUvWxYz01234567'],
  ['JSON client_secret', '"client_secret": "GOCSPX-1a2B3c4D5e6F7g8H9i0J"', 'GOCSPX-1a2B3c4D5e6F7g8H9i0J'],
  ['YAML password', 'password: correct-horse-battery', 'correct-horse-battery'],
  [
    'SendGrid key',
    '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',
    'TwL2iGABf9DHoTf-09kqeF8tAmbihYzrnopKc',
  ],
];

// One value of every rule family (vendor tokens, quoted keys, flags, URLs, env names, PEM, Kubernetes…),
// generated at random, beside the hand-written shapes above.
const GENERATED = generatedSecrets(1, 4242);
const ALL = [...SECRETS.map(([, text]) => text), ...GENERATED.map(([, p]) => p.text)].join('\n');
let server: LocalOpenAIServer;
const scripted = scriptedHandler();
const failWith400 = new Set<string>();
const failWithJunk = new Set<string>();

beforeAll(async () => {
  server = await startLocalOpenAIServer({
    handler: (req) => {
      if (isStage1(req.body)) {
        const id = threadOfStage1(req.body) ?? '';
        // Error bodies and malformed replies that quote credentials end up in error reasons.
        if (failWith400.has(id))
          return { status: 400, body: { error: { message: `invalid request, key was ${ALL}`, type: 'invalid_request_error' } } };
        if (failWithJunk.has(id)) return { text: `not json ${ALL}` };
        return {
          text: JSON.stringify({
            rollout_summary: `Summary with secrets:\n${ALL}`,
            rollout_slug: SECRETS[0]![1],
            raw_memory: `- remember\n${ALL}`,
          }),
        };
      }
      if (isAgent(req.body)) {
        const reply = scripted(req);
        if ('toolCalls' in reply) {
          // The agent copies every secret into the files it writes.
          for (const call of reply.toolCalls) {
            if (call.name !== 'write_file') continue;
            const args = JSON.parse(call.arguments);
            call.arguments = JSON.stringify({ ...args, content: `${args.content}\n${ALL}\n` });
          }
        }
        return reply;
      }
      return scripted(req);
    },
  });
});
afterAll(() => server?.close());

it(`${SECRETS.length} secret shapes and ${GENERATED.length} generated family values never reach the store, the memory folder, the log, the events file or the model; every created path is private`, async () => {
  expect(SECRETS.length).toBeGreaterThanOrEqual(30);
  const { home, cleanup } = await tempHome('memories-secrets-');
  try {
    const next = rng(31337);
    const planted: string[] = [];
    for (let i = 0; i < 4; i++) {
      const id = seededUuid(next);
      await writeRollout(home, {
        threadId: id,
        cwd: `/work/${SECRETS[i]![1].slice(0, 30)}`,
        user: [
          `please deploy with these:\n${ALL}`,
          `and also ${SECRETS.map(([, t]) => t)
            .reverse()
            .join(' ; ')}`,
        ],
        assistant: [`I used ${ALL}`, 'done'],
        extraLines: [
          JSON.stringify({
            type: 'response_item',
            payload: {
              type: 'function_call',
              name: 'shell',
              call_id: 'c1',
              arguments: JSON.stringify({ command: ['bash', '-lc', `env; cat ~/.aws/credentials; ${ALL}`] }),
            },
          }),
          JSON.stringify({ type: 'response_item', payload: { type: 'function_call_output', call_id: 'c1', output: `${ALL}\n` } }),
        ],
      });
      planted.push(id);
    }
    failWith400.add(planted[2]!);
    failWithJunk.add(planted[3]!);

    // The CLI as a user runs it, under the most permissive umask.
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(
        '/bin/sh',
        [
          '-c',
          `umask 000; exec "${process.execPath}" "${BIN}" run --codex-home "${home}" --base-url "${server.url}" --events "${home}/events.jsonl" --json`,
        ],
        {
          env: { ...process.env, OPENAI_API_KEY: '', OPENAI_BASE_URL: '' },
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    // Two jobs failed on purpose (a 400 and a malformed reply), so the run says so in its exit code.
    expect(result.code, result.stderr).toBe(1);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ claimed: 4, succeeded: 2, failed: 2, phase2: { status: 'succeeded' } });

    const places = new Map<string, string>();
    for (const dir of ['memories_state', 'memories', 'log'])
      for (const [p, t] of await allText(join(home, dir))) places.set(p.slice(home.length), t);
    // What we send to the model: everything except the replay of the model's own tool calls (the
    // agent's earlier function_call items, which the provider produced and already has).
    const sent = server.requests.map((r) => ({
      ...r.body,
      input: Array.isArray(r.body.input) ? r.body.input.filter((i: any) => i?.type !== 'function_call') : r.body.input,
    }));
    places.set('<requests to the model>', JSON.stringify(sent));
    places.set('<cli stdout+stderr>', result.stdout + result.stderr);
    places.set('<--events file>', await readFile(join(home, 'events.jsonl'), 'utf8'));
    const leaks: string[] = [];
    for (const [shape, , needle] of SECRETS) {
      for (const [where, text] of places) {
        // JSON escapes '/' no more than itself, but newlines and quotes: search raw and escaped forms.
        if (text.includes(needle) || text.includes(JSON.stringify(needle).slice(1, -1))) leaks.push(`${shape} in ${where}`);
      }
    }
    for (const [family, p] of GENERATED)
      for (const [where, text] of places) if (leaked(p, text).length > 0) leaks.push(`${family} in ${where}`);
    expect(leaks).toEqual([]);
    // The redaction marker shows that the secrets were there and were removed, not lost by accident.
    expect(places.get('/memories/MEMORY.md')).toContain('[REDACTED_SECRET]');
    expect(await readFile(join(home, 'log', 'memories.log'), 'utf8')).toContain('Phase 1 job failed');

    // Nothing readable by other users: every path the pipeline created under CODEX_HOME.
    const loose = (await walk(home))
      .filter((e) => !e.path.startsWith(join(home, 'sessions')))
      .filter((e) => (e.kind === 'dir' ? e.mode !== 0o700 : e.mode !== 0o600))
      .map((e) => `${e.path.slice(home.length)} ${e.mode.toString(8)}`);
    expect(loose).toEqual([]);
  } finally {
    await cleanup();
  }
});
