// Generated secrets (one sample maker per rule family, fed random values) and benign code that
// names secrets without holding one. Shared by spec/redaction-*.test.ts and the bench's
// redaction section. No vendor's documented example value is used: every value is random.

/** A seeded generator, so that a failure names a value that can be reproduced. */
export function randomSource(seed: number): (n: number) => number {
  let state = seed >>> 0 || 1;
  return (n) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
type Pick = (alphabet: string, n: number) => string;

function picker(random: (n: number) => number): Pick {
  return (alphabet, n) => {
    let out = '';
    for (let i = 0; i < n; i++) out += alphabet[random(alphabet.length)];
    // A digit and both cases somewhere, as in real tokens (and so no value reads as a word).
    if (alphabet === ALNUM && n >= 6) out = `${out.slice(0, -3)}${random(10)}${'QWXZ'[random(4)]}${'kmqv'[random(4)]}`;
    return out;
  };
}

/** A planted secret: the text as it appears, and the parts that must never be seen again. */
export type Planted = { text: string; needles: string[] };
const plant = (text: string, ...needles: string[]): Planted => ({ text, needles: needles.length ? needles : [text] });
/** A value planted between two texts, the value the needle. */
const around = (before: string, value: string, after = '') => plant(`${before}${value}${after}`, value);
const choose = <T>(p: Pick, list: T[]): T => list[Number(p('0123456789'.slice(0, list.length), 1))]!;

const HEX = '0123456789abcdef';
const UPNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const LONUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const URLSAFE = `${ALNUM}_-`;
const guid = (p: Pick) => `${p(HEX, 8)}-${p(HEX, 4)}-${p(HEX, 4)}-${p(HEX, 4)}-${p(HEX, 12)}`;

/** One sample maker per vendor token family of services/redaction/token-families.ts. */
export const FAMILY_SAMPLES: Record<string, (p: Pick) => Planted> = {
  openai: (p) => plant(`sk-proj-${p(URLSAFE, 40)}${p(ALNUM, 8)}`),
  anthropic: (p) => plant(`sk-ant-api03-${p(URLSAFE, 80)}${p(ALNUM, 8)}`),
  openrouter: (p) => plant(`sk-or-v1-${p(HEX, 64)}`),
  groq: (p) => plant(`gsk_${p(ALNUM, 52)}`),
  xai: (p) => plant(`xai-${p(ALNUM, 80)}`),
  perplexity: (p) => plant(`pplx-${p(ALNUM, 48)}`),
  replicate: (p) => plant(`r8_${p(ALNUM, 37)}`),
  huggingface: (p) => plant(`hf_${p(ALNUM, 34)}`),
  langsmith: (p) => plant(`lsv2_pt_${p(HEX, 32)}_${p(HEX, 10)}`),
  'aws-key-id': (p) => plant(`${choose(p, ['AKIA', 'ASIA', 'AROA', 'AIDA'])}${p(UPNUM, 16)}`),
  github: (p) => plant(`gh${p('pousr', 1)}_${p(ALNUM, 36)}`),
  'github-fine-grained': (p) => plant(`github_pat_${p(ALNUM, 22)}_${p(ALNUM, 59)}`),
  gitlab: (p) => plant(`glpat-${p(URLSAFE, 16)}${p(ALNUM, 6)}`),
  slack: (p) => plant(`xoxb-${p(HEX.slice(0, 10), 12)}-${p(HEX.slice(0, 10), 13)}-${p(ALNUM, 24)}`),
  'slack-webhook': (p) => {
    const v = p(ALNUM, 24);
    return plant(`https://hooks.slack.com/services/T${p(UPNUM, 8)}/B${p(UPNUM, 8)}/${v}`, v);
  },
  'teams-webhook': (p) =>
    around(`https://acme.webhook.office.com/webhookb2/${guid(p)}@${guid(p)}/IncomingWebhook/`, p(HEX, 32), `/${guid(p)}`),
  'zapier-webhook': (p) => around(`https://hooks.zapier.com/hooks/catch/${p('0123456789', 7)}/`, p(LONUM, 5) + p(ALNUM, 6), '/'),
  'discord-webhook': (p) => plant(`https://discord.com/api/webhooks/${p('0123456789', 18)}/${p(URLSAFE, 60)}${p(ALNUM, 8)}`),
  'discord-bot': (p) => plant(`discord bot token M${p(ALNUM, 23)}.${p(ALNUM, 6)}.${p(ALNUM, 30)}`),
  'telegram-bot': (p) => plant(`https://api.telegram.org/bot${p('0123456789', 10)}:AA${p(URLSAFE, 25)}${p(ALNUM, 8)}/getMe`),
  'google-api': (p) => plant(`AIza${p(URLSAFE, 27)}${p(ALNUM, 8)}`),
  'google-oauth': (p) => plant(`ya29.${p(URLSAFE, 60)}${p(ALNUM, 8)}`),
  'google-client-secret': (p) => plant(`GOCSPX-${p(URLSAFE, 20)}${p(ALNUM, 8)}`),
  stripe: (p) => plant(`${choose(p, ['sk', 'rk'])}_live_${p(ALNUM, 24)}`),
  npm: (p) => plant(`npm_${p(ALNUM, 36)}`),
  pypi: (p) => plant(`pypi-AgEIcHlwaS5vcmc${p(URLSAFE, 70)}${p(ALNUM, 8)}`),
  rubygems: (p) => plant(`rubygems_${p(HEX, 48)}`),
  nuget: (p) => plant(`oy2${p(LONUM, 43)}`),
  clojars: (p) => plant(`CLOJARS_${p(LONUM, 60)}`),
  'docker-hub': (p) => plant(`dckr_pat_${p(URLSAFE, 19)}${p(ALNUM, 8)}`),
  sendgrid: (p) => plant(`SG.${p(URLSAFE, 22)}.${p(URLSAFE, 35)}${p(ALNUM, 8)}`),
  brevo: (p) => plant(`xkeysib-${p(HEX, 64)}-${p(ALNUM, 16)}`),
  mailgun: (p) => plant(`key-${p(HEX, 32)}`),
  mailchimp: (p) => plant(`${p(HEX, 32)}-us${p('123456789', 1)}${p('0123456789', 1)}`),
  twilio: (p) => plant(`SK${p(HEX, 32)}`),
  digitalocean: (p) => plant(`dop_v1_${p(HEX, 64)}`),
  shopify: (p) => plant(`shp${choose(p, ['at', 'ca', 'pa', 'ss'])}_${p(HEX, 32)}`),
  square: (p) => plant(`sq0atp-${p(URLSAFE, 14)}${p(ALNUM, 8)}`),
  'shippo-duffel': (p) => plant(`shippo_live_${p(HEX, 40)}`),
  atlassian: (p) => plant(`ATATT3${p(URLSAFE, 178)}${p(ALNUM, 8)}`),
  databricks: (p) => plant(`dapi${p(HEX, 32)}`),
  doppler: (p) => plant(`dp.pt.${p(ALNUM, 43)}`),
  dropbox: (p) => plant(`sl.${p(URLSAFE, 127)}${p(ALNUM, 8)}`),
  linear: (p) => plant(`lin_api_${p(ALNUM, 40)}`),
  notion: (p) => plant(`ntn_${p(ALNUM, 46)}`),
  postman: (p) => plant(`PMAK-${p(HEX, 24)}-${p(HEX, 34)}`),
  pulumi: (p) => plant(`pul-${p(HEX, 40)}`),
  sentry: (p) => plant(`sntrys_${p(ALNUM, 60)}`),
  grafana: (p) => plant(`glsa_${p(ALNUM, 32)}_${p(HEX, 8)}`),
  newrelic: (p) => plant(`NRAK-${p(UPNUM, 27)}`),
  vault: (p) => plant(`hvs.${p(URLSAFE, 82)}${p(ALNUM, 8)}`),
  terraform: (p) => plant(`${p(ALNUM, 14)}.atlasv1.${p(URLSAFE, 59)}${p(ALNUM, 8)}`),
  age: (p) => plant(`AGE-SECRET-KEY-1${p(UPNUM, 58)}`),
  flyio: (p) => plant(`fo1_${p(URLSAFE, 35)}${p(ALNUM, 8)}`),
  supabase: (p) => plant(`sbp_${p(HEX, 40)}`),
  planetscale: (p) => plant(`pscale_tkn_${p(URLSAFE, 35)}${p(ALNUM, 8)}`),
  tailscale: (p) => plant(`tskey-auth-${p(ALNUM, 12)}-${p(ALNUM, 30)}`),
  buildkite: (p) => plant(`bkua_${p(HEX, 40)}`),
  sourcegraph: (p) => plant(`sgp_${p(HEX, 40)}`),
  prefect: (p) => plant(`pnu_${p(ALNUM, 36)}`),
  readme: (p) => plant(`rdme_${p(LONUM, 70)}`),
  typeform: (p) => plant(`tfp_${p(URLSAFE, 51)}${p(ALNUM, 8)}`),
  netlify: (p) => plant(`nfp_${p(ALNUM, 36)}`),
  jfrog: (p) => plant(`AKCp${p(ALNUM, 69)}`),
  dynatrace: (p) => plant(`dt0c01.${p(UPNUM, 24)}.${p(UPNUM, 64)}`),
  mapbox: (p) => plant(`sk.eyJ${p(URLSAFE, 52)}${p(ALNUM, 8)}.${p(URLSAFE, 14)}${p(ALNUM, 8)}`),
  alibaba: (p) => plant(`LTAI${p(ALNUM, 20)}`),
  'azure-ad-client-secret': (p) => plant(`${p(ALNUM, 3)}${p('0123456789', 1)}Q~${p(ALNUM, 34)}`),
  'azure-sas-signature': (p) =>
    plant(`https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sig=${p(ALNUM, 40)}%2B${p(ALNUM, 6)}%3D`),
  jwt: (p) => plant(`eyJ${p(URLSAFE, 30)}${p(ALNUM, 6)}.eyJ${p(URLSAFE, 60)}${p(ALNUM, 6)}.${p(URLSAFE, 35)}${p(ALNUM, 8)}`),
};

const pem = (label: string, p: Pick) => {
  const lines = Array.from({ length: 4 }, () => p(`${ALNUM}+/`, 60) + p(ALNUM, 4));
  return plant(`-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----`, ...lines);
};
const b64 = (text: string) => Buffer.from(text).toString('base64');

/** Generic families: secrets known by the name, flag, URL or header that carries them. */
export const GENERIC_SAMPLES: Record<string, (p: Pick) => Planted> = {
  'json quoted key': (p) => {
    const v = p(ALNUM, 24);
    const key = choose(p, [
      'password',
      'token',
      'secret',
      'api_key',
      'apiKey',
      'private_key',
      'client_secret',
      'refresh_token',
      'access_token',
      'passwd',
    ]);
    return plant(`{"user": "deploy", "${key}": "${v}", "region": "eu-west-1"}`, v);
  },
  'env assignment': (p) => {
    const v = p(ALNUM, 20);
    const name = choose(p, [
      'SECRET_KEY',
      'ACCESS_KEY',
      'PRIVATE_KEY',
      'PASSWD',
      'PGPASSWORD',
      'DB_PASSWORD',
      'GITHUB_TOKEN',
      'AUTH_TOKEN',
    ]);
    return plant(`export ${name}=${v}\nnpm start`, v);
  },
  'yaml value': (p) => {
    const v = p(ALNUM, 18);
    return plant(`database:\n  user: app\n  password: ${v}\n  client_secret: '${v}x'`, v);
  },
  'mysql -p': (p) => {
    const v = p(ALNUM, 16);
    return plant(`mysql -u root -p${v} -h db appdb`, v);
  },
  'mysql -p, then more shell': (p) => {
    const v = p(ALNUM, 16);
    return plant(`mysqldump -u root -p${v} appdb && gzip appdb.sql`, v);
  },
  'password flag': (p) => {
    const v = p(ALNUM, 16);
    return plant(`psql --host db --password ${v} --dbname app`, v);
  },
  'HTTPie --auth': (p) => {
    const v = p(ALNUM, 15);
    return plant(`http --auth ci:${v} GET https://ci.internal/api/json`, v);
  },
  'echo piped to sudo -S': (p) => {
    const v = p(ALNUM, 16);
    return plant(`echo '${v}' | sudo -S systemctl restart app`, v);
  },
  'echo piped to a password-stdin login': (p) => {
    const v = p(ALNUM, 20);
    return plant(`echo ${v} | docker login -u robot --password-stdin registry.internal`, v);
  },
  'ldap bind password': (p) => {
    const v = p(ALNUM, 14);
    return plant(`ldapsearch -x -H ldap://dc1 -D cn=admin,dc=corp -w ${v} -b dc=corp uid=bob`, v);
  },
  'keytool store password': (p) => {
    const v = p(ALNUM, 14);
    return plant(`keytool -importcert -alias ca -file ca.pem -keystore app.jks -storepass ${v} -noprompt`, v);
  },
  'sqlplus user/password': (p) => {
    const v = p(ALNUM, 12);
    return plant(`sqlplus -s app/${v}@//db.internal:1521/ORCL @migrate.sql`, v);
  },
  'SQL identified by': (p) => {
    const v = p(ALNUM, 14);
    return plant(`CREATE USER 'app'@'%' IDENTIFIED BY '${v}';`, v);
  },
  'archive password': (p) => {
    const v = p(ALNUM, 12);
    return plant(`zip -q -P ${v} -r backup.zip data/`, v);
  },
  'htpasswd batch': (p) => {
    const v = p(ALNUM, 12);
    return plant(`htpasswd -b /etc/nginx/.htpasswd admin ${v}`, v);
  },
  'env line in a diff': (p) => {
    const v = p(ALNUM, 16);
    return plant(`@@ -1,2 +1,3 @@\n+DB_PASSWORD=${v}\n+REDIS_URL=redis://cache:6379\n APP=web`, v);
  },
  'env assignment, then shell': (p) => {
    const v = p(ALNUM, 18);
    return plant(`API_TOKEN=${v} ./deploy.sh && echo done`, v);
  },
  'markdown credential report': (p) => {
    const v = p(ALNUM, 14);
    return plant(`Created the user:\n- **Username**: admin\n- **Password**: \`${v}\``, v);
  },
  'kubernetes env entry': (p) => {
    const v = p(ALNUM, 16);
    return plant(`        env:\n        - name: DB_PASSWORD\n          value: "${v}"\n        - name: PORT`, v);
  },
  'xml password element': (p) => {
    const v = p(ALNUM, 14);
    return plant(`<server>\n  <id>nexus</id>\n  <username>deploy</username>\n  <password>${v}</password>\n</server>`, v);
  },
  'netrc entry': (p) => {
    const v = p(ALNUM, 16);
    return plant(`machine api.example.test\n  login bob\n  password ${v}`, v);
  },
  'session cookie': (p) => {
    const v = p(ALNUM, 26);
    return plant(`< Set-Cookie: sessionid=${v}; Path=/; HttpOnly; SameSite=Lax`, v);
  },
  'sshpass -p': (p) => {
    const v = p(ALNUM, 14);
    return plant(`sshpass -p ${v} ssh deploy@10.0.0.5`, v);
  },
  'curl -u': (p) => {
    const v = p(ALNUM, 15);
    return plant(`curl -s -u admin:${v} https://ci.internal/api/json`, v);
  },
  'docker login -p': (p) => {
    const v = p(ALNUM, 22);
    return plant(`docker login -u robot -p ${v} registry.internal`, v);
  },
  'url password': (p) => {
    const v = p(ALNUM, 16);
    return plant(`DATABASE_URL=postgres://app:${v}@db.internal:5432/prod`, v);
  },
  'url password, empty user': (p) => {
    const v = p(ALNUM, 16);
    return plant(`redis://:${v}@cache.internal:6379/0`, v);
  },
  'authorization header': (p) => {
    const v = p(ALNUM, 32);
    return plant(`curl -H "Authorization: token ${v}" https://api.example.test`, v);
  },
  'api key header': (p) => {
    const v = p(ALNUM, 32);
    return plant(`X-Api-Key: ${v}`, v);
  },
  'azure account key': (p) => {
    const v = `${p(`${ALNUM}+/`, 80)}${p(ALNUM, 6)}==`;
    return plant(
      `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${v};EndpointSuffix=core.windows.net`,
      v.slice(0, 40),
    );
  },
  'kubernetes secret data': (p) => {
    const a = b64(p(ALNUM, 18));
    const b = b64(p(ALNUM, 12));
    return plant(
      `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n  password: ${a}\n  username: ${b}\n`,
      a,
      b,
    );
  },
  'aws secret key without its name': (p) => {
    const v = p(`${ALNUM}+/`, 36) + p(ALNUM, 4);
    return plant(`Access key ID,Secret access key\nAKIA${p(UPNUM, 16)},${v}\n`, v);
  },
  'openssl pass': (p) => {
    const v = p(ALNUM, 16);
    return plant(`openssl enc -aes-256-cbc -in a -out b -pass pass:${v}`, v);
  },
  'token printed by its command': (p) => around('$ heroku auth:token\n', guid(p)),
  'ecr password printed': (p) =>
    around('$ aws ecr get-login-password\n\n', `eyJwYXlsb2FkIjoi${p(`${ALNUM}+/`, 120)}${p(ALNUM, 8)}`),
  'fish set or setx': (p) =>
    around(choose(p, ['set -gx GITHUB_TOKEN ', 'setx OPENAI_API_KEY ', 'set -Ux DB_PASSWORD ']), p(ALNUM, 18)),
  'redis-cli AUTH': (p) => around('127.0.0.1:6379> AUTH ', p(ALNUM, 16), '\nOK\n127.0.0.1:6379> KEYS *'),
  'query code': (p) =>
    around('curl "https://fn.azurewebsites.net/api/hook?code=', `${p(URLSAFE, 40)}${p(ALNUM, 8)}==`, '&name=ci"'),
  'webhook URL by name': (p) => around('WEBHOOK_URL=https://hooks.example.test/webhooks/123456/', p(ALNUM, 32)),
  'quoted password with a quote inside': (p) =>
    around('{"password": "', `${p(ALNUM, 6)}${choose(p, ["'", '\\"'])}${p(ALNUM, 8)}`, '"}'),
  'password starting with a symbol': (p) => around('DB_PASSWORD=', `${choose(p, ['$', '@', '%', '#'])}${p(ALNUM, 14)}`),
  'passphrase of several words': (p) =>
    around(choose(p, ['PASSPHRASE=', 'db:\n  password: ']), Array.from({ length: 4 }, () => p(LOWER, 5)).join(' '), '\nPORT=3'),
  'pem rsa': (p) => pem('RSA PRIVATE KEY', p),
  'pem ec': (p) => pem('EC PRIVATE KEY', p),
  'pem dsa': (p) => pem('DSA PRIVATE KEY', p),
  'pem pkcs8': (p) => pem('PRIVATE KEY', p),
  'pem encrypted': (p) => pem('ENCRYPTED PRIVATE KEY', p),
  'pem openssh': (p) => pem('OPENSSH PRIVATE KEY', p),
  'pem pgp': (p) => pem('PGP PRIVATE KEY BLOCK', p),
};

/** Where a secret sits in a rollout: user text, tool output, function-call arguments (JSON). */
export const CONTEXTS: Record<string, (text: string) => unknown> = {
  'user text': (text) => ({
    type: 'message',
    role: 'user',
    content: [{ type: 'input_text', text: `please use this:\n${text}\nthanks` }],
  }),
  'tool output': (text) => ({ type: 'function_call_output', call_id: 'call_1', output: `Exit code: 0\nOutput:\n${text}\n` }),
  'function-call arguments': (text) => ({
    type: 'function_call',
    name: 'shell',
    call_id: 'call_1',
    arguments: JSON.stringify({ command: ['bash', '-lc', text] }),
  }),
  // After another command: the secret's line starts right after a JSON-escaped newline (`…done\nmachine …`).
  'function-call arguments, after another line': (text) => ({
    type: 'function_call',
    name: 'shell',
    call_id: 'call_1',
    arguments: JSON.stringify({ command: ['bash', '-lc', `cd /srv/app\n${text}`] }),
  }),
};

/** Every family × `perFamily` random values, as [family, planted] pairs. */
export function generatedSecrets(perFamily: number, seed = 12): Array<[string, Planted]> {
  const pick = picker(randomSource(seed));
  const out: Array<[string, Planted]> = [];
  for (const [family, make] of [...Object.entries(FAMILY_SAMPLES), ...Object.entries(GENERIC_SAMPLES)]) {
    for (let i = 0; i < perFamily; i++) {
      const planted = make(pick);
      out.push([family, { text: planted.text, needles: planted.needles.filter((n) => n.length >= 8) }]);
    }
  }
  return out;
}

/** The needles of `planted` still readable in `output`, raw or JSON-escaped. */
export function leaked(planted: Planted, output: string): string[] {
  return planted.needles.filter(
    (n) => output.includes(n) || output.includes(JSON.stringify(n).slice(1, -1)) || output.includes(n.slice(-12)),
  );
}

/** Code and config that name secrets without holding one: references, types, placeholders. */
export const BENIGN_CODE: string[] = [
  // TypeScript / JavaScript
  'const client = new OpenAI({ apiKey: process.env.CODEMIE_API_KEY, baseURL });',
  'return createClient({ apiKey: params.litellmApiKey, timeout: 30_000 });',
  'litellmApiKey: isLiteLLM ? config.litellmApiKey : undefined,',
  "const llm = new ChatOpenAI({ apiKey: 'test-key', model: 'gpt-4o' });",
  "headers: { authorization: 'proxy-handled' },",
  "const apiKey = 'REDACTED_API_KEY';",
  'apiKey?: string;\npassword: string | undefined;\ntoken: z.string().min(20),',
  'const { accessToken, refreshToken } = await auth.refresh(session);',
  'this.accessToken = response.data.access_token;',
  "if (token === undefined) throw new Error('missing token');",
  'const headers = { Authorization: `Bearer ${token}`, "X-Api-Key": apiKey };',
  "const riskAssessmentSkipped = 'risk-assessment-and-mitigation-plan';",
  'password: await bcrypt.hash(input.password, 10),',
  "const secret = import.meta.env.VITE_SECRET ?? '';",
  'session_key: sessionKey,\nprimaryKey: true,\nkey: item.id,',
  'const url = `postgres://${user}:${password}@${host}:5432/${db}`;',
  // Python
  'api_key: Optional[str] = None\npassword: SecretStr = Field(..., min_length=8)',
  'client = OpenAI(api_key=os.environ["OPENAI_API_KEY"])',
  'token = os.getenv("GITHUB_TOKEN")\nsecret_key = settings.SECRET_KEY',
  'url = f"postgresql://{user}:{password}@{host}/{db}"',
  "headers = {'Authorization': f'Bearer {api_key}'}",
  'cache_key = f"user:{user_id}:profile"',
  // placeholders
  'OPENAI_API_KEY=your-api-key-here\nANTHROPIC_API_KEY=<your-anthropic-key>\nDB_PASSWORD=changeme',
  // Shell
  'export GITHUB_TOKEN=$(gh auth token)\nTOKEN="${GITHUB_TOKEN:-}"',
  'docker login -u "$REGISTRY_USER" -p "$REGISTRY_PASSWORD" registry.example.test',
  'mysql -u root -p appdb < dump.sql\ncurl -u "$USER:$TOKEN" https://api.github.com/user',
  'DATABASE_URL=postgres://app:${DB_PASSWORD}@localhost:5432/app',
  'codex --max-tokens 4096 --token-file ~/.config/token',
  'git clone git@github.com:openai/codex.git && git checkout 0f022a043b3f8ca67224e1c56d5b85e28a81b910',
  // YAML
  'env:\n  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef:\n        name: db-secret\n        key: password',
  'password: ${{ secrets.DB_PASSWORD }}\ntoken: {{ .Values.token }}\nmax_tokens: 4096\ntokenizer: o200k_base',
  'kind: ConfigMap\ndata:\n  LOG_LEVEL: debug\n  FEATURE_FLAGS: search,memories',
];
