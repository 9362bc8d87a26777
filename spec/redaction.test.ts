// Credentials found in rollouts or model output are replaced by [REDACTED_SECRET] before anything
// is sent or stored, while ordinary text stays as it was.
import { describe, expect, it } from 'vitest';
import { redactDeep, redactedJson, redactSecrets } from '../services/redaction/redact.ts';

const R = '[REDACTED_SECRET]';

describe('the reference vectors of spec §2.8', () => {
  it.each([
    ['key sk-abcdefghijklmnopqrst end', `key ${R} end`],
    ['id AKIA0123456789ABCDEF end', `id ${R} end`],
    ['bEaReR abcdefghijklmnop', `Bearer ${R}`],
    ['api_key=abcdefgh', `api_key=${R}`],
    ['password: "abcdefgh"', `password: "${R}"`],
    ["token='abcdefgh'", `token='${R}'`],
    ['secret=abcdefgh', `secret=${R}`],
    ['secret Bearer short password=short sk-short', 'secret Bearer short password=short sk-short'],
    ['', ''],
  ])('%j → %j', (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
  });
});

// Each secret below must vanish completely; the text around it must survive.
const SECRETS: Array<[string, string, string]> = [
  ['OpenAI project key', 'sk-proj-AbC_dEf-0123456789abcdefghijKLMNOPqrst', 'export OPENAI_KEY_X {s} now'],
  ['OpenAI service-account key', 'sk-svcacct-Zx9_Yw8-Vu7Ts6Rq5Po4Nm3Lk2Ji1', 'key {s} here'],
  ['Anthropic key', 'sk-ant-api03-abc_DEF-ghi_jklmnopqrstuvwxyz0123456789-AAAA', 'use {s} for claude'],
  ['legacy OpenAI key', `sk-${'A1b2C3d4'.repeat(6)}`, 'key: {s}'],
  ['GitHub classic token', 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB', 'git clone https://{s}@github.com/o/r'],
  ['GitHub OAuth token', 'gho_16C7e42F292c6912E7710c838347Ae178B4a', 'oauth {s}'],
  ['GitHub user-to-server token', 'ghu_16C7e42F292c6912E7710c838347Ae178B4a', 'got {s}'],
  ['GitHub server token', 'ghs_16C7e42F292c6912E7710c838347Ae178B4a', 'got {s}'],
  ['GitHub refresh token', 'ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c', 'got {s}'],
  ['GitHub fine-grained token', 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV', 'GH={s}'],
  ['GitLab token', 'glpat-xXxXxXxXxXxXxXxXxXxX', 'token {s}'],
  ['Slack bot token', 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx', 'slack {s}'],
  ['Slack user token', 'xoxp-123456789012-123456789012-123456789012-abcdef0123456789abcdef0123456789', 'slack {s}'],
  [
    'Slack webhook',
    'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX',
    'curl -X POST {s} -d @msg.json',
  ],
  ['Google API key', 'AIzaSyA-1234567890abcdefghijklmnopqrstu', 'maps key={s}&q=x'],
  ['Stripe live secret key', 'sk_live_51HxYzAbCdEfGhIjKlMnOpQr', 'stripe {s}'],
  ['Stripe restricted key', 'rk_live_51HxYzAbCdEfGhIjKlMnOpQr', 'stripe {s}'],
  ['Stripe test key', 'sk_test_4eC39HqLyjWDarjtT1zdp7dc', 'stripe {s}'],
  ['AWS access key id', 'AKIAIOSFODNN7EXAMPLE', 'aws_access_key_id = {s}'],
  ['AWS secret access key', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'aws_secret_access_key = {s}'],
  ['AWS secret in env style', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'AWS_SECRET_ACCESS_KEY={s}'],
  [
    'JWT',
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
    'cookie session={s}; path=/',
  ],
  ['Bearer header', 'abcDEF123456ghiJKL789', 'curl -H "Authorization: Bearer {s}" https://api.example.com'],
  ['basic auth header', 'dXNlcjpodW50ZXIyMnNlY3JldA==', 'Authorization: Basic {s}'],
  ['password in a URL', 'Sup3rS3cret!', 'DATABASE_URL=postgres://app:{s}@db.internal:5432/app'],
  ['env token', 'abc123def456', 'export FOO_TOKEN={s}'],
  ['env password', 'hunter2hunter2', 'DB_PASSWORD="{s}"'],
  ['JSON client secret', 'Zq8-r7Tq_9xYv', '{"client_secret": "{s}"}'],
  ['camelCase token in code', 'a8f5f167f44f4964e6c998dee827110c', "const accessToken = '{s}';"],
  ['HTTP API key header', 'abcd1234efgh5678', 'X-Api-Key: {s}'],
  ['npm token', `npm_${'a1B2c3D4e5'.repeat(4)}`, '//registry.npmjs.org/:_authToken={s}'],
  ['Hugging Face token', `hf_${'AbCdEfGhIj'.repeat(4)}`, 'HF={s}'],
  // Contexts without any other secret word, so that each shape's own literal must let it through
  // the quick pre-check in redact.ts.
  ['GitLab token with no keyword near', 'glpat-xXxXxXxXxXxXxXxXxXxX', 'pushed with {s}'],
  ['npm token with no keyword near', `npm_${'a1B2c3D4e5'.repeat(4)}`, 'echo {s}'],
  ['AWS temporary access key id', 'ASIAIOSFODNN7EXAMPLE', 'id {s} in use'],
  ['Google OAuth access token', 'ya29.a0AfH6SMBx1234567890abcdefghij', 'gcloud printed {s}'],
  ['SendGrid key', 'SG.abcdefghijklmnop.ABCDEFGHIJKLMNOPqrstuvwx', 'mail via {s}'],
  ['env password, short name', 'x1y2z3w4v5', 'DB_PWD={s}'],
  ['env access key', 'AbCdEf123456', 'MY_ACCESS_KEY={s}'],
  // Shell goes on after the value: `&&`, `||` and `|` there are not an expression using a variable.
  ['mysql -p with a command after it', 'Qu4rtzLynx88Vault', 'restore with mysql -uroot -p{s} && ls, then check'],
  ['mysql -p piped on', 'Qu4rtzLynx88Vault', 'mysqldump -u admin -p{s} shop | gzip > shop.sql.gz'],
  ['--password with a command after it', 'S3cr3tV4lue77', 'deploy --password {s} || exit 1'],
  ['HTTPie --auth', 'Gr4niteFox19Moss', 'then check http --auth bob:{s} get api.internal'],
  ['HTTPie -a', 'Gr4niteFox19Moss', 'https -a bob:{s} POST api.internal/items'],
  // Passwords that tools take in flags or positions of their own, or read from a pipe.
  ['echo piped to sudo -S', 'Pl4tinumOwl27Key', "echo '{s}' | sudo -S apt-get update"],
  ['echo piped to docker login --password-stdin', 'D0ckHub9Pass44x', 'echo {s} | docker login -u bob --password-stdin ghcr.io'],
  ['echo piped to chpasswd', 'Ch4ngeMe2Rx9', "echo 'deploy:{s}' | sudo chpasswd"],
  ['printf piped to passwd --stdin', 'Pr1ntfPw55Zq', 'printf "%s" {s} | passwd --stdin deploy'],
  ['ldapsearch -w', 'Ld4pBind77Pw', 'ldapsearch -x -D cn=admin,dc=ex,dc=org -w {s} -b dc=ex,dc=org'],
  ['keytool -storepass', 'K3yst0re55Pw', 'keytool -list -keystore app.jks -storepass {s}'],
  ['keytool -keypass', 'K3yPa55Word81', 'keytool -genkey -alias app -keypass {s} -keystore a.jks'],
  ['sqlplus user/password@db', 'Or4cleTiger61', 'sqlplus scott/{s}@orcl @script.sql'],
  ['SQL IDENTIFIED BY', 'Sq1UserPw99x', "ALTER USER app IDENTIFIED BY '{s}';"],
  ['SQL WITH PASSWORD', 'Pg5RolePw23y', "CREATE ROLE app WITH LOGIN PASSWORD '{s}';"],
  ['zip -P', 'Z1pArch1vePw', 'zip -P {s} -r backup.zip data/'],
  ['7z -p', 'S3venZip44Pw', '7z a -p{s} backup.7z data/'],
  ['lftp -u user,password', 'Ftp4ccess88Q', 'lftp -u deploy,{s} sftp://files.example.com'],
  ['az login -p', 'Az5pnSecret72', 'az login --service-principal -u http://app -p {s} --tenant t1'],
  ['htpasswd -b', 'Ht4ccess19Pw', 'htpasswd -bc /etc/nginx/.htpasswd admin {s}'],
  ['rabbitmqctl add_user', 'R4bbitMq33Pw', 'rabbitmqctl add_user app {s}'],
  ['ssh-keygen -N', 'SshK3yPhrase5', "ssh-keygen -t ed25519 -N '{s}' -f id_app"],
  ['openssl enc -k', '0pensslK3y44', 'openssl enc -aes-256-cbc -k {s} -in a -out a.enc'],
  ['net use, password after the share', 'W1nShare66Pw', 'net use Z: \\\\srv\\share {s} /user:CORP\\bob'],
  ['net use, password after /user:', 'W1nShare66Pw', 'net use \\\\srv\\share /user:bob {s}'],
  ['gh secret set --body', 'Gh5ecretBody81', 'gh secret set DEPLOY_KEY --body {s}'],
  ['env auth key', 'Zz9Yy8Xx7Ww6', 'SERVICE_AUTH_KEY={s}'],
  ['env credentials', 'c0ffee-b4be-1234', 'GCP_CREDENTIALS={s}'],
];

describe('more secret shapes', () => {
  it.each(SECRETS)('%s is removed', (_name, secret, context) => {
    const text = context.replace('{s}', secret);
    const out = redactSecrets(text);
    expect(out).toContain(R);
    expect(out).not.toContain(secret);
    // No recognisable tail of the secret is left either.
    expect(out).not.toContain(secret.slice(-8));
  });

  it('a PEM private key block is removed whole, and the text after it kept', () => {
    const key = [
      '-----BEGIN OPENSSH PRIVATE KEY-----',
      'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
      'QyNTUxOQAAACBxyz0123456789',
      '-----END OPENSSH PRIVATE KEY-----',
    ].join('\n');
    const out = redactSecrets(`before\n${key}\nafter`);
    expect(out).toBe(`before\n${R}\nafter`);
    const cut = redactSecrets(`x -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0123\nabc`);
    expect(cut).toBe(`x ${R}`);
  });

  it('keeps the connect string of an Oracle logon', () => {
    expect(redactSecrets('sqlplus -s app/Or4cleTiger61@//db.internal:1521/ORCL @run.sql')).toBe(
      `sqlplus -s app/${R}@//db.internal:1521/ORCL @run.sql`,
    );
  });

  it('keeps the user and host of a URL with a password', () => {
    expect(redactSecrets('mongodb+srv://admin:p4ssw0rd@cluster0.example.net/db')).toBe(
      `mongodb+srv://admin:${R}@cluster0.example.net/db`,
    );
  });
});

describe('ordinary text is left alone', () => {
  it.each([
    'The token limit is 150000 tokens; max_tokens: 4096',
    'see https://example.com/path?q=1 and mail user@example.com',
    'git@github.com:openai/codex.git',
    'http://localhost:3000/api/v1/users',
    'const apiToken = getToken(); let password = ask();',
    'litellmApiKey: string | undefined;',
    'FOO_TOKEN=$FOO_TOKEN and GH_TOKEN=%GH_TOKEN%',
    'commit 0f022a043b3f8ca67224e1c56d5b85e28a81b910',
    'uuid 019a93b9-f380-7600-98ff-940e6b99603c',
    'the secret ingredient is love; my password is short',
    'sk-short, ghp_short, AKIA123, xoxb-1',
    'ssoCredentials = context.credentials as SSOCredentials;',
    'total_token: 12345, retry_token: true',
    '日本語 emoji 👍🏽 text',
    'mysql -u root -p$MYSQL_PWD && ./migrate',
    'http --auth bob:$BOB_PASSWORD get api.internal',
    'echo $SUDO_PW | sudo -S true; echo "$CR_PAT" | docker login ghcr.io -u bob --password-stdin',
    'sqlplus / as sysdba; sqlplus -s /nolog; sqlplus app/$APP_PW@orcl',
    'ssh-keygen -t ed25519 -N "" -f id_app; zip -r backup.zip data/; 7z x -y backup.7z',
    'keytool -list -keystore app.jks -storepass:env STOREPASS',
    'net use Z: \\\\srv\\share /persistent:yes; net use Z: \\\\srv\\share * /user:bob',
    'gh secret set DEPLOY_KEY --body "$DEPLOY_KEY"; rabbitmqctl list_users',
    'htpasswd -c /etc/nginx/.htpasswd admin',
  ])('%j', (text) => {
    expect(redactSecrets(text)).toBe(text);
  });
});

// Every rule is linear on hostile input; a quadratic one would not finish within the test timeout.
describe('hostile lines', () => {
  it.each([
    ['letters', 'a'.repeat(1_000_000)],
    ['base64url run', 'eyJa-'.repeat(200_000)],
    ['repeated key prefixes', 'sk-ant-'.repeat(150_000)],
    ['dotted words', 'ab1.'.repeat(250_000)],
    ['assignments', 'A_TOKEN = '.repeat(100_000)],
    ['URL starts', 'https://a:'.repeat(100_000)],
    ['PEM headers without end', '-----BEGIN PRIVATE KEY-----'.repeat(40_000)],
    ['flags', '--token x1'.repeat(100_000)],
    ['base64 runs', `${'Ab3/'.repeat(10)}-`.repeat(25_000)],
    ['Kubernetes data', `kind: Secret\ndata:${'\n  k: v'.repeat(150_000)}`],
    ['echoes into sudo', 'echo x | sudo '.repeat(70_000)],
    ['echoes of a long word', `echo ${'a'.repeat(1_000_000)} | sudo -S`],
    ['SQL passwords', "user u password '".repeat(60_000)],
    ['Oracle logons', 'sqlplus a/'.repeat(100_000)],
    ['htpasswd batches', 'htpasswd -b a '.repeat(70_000)],
  ])('a 1 MB line of %s is redacted', (_name, line) => {
    expect(redactSecrets(line).length).toBeGreaterThan(0);
  });
});

describe('redactDeep', () => {
  it('redacts every string of a JSON value and returns a new value', () => {
    const value = {
      type: 'function_call',
      arguments: '{"cmd":"export GH=ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"}',
      output: ['ok', { text: 'Bearer abcdefghijklmnopqrst' }],
      n: 3,
      flag: true,
      none: null,
    };
    const copy = structuredClone(value);
    const out = redactDeep(value);
    expect(value).toEqual(copy);
    expect(out).toEqual({
      type: 'function_call',
      arguments: `{"cmd":"export GH=${R}"}`,
      output: ['ok', { text: `Bearer ${R}` }],
      n: 3,
      flag: true,
      none: null,
    });
  });
});

describe('redactedJson', () => {
  // It skips the walk when the serialized item holds no rule literal; the text must always be
  // the one a full walk gives.
  it.each([
    ['no secret at all', { type: 'message', content: [{ type: 'output_text', text: 'all tests pass' }] }],
    [
      'a secret deep inside',
      {
        type: 'function_call_output',
        output: { lines: ['ok', 'export OPENAI_API_KEY=sk-proj-AbC_dEf-0123456789abcdefghijKLMNOPqrst'] },
      },
    ],
    ['a secret word only in a key', { token_count: 12, note: 'no credentials here' }],
    [
      'a JSON-escaped secret',
      {
        arguments: JSON.stringify({
          cmd: 'curl -H "Authorization: Bearer abcDEF123456ghiJKL789"\nsk-ant-api03-abc_DEF-ghi_jklmnopqrstuvwxyz0123456789-AAAA',
        }),
      },
    ],
  ])('%s', (_name, item) => {
    expect(redactedJson(item)).toBe(JSON.stringify(redactDeep(item)));
  });

  it("redacts each command's password in a multi-line tool call, whose lines are joined by escaped newlines", () => {
    const cmd = 'mongosh --eval 1\nredis-cli -a R3disStoat38Pw ping\nmongosh -u a -p Mg1Pw0rd77';
    const out = redactedJson({ type: 'function_call', arguments: JSON.stringify({ cmd }) });
    expect(out).not.toContain('R3disStoat38Pw');
    expect(out).not.toContain('Mg1Pw0rd77');
    expect(out).toContain(`redis-cli -a ${R} ping`);
  });

  it('removes a secret that only the walk finds', () => {
    const out = redactedJson({ a: [{ b: 'key ghp_0123456789abcdefghijklmnopqrstuvwxyzAB end' }] });
    expect(out).toBe(JSON.stringify({ a: [{ b: `key ${R} end` }] }));
  });
});
