// Secret redaction. The four rules of spec §2.8 are kept exactly (same matches, same replacements,
// same order among themselves); the vendor-specific shapes below are additions that run before
// them, because rollouts hold raw tool output (env dumps, config files, curl commands) and
// nothing we send to a model or write to disk may carry a credential.
//
// Every pattern is linear-time on hostile input: no nested or overlapping quantifiers; where a
// long run is followed by more pattern, the run is bounded or made atomic with the lookahead +
// back-reference idiom `(?=(X+))\1`, which JavaScript accepts in place of possessive quantifiers.

export const REDACTED = '[REDACTED_SECRET]';

/** `needs`: a literal (regex source, matched case-insensitively) that every match of `re` contains. */
type Rule = { re: RegExp; to: string | ((match: string, ...groups: string[]) => string); needs: string };

/** PEM private key blocks. Done with indexOf rather than a lazy regex so that many BEGIN
 * markers without an END cannot make the scan quadratic. A block whose END is missing (a cut-off
 * transcript) is redacted through the end of its base64 body. */
function redactPrivateKeys(text: string): string {
  const begin = /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----/g;
  const endRe = /-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----/g;
  let out = '';
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = begin.exec(text)) !== null) {
    endRe.lastIndex = m.index + m[0].length;
    const end = endRe.exec(text);
    let stop: number;
    if (end !== null) {
      stop = end.index + end[0].length;
    } else {
      const body = /(?:[A-Za-z0-9+/=\s]|\\[nr])*/y;
      body.lastIndex = m.index + m[0].length;
      body.exec(text);
      stop = body.lastIndex;
    }
    out += text.slice(last, m.index) + REDACTED;
    last = stop;
    begin.lastIndex = stop;
    if (end === null) break; // no END further on either
  }
  return last === 0 ? text : out + text.slice(last);
}

// Values of assignments stop at whitespace, quotes, backslashes (escaped JSON) and separators.
const VALUE = String.raw`[^\s"'\x60\\,;(){}\[\]<>]`;

// Values of identifier-style assignments that are code or placeholders, not credentials:
// references ($VAR, %VAR%), scalars, type names (`apiKey: string`), and dotted paths without
// digits (`process.env.API_KEY`, `config.password`). Real tokens with dots (ya29.a0Af…) have digits.
const NOT_A_SECRET =
  /^(?:[$%].*|\d+|true|false|null|none|nil|undefined|string|number|boolean|bool|str|int|any|unknown|object|optional|\*+|x+|\.+|[A-Za-z_$][A-Za-z_$]*(?:\.[A-Za-z_$][A-Za-z_$]*)+)$/i;

const EXTRA_RULES: Rule[] = [
  // scheme://user:password@host → keep the user and the host.
  {
    re: /\b([a-z][a-z0-9+.-]{0,30}:\/\/)([^\s:@/]{1,256}):([^\s@/]{1,256})@/gi,
    to: (_m, scheme, user) => `${scheme}${user}:${REDACTED}@`,
    needs: '://',
  },
  { re: /https:\/\/hooks\.slack\.com\/(?:services|workflows)\/[A-Za-z0-9_/-]+/g, to: REDACTED, needs: 'hooks\\.slack' },
  // JSON Web Tokens: header and payload are base64url JSON objects, so both start with eyJ.
  // Starts only at the beginning of a base64url run, so a long run is scanned once, not once
  // per 'eyJ' inside it.
  { re: /(?<![A-Za-z0-9_-])eyJ(?=([A-Za-z0-9_-]+))\1\.eyJ(?=([A-Za-z0-9_-]+))\2(?:\.[A-Za-z0-9_-]*)?/g, to: REDACTED, needs: 'eyj' },
  { re: /\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}/g, to: REDACTED, needs: 'gh[pousr]_' },
  { re: /\bgithub_pat_[A-Za-z0-9_]{22,}/g, to: REDACTED, needs: 'github_pat_' },
  { re: /\bglpat-[A-Za-z0-9_-]{20,}/g, to: REDACTED, needs: 'glpat-' },
  { re: /\bxox[abprs]-[A-Za-z0-9-]{10,}/g, to: REDACTED, needs: 'xox[abprs]-' },
  { re: /\bAIza[0-9A-Za-z_-]{35}/g, to: REDACTED, needs: 'aiza' },
  { re: /\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}/g, to: REDACTED, needs: '_(?:live|test)_' },
  { re: /\bnpm_[A-Za-z0-9]{36,}/g, to: REDACTED, needs: 'npm_' },
  // AWS temporary (STS) access key ids; spec rule 2 only knows the long-term AKIA prefix.
  { re: /\bASIA[0-9A-Z]{16}\b/g, to: REDACTED, needs: 'asia' },
  // Google OAuth access tokens and SendGrid keys.
  { re: /\bya29\.[0-9A-Za-z_-]{20,}/g, to: REDACTED, needs: 'ya29\\.' },
  { re: /\bSG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}/g, to: REDACTED, needs: 'sg\\.' },
  { re: /\bhf_[A-Za-z0-9]{30,}/g, to: REDACTED, needs: 'hf_' },
  // Anthropic and newer OpenAI keys contain '-' and '_', which rule 1 below does not cover.
  { re: /\bsk-(?:ant|proj|svcacct|admin)-[A-Za-z0-9_-]{16,}/g, to: REDACTED, needs: 'sk-' },
  // HTTP basic credentials.
  { re: /\b(Authorization\s*:\s*Basic\s+)[A-Za-z0-9+/=]{8,}/gi, to: (_m, head) => `${head}${REDACTED}`, needs: 'authorization' },
];

