// Secret redaction. Rollouts hold raw tool output (env dumps, config files, shell commands), and
// nothing we send to a model or write to disk may carry a credential. Rules, in order: private
// key blocks, Kubernetes Secret data, spec §2.8 rules 1-3, vendor token families
// (token-families.ts), then generic rules for URLs, headers, command flags and named values
// (which also play spec rule 4). A named value that is code or a placeholder is kept (values.ts).
//
// Every pattern is linear on hostile input: runs followed by more pattern are bounded, or start
// only where the run starts (a lookbehind on the run's own characters).
import { TOKEN_FAMILIES } from './token-families.ts';
import { isCodeOrPlaceholder, looksRandom } from './values.ts';

export const REDACTED = '[REDACTED_SECRET]';

/** Not inside a word; also right after a JSON escape (`\n`), as in function-call arguments. */
const START = String.raw`(?:(?<![A-Za-z0-9_-])|(?<=\\[nrtbf]))`;
const NL = String.raw`(?:\r?\n|(?:\\r)?\\n)`;

/** PEM private key blocks, found with indexOf so that many BEGINs without an END stay linear. A
 * block cut off before its END is redacted through the end of its base64 body. */
function redactPrivateKeys(text: string): string {
  if (!text.includes('PRIVATE KEY')) return text;
  const begin = /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/g;
  const endRe = /-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/g;
  let out = '';
  let last = 0;
  for (let m = begin.exec(text); m !== null; m = begin.exec(text)) {
    endRe.lastIndex = m.index + m[0].length;
    const end = endRe.exec(text);
    let stop = end === null ? 0 : end.index + end[0].length;
    if (end === null) {
      const body = /(?:[A-Za-z0-9+/=:\s-]|\\[nr])*/y;
      body.lastIndex = m.index + m[0].length;
      body.exec(text);
      stop = body.lastIndex;
    }
    out += text.slice(last, m.index) + REDACTED;
    last = begin.lastIndex = stop;
    if (end === null) break; // no END further on either
  }
  return last === 0 ? text : out + text.slice(last);
}

