// Secret redaction. Rollouts hold raw tool output (env dumps, config files, shell commands), and
// nothing we send to a model or write to disk may carry a credential. Rules, in order: private
// key blocks, Kubernetes Secret data, spec §2.8 rules 1-3, vendor token families
// (token-families.ts), then generic rules: URLs (url-rules.ts), headers, shell commands (command-rules.ts),
// terminal sessions (session-rules.ts), structures such as name fields, XML, cookies and prose
// (structured-rules.ts), code's arguments (code-rules.ts), passphrases of several words (passphrase-rule.ts) and
// named values (which also play spec rule 4). A value that is code or a placeholder is kept (values.ts).
//
// Every pattern is linear on hostile input: runs followed by more pattern are bounded, or start
// only where the run starts (a lookbehind on the run's own characters).
import { CODE_RULES } from './code-rules.ts';
import { COMMAND_RULES } from './command-rules.ts';
import { PASSPHRASE_LINE } from './passphrase-rule.ts';
import { SESSION_RULES } from './session-rules.ts';
import { after, ESC, keepCode, NL, REDACTED, type Rule, START, whole } from './rule.ts';
import { STRUCTURED_RULES } from './structured-rules.ts';
import { TOKEN_FAMILIES } from './token-families.ts';
import { URL_RULES } from './url-rules.ts';
import { isCodeOrPlaceholder, looksRandom } from './values.ts';

export { REDACTED } from './rule.ts';

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

const literals = (hint: string): string =>
  hint
    .split('|')
    .map((l) => l.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('|');

/** Names whose value is a secret. Other names ending in `key` or `auth` need a random-looking value. */
const STRONG_NAME =
  /(?:^|[^a-z]|pg)pass$|(?:^|[^a-z])pw$|(?:password|passwd|passphrase|pwd|psk|secret|token|credentials?|creds|key_base|(?:api|access|secret|private|account|auth|client)[_-]?key)$/i;
/** The spec's bare names (rule 4), whose values need 8 characters. */
const SPEC_NAMES = new Set(['api_key', 'api-key', 'apikey', 'token', 'secret', 'password']);

/**
 * A double-quoted value up to its closing quote, which carries the opening quote's backslashes (none in text,
 * more in escaped JSON) and no more: an apostrophe stays inside, and so does an escaped quote (`\"`, `\\\"`).
 */
const DOUBLE_QUOTED = String.raw`(?:[^"\\\r\n]|\\{1,7}"|\\{1,7}(?![\\"nr])){1,256}?(?<!\\)`;
/** A single-quoted value up to its closing quote, a double quote inside it. */
const SINGLE_QUOTED = String.raw`(?:[^'\\\r\n]|\\{1,7}"){1,256}`;

/**
 * `name = value`, `name: value`, `"name": "value"`, `--name=value`, `X-Api-Key: value`, `**Password**: value`. The
 * match starts at the name's last word; the whole name is read back from the text.
 */
const ASSIGNMENT: Rule = {
  hint: /pass|pwd|pw|psk|secret|token|key|cred|auth/i,
  re: new RegExp(
    String.raw`(?:passw(?:or)?d|passphrase|pass|pwd|pw|psk|secret|token|credentials?|creds|key_base|key|auth)` +
      String.raw`${ESC}["'\x60]?\*{0,2}\s*(?::=|=>|=|:(?!\/\/))\*{0,2}\s*` +
      String.raw`(?:(\\{0,3})"(${DOUBLE_QUOTED})(?=\1")|${ESC}'(${SINGLE_QUOTED})(?=${ESC}')|${ESC}["'\x60]?` +
      String.raw`(?:(?<=["'\x60])([^"'\x60\\\r\n]+)|((?:[^\s"'\x60\\,;(){}\[\]<>|&]|&(?![\w.-]+=))+)))`,
    'gi',
  ),
  to: (m: string, _esc, double?: string, single?: string, open?: string, plain?: string, ...rest: any[]) => {
    // An apostrophe and a space but no digit: prose (`"Don't share it"`), not a password.
    if (double?.includes("'") && /\s/.test(double) && !/\d/.test(double)) return m;
    const quoted = double ?? single ?? open;
    const value = quoted ?? plain!;
    const offset = rest[rest.length - 2] as number;
    const before = (rest[rest.length - 1] as string).slice(Math.max(0, offset - 64), offset);
    // Read back to the name's start; in JSON-escaped text the `n` of a `\n` before it is no part of it.
    const word = /[\w.-]*$/.exec(before)![0];
    const escaped = before.at(-word.length - 1) === '\\' && /^[nrtbf]/.test(word);
    const prefix = escaped ? word.slice(1) : word;
    const raw = (prefix + /^[\w]+/.exec(m)![0]).replace(/^[-.]+/, '');
    const name = raw.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase(); // dbPass reads as db_pass
    if (value.length < (SPEC_NAMES.has(name) ? 8 : 4) || (!STRONG_NAME.test(name) && !looksRandom(value))) return m;
    if (quoted !== undefined) return keepCode(m, value, name, '', true);
    // A .env or shell assignment (`DB_PASSWORD=x && npm start`): its value is text, and shell follows it, not
    // an operator of an expression; only a call or an index right after it makes it code.
    const next = after(m, rest);
    const shell = /^[A-Z][A-Z0-9_]*$/.test(raw) && /^\w+=/.test(m);
    return shell ? keepCode(m, value, name, /^[([]/.test(next) ? next : '', true) : keepCode(m, value, name, next);
  },
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
  ...URL_RULES,
  ...COMMAND_RULES,
  ...SESSION_RULES,
  ...STRUCTURED_RULES,
  ...CODE_RULES,
  PASSPHRASE_LINE,
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