const SPEC_RULES: Rule[] = [
  // 1. OpenAI-style keys.
  { re: /sk-[A-Za-z0-9]{20,}/g, to: REDACTED, needs: 'sk-' },
  // 2. AWS access key ids.
  { re: /\bAKIA[0-9A-Z]{16}\b/g, to: REDACTED, needs: 'akia' },
  // 3. Bearer tokens; the keyword comes out as 'Bearer' whatever its case was.
  { re: /\bbearer\s+[A-Za-z0-9._-]{16,}\b/gi, to: `Bearer ${REDACTED}`, needs: 'bearer' },
];

const ASSIGNMENT_RULES: Rule[] = [
  // AWS secret access keys: 40 base64 characters after an aws secret key name.
  {
    re: /\b(aws_?secret_?(?:access_?)?key\\?["']?\s*[:=]\s*\\?["']?)[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])/gi,
    to: (_m, head) => `${head}${REDACTED}`,
    needs: 'secret',
  },
  // Env/config style: an identifier ENDING in a secret word (FOO_TOKEN, DB_PASSWORD, apiToken,
  // "client_secret": …). The bare words themselves are left to spec rule 4 and its 8-char minimum.
  // The value must not start like a reference ($VAR, <placeholder>, {{ template }}) and must not
  // be a function call.
  {
    re: new RegExp(
      String.raw`\b([A-Za-z0-9_]*[A-Za-z0-9][_.-]?` +
        String.raw`(?:token|secret|passwd|password|pwd|api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key|auth[_-]?key|credentials?)` +
        String.raw`\\?["']?\s*[:=]\s*\\?["']?)(?=(${VALUE}{4,}))\2(?!\()`,
      'gi',
    ),
    to: (m, head, value) => (NOT_A_SECRET.test(value!) ? m : `${head}${REDACTED}`),
    needs: 'token|secret|passw|pwd|(?:api|access|private|auth)[_-]?key|credential',
  },
  // 4. Secret assignments (spec): keep keyword, separator and opening quote.
  {
    re: /\b(api[_-]?key|apikey|token|secret|password)(\s*[:=]\s*)(["']?)[^\s"']{8,}/gi,
    to: (_m, key, sep, quote) => `${key}${sep}${quote}${REDACTED}`,
    needs: 'api[_-]?key|token|secret|password',
  },
];

// Text often arrives JSON-escaped: a function_call's `arguments` is a JSON string inside the
// rollout, and error reasons quote replies with JSON.stringify. There a secret follows a literal
// `\n` (backslash, n), so `\b` (between 'n' and 's') and "not after a word character" never match
// and `\nsk-proj-…` slipped through. A leading boundary also accepts "right after an escape".
const AFTER_ESCAPE = String.raw`(?<=\\[nrtbf])`;
function escapeAware(rule: Rule): Rule {
  const { source, flags } = rule.re;
  if (source.startsWith(String.raw`\b`)) return { ...rule, re: new RegExp(String.raw`(?:\b|${AFTER_ESCAPE})${source.slice(2)}`, flags) };
  const notAfterWord = String.raw`(?<![A-Za-z0-9_-])`;
  if (source.startsWith(notAfterWord)) {
    return { ...rule, re: new RegExp(String.raw`(?:${notAfterWord}|${AFTER_ESCAPE})${source.slice(notAfterWord.length)}`, flags) };
  }
  return rule;
}

const RULES = [...EXTRA_RULES, ...SPEC_RULES, ...ASSIGNMENT_RULES].map(escapeAware);

/**
 * Each rule's literal is tested before the rule runs. Most strings of a transcript hold none, and
 * a literal is found by a fast scan, while a rule's leading boundary (`(?:\b|(?<=\\[nrtbf]))`)
 * makes its own scan try every position (~15× slower). One scan for all the literals comes first.
 * spec/redaction.test.ts has, for each rule, an example without any other rule's literal.
 */
const NEEDS = RULES.map((rule) => new RegExp(rule.needs, 'i'));
const MAY_HOLD_SECRET = new RegExp(['private key', ...RULES.map((rule) => rule.needs)].join('|'), 'i');

/** The shortest text any rule can match ('abc_pwd=x1y2'-like assignments are the shortest). */
const MIN_SECRET_LENGTH = 8;

/** Replaces credentials in `text` with `[REDACTED_SECRET]`. */
export function redactSecrets(text: string): string {
  if (text.length < MIN_SECRET_LENGTH || !MAY_HOLD_SECRET.test(text)) return text;
  let out = redactPrivateKeys(text);
  for (let i = 0; i < RULES.length; i++) {
    const { re, to } = RULES[i]!;
    if (!NEEDS[i]!.test(out)) continue;
    re.lastIndex = 0;
    out = out.replace(re, to as (substring: string, ...args: string[]) => string);
  }
  return out;
}

/**
 * A JSON value serialized with every string inside it redacted: the text of
 * JSON.stringify(redactDeep(value)). When the serialized value holds none of the rules' literals,
 * neither does any string in it (JSON escapes none of their characters), so most rollout items
 * are serialized once and never copied.
 */
export function redactedJson(value: unknown): string {
  const json = JSON.stringify(value);
  return MAY_HOLD_SECRET.test(json) ? JSON.stringify(deep(value)) : json;
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