/** The values under `data:`/`stringData:` of a Kubernetes Secret (YAML block or JSON object). */
const K8S_DATA = new RegExp(
  String.raw`(?:(?<!\w)|(?<=\\n))((?:string)?[Dd]ata\\?["']?\s*:\s*)(\{[^{}]*\}|(?:${NL}[ \t]+[\w.-]+[ \t]*:[^\S\r\n]*[^\s\\]*)+)`,
  'g',
);
function redactKubernetesSecrets(text: string): string {
  if (!/kind\\?["']?\s*:\s*\\?["']?Secret\b/.test(text)) return text;
  return text.replace(
    K8S_DATA,
    (_m, head: string, body: string) => head + body.replace(/(:\s*\\?["']?)[^\s"'\\,}]+/g, (_v, sep: string) => sep + REDACTED),
  );
}

/** `hint`: a cheap test that every match passes, so that most texts skip `re`. */
type Rule = { hint: RegExp; re: RegExp; to: (match: string, ...args: any[]) => string };
const whole = (): string => REDACTED;
const literals = (hint: string): string =>
  hint
    .split('|')
    .map((l) => l.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('|');

/** Keeps `match` up to `value`, and the value too if it is code or a placeholder. */
function keepCode(match: string, value: string, name: string, after: string): string {
  if (isCodeOrPlaceholder(value, name, after)) return match;
  return match.slice(0, match.length - value.length) + REDACTED;
}
/** The few characters after a match, from a replacer's trailing (offset, text) arguments. */
function after(match: string, args: any[]): string {
  const offset = args[args.length - 2] as number;
  return (args[args.length - 1] as string).slice(offset + match.length, offset + match.length + 4);
}

/** Names whose value is a secret. Other names ending in `key` or `auth` need a random-looking value. */
const STRONG_NAME =
  /(?:^|[^a-z])pass$|(?:password|passwd|passphrase|pwd|secret|token|credentials?|creds|(?:api|access|secret|private|account|auth|client)[_-]?key)$/i;
/** The spec's bare names (rule 4), whose values need 8 characters. */
const SPEC_NAMES = new Set(['api_key', 'api-key', 'apikey', 'token', 'secret', 'password']);

/**
 * `name = value`, `name: value`, `"name": "value"`, `--name=value`, `X-Api-Key: value`. The match
 * starts at the name's last word; the whole name is read back from the text.
 */
const ASSIGNMENT: Rule = {
  hint: /pass|pwd|secret|token|key|cred|auth/i,
  re: new RegExp(
    String.raw`(?:passw(?:or)?d|passphrase|pass|pwd|secret|token|credentials?|creds|key|auth)\\?["'\x60]?\s*(?::=|=>|[:=])\s*\\?["'\x60]?` +
      String.raw`(?:(?<=["'\x60])([^"'\x60\\\r\n]+)|([^\s"'\x60\\,;(){}\[\]<>|]+))`,
    'gi',
  ),
  to: (m: string, quoted: string | undefined, plain: string | undefined, ...rest: any[]) => {
    const value = quoted ?? plain!;
    const offset = rest[rest.length - 2] as number;
    const prefix = /[\w.-]*$/.exec((rest[rest.length - 1] as string).slice(Math.max(0, offset - 64), offset))![0];
    const name = (prefix + /^[\w]+/.exec(m)![0]).replace(/^[-.]+/, '').toLowerCase();
    if (value.length < (SPEC_NAMES.has(name) ? 8 : 4) || (!STRONG_NAME.test(name) && !looksRandom(value))) return m;
    return keepCode(m, value, name, quoted === undefined ? after(m, rest) : '');
  },
};

/**
 * `--password value`: a flag and its value as separate words; prose (`--token flag`) is kept. What follows is
 * shell (`&& ls`, `| gzip`), not an expression the value takes part in, so it is not consulted.
 */
const FLAG: Rule = {
  hint: /passw|token|secret|key|cred/i,
  re: /(?<![\w-])--?[\w-]*(?:password|passwd|token|secret|api-?key|access-?key|auth-?key|credentials?)[ \t]+\\?["']?([^\s"'\\]+)/gi,
  to: (m: string, value: string) => (/^[A-Za-z]+$/.test(value) ? m : keepCode(m, value, '', '')),
};

/** Commands that take a password in a flag of their own, and that flag up to the value. */
const COMMAND_FLAGS: ReadonlyArray<readonly [string, string]> = [
  ['mysql|mysqldump|mysqladmin|mariadb|mariadb-dump', String.raw`-p(?=[^\s-])`],
  ['sshpass', String.raw`-p\s*`],
  ['(?:docker|podman|nerdctl|buildah|skopeo|oras|helm registry) login', String.raw`-p\s+`],
  ['mongo|mongosh|mongodump|mongorestore', String.raw`-p\s+`],
  ['redis-cli', String.raw`-a\s+`],
  ['sqlcmd|bcp', String.raw`-P\s*`],
  ['curl', String.raw`(?:-u|--user)\s*\\?["']?[^\s:"'\\]*:`],
  ['http|https|xh|xhs', String.raw`(?:-a|--auth)[\s=]*\\?["']?[^\s:"'\\]*:`],
  ['smbclient', String.raw`-U\s*\\?["']?[^\s%"'\\]*%`],
  ['openssl', String.raw`(?:-pass(?:in|out)?\s+pass:|-k\s+)`],
  ['ldapsearch|ldapadd|ldapmodify|ldapdelete|ldappasswd|ldapwhoami|ldapcompare|ldapmodrdn', String.raw`-w\s*`],
  ['keytool|jarsigner', String.raw`-(?:src|dest|new)?(?:store|key)pass\s+`],
  ['zip|unzip', String.raw`-P\s*`],
  ['7z|7za|7zz|7zr', String.raw`-p(?=[^\s-])`],
  ['lftp', String.raw`-u\s*\\?["']?[^\s,"'\\]*,`],
  ['az login', String.raw`-p\s+`],
  // -b takes the password from the command line: the third word after the flags, the second with -n (no file).
  ['htpasswd', String.raw`-(?=[A-Za-z]*b)(?![A-Za-z]*n)[A-Za-z]+\s+(?:-\S+\s+)*\S+\s+\S+\s+`],
  ['htpasswd', String.raw`-(?=[A-Za-z]*b)(?=[A-Za-z]*n)[A-Za-z]+\s+(?:-\S+\s+)*\S+\s+`],
  ['rabbitmqctl', String.raw`(?:add_user|change_password)\s+\S+\s+`],
  ['ssh-keygen', String.raw`-[NP]\s*`],
  // Windows: `net use \\host\share PASSWORD /user:name` or `/user:name PASSWORD` (not `*`, the prompt, nor a switch).
  ['net use', String.raw`(?:/user:\S+|\\\\\S+)\s+(?![/*])`],
  ['gh secret set', String.raw`(?:-b|--body)[\s=]+`],
];
// A command's flags end at its line: a newline, or its JSON escape `\n` in function-call arguments, so that one
// command's window never reaches into the next and hides the value of its own flag.
const COMMAND_FLAG: Rule = {
  hint: /mysql|mariadb|sshpass|login|mongo|redis-cli|sqlcmd|bcp|curl|http|xh|smbclient|openssl|ldap|keytool|jarsigner|zip|7z|lftp|htpasswd|rabbitmqctl|ssh-keygen|net use|gh secret/,
  re: new RegExp(
    String.raw`${START}(?:${COMMAND_FLAGS.map(([cmd, flag]) => String.raw`(?:${cmd})\b(?:[^\n;|&\\]|\\(?![nr])){0,200}?\s${flag}`).join('|')})\\?["']?([^\s"'\\]+)`,
    'g',
  ),
  to: (m: string, value: string) => keepCode(m, value, '', ''), // shell follows, as for FLAG
};

/** A password echoed into a command that reads it from its standard input: `echo PW | sudo -S …`. */
const PIPED: Rule = {
  hint: /sudo|chpasswd|passwd|password-stdin/,
  re: new RegExp(
    String.raw`${START}(?:echo|printf)(?:\s+-[neE]+)*(?:\s+\\?["']?%[^\s"'\\]*\\?["']?)?\s+\\?["']?([^\s"'\\|;&]+)` +
      String.raw`(?=\\?["']?\s*\|\s*(?:sudo\b[^\n|;&\\]{0,80}?\s-S\b|(?:sudo\s+)?chpasswd\b|(?:sudo\s+)?passwd\b[^\n|;&\\]{0,80}?--stdin\b|` +
      String.raw`[\w-]+(?:\s+[\w-]+)?\s+login\b[^\n|;&\\]{0,200}?--password-stdin\b))`,
    'g',
  ),
  to: (m: string, value: string) => keepCode(m, value, '', ''),
};

/** An Oracle logon, `sqlplus user/password@db`: the password goes, the connect string stays. */
const ORACLE_LOGON: Rule = {
  hint: /sqlplus|rman|expdp|impdp|sqlldr|dgmgrl/,
  re: new RegExp(
    String.raw`${START}(?:sqlplus|rman|expdp|impdp|sqlldr|dgmgrl)\b(?:\s+-\w+)*\s+\\?["']?[\w$#.-]+/([^\s@"'\\/]+)(?=@|\s|\\?["']|$)`,
    'g',
  ),
  to: (m: string, value: string) => keepCode(m, value, '', ''),
};

/** SQL that sets a password: `IDENTIFIED BY '…'`, `WITH [LOGIN] PASSWORD '…'`, `ALTER USER u PASSWORD '…'`. */
const SQL_PASSWORD: Rule = {
  hint: /identified|password/i,
  re: new RegExp(
    String.raw`\b(?:identified\s+(?:with\s+\w+\s+)?by|(?:with|login|encrypted|(?:user|role)\s+[\w"'\x60.@%-]{1,64})\s+password)` +
      String.raw`\s+\\?["'\x60]([^"'\x60\\\r\n]{1,256})(?=\\?["'\x60])`,
    'gi',
  ),
  to: (m: string, value: string) => keepCode(m, value, 'password', ''),
};

/** One rule per vendor family, tried only on texts that hold some family's hint. */
const FAMILY_RULES: Rule[] = TOKEN_FAMILIES.map(([, hint, re]) => ({
  hint: new RegExp(literals(hint)),
  re: new RegExp(`${START}(?:${re})(?![A-Za-z0-9])`, 'g'),
  to: whole,
}));
const ANY_FAMILY = new RegExp(TOKEN_FAMILIES.map(([, hint]) => literals(hint)).join('|'));

const SPEC_RULES: Rule[] = [
  // Not a spec rule: an AWS secret access key without its name, a random 40-character base64 run
  // in AWS context. First, while the key id that gives the context is still there.
  {
    hint: /aws|akia|asia|amazon/i,
    re: /(?:(?<![\w/+=-])|(?<=\\[nrt]))[A-Za-z0-9/+]{40}(?![\w/+=-])/g,
    to: (m: string) => (/[A-Z]/.test(m) && /[a-z]/.test(m) && looksRandom(m, 40) ? REDACTED : m),
  },
  // Spec §2.8 rules 1-3; rule 1 gained a leading boundary so that `risk-assessment…` stays a word.
  { hint: /sk-/, re: new RegExp(String.raw`${START}sk-[A-Za-z0-9]{20,}`, 'g'), to: whole },
  { hint: /AKIA/, re: /\bAKIA[0-9A-Z]{16}\b/g, to: whole },
  { hint: /bearer/i, re: /\bbearer\s+[A-Za-z0-9._-]{16,}\b/gi, to: () => `Bearer ${REDACTED}` },
];

const GENERIC_RULES: Rule[] = [
  // scheme://user:password@host, the user possibly empty: keep the user and the host.
  {
    hint: /:\/\/[^\s@/]*@/,
    re: /\b([a-z][a-z0-9+.-]{0,30}:\/\/[^\s:@/]{0,256}:)([^\s@/]{1,256})@/gi,
    to: (m: string, head: string, pw: string) => (isCodeOrPlaceholder(pw, 'password', '') ? m : `${head}${REDACTED}@`),
  },
  {
    hint: /authorization/i,
    re: /(?:(?<![\w-])|(?<=\\[nrtbf]))((?:proxy-)?authorization\\?["']?\s*[:=]\s*\\?["']?(?:(?:basic|token|bot|digest|apikey|key|bearer|oauth|ssws)\s+)?)([^\s"'\\,;]{8,})/gi,
    to: (m: string, _head: string, value: string, ...rest: any[]) => keepCode(m, value, '', after(m, rest)),
  },
  COMMAND_FLAG,
  PIPED,
  ORACLE_LOGON,
  SQL_PASSWORD,
  FLAG,
  ASSIGNMENT,
];

const applyAll = (text: string, rules: Rule[]): string =>
  rules.reduce((out, { hint, re, to }) => (hint.test(out) ? out.replace(re, to) : out), text);

/** A text that passes neither test holds no match of any rule (a JSON text neither, once parsed). */
const MAY_HOLD_SECRET = new RegExp(
  `${[...SPEC_RULES, ...GENERIC_RULES].map((rule) => rule.hint.source).join('|')}|private key|kind`,
  'i',
);
const mayHoldSecret = (text: string): boolean => MAY_HOLD_SECRET.test(text) || ANY_FAMILY.test(text);

/** Replaces credentials in `text` with `[REDACTED_SECRET]`. */
export function redactSecrets(text: string): string {
  if (text.length < 8 || !mayHoldSecret(text)) return text;
  let out = applyAll(redactKubernetesSecrets(redactPrivateKeys(text)), SPEC_RULES);
  if (ANY_FAMILY.test(out)) out = applyAll(out, FAMILY_RULES);
  return applyAll(out, GENERIC_RULES);
}

/** A JSON value serialized with every string inside it redacted. */
export function redactedJson(value: unknown): string {
  const json = JSON.stringify(value);
  return mayHoldSecret(json) ? JSON.stringify(redactDeep(value)) : json;
}

/** A copy of a JSON value with every string inside it redacted (object keys are kept). */
export function redactDeep<T>(value: T): T {
  return deep(value) as T;
}

function deep(value: unknown): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (Array.isArray(value)) return value.map(deep);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = deep(v);
    return out;
  }
  return value;
}
