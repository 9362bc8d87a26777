// Secret redaction. The four rules of spec §2.8 are kept exactly (same matches, same replacements,
// same order among themselves); the vendor-specific shapes below are additions that run before
// them, because rollouts hold raw tool output (env dumps, config files, curl commands) and
// nothing we send to a model or write to disk may carry a credential.
//
// Every pattern is linear-time on hostile input: no nested or overlapping quantifiers; where a
// long run is followed by more pattern, the run is bounded or made atomic with the lookahead +
// back-reference idiom `(?=(X+))\1`, which JavaScript accepts in place of possessive quantifiers.

export const REDACTED = '[REDACTED_SECRET]';

/**
 * `needs`: literals (ASCII, lower case, matched case-insensitively) of which every match of `re`
 * contains at least one.
 */
type Rule = {
  re: RegExp;
  to: string | ((match: string, ...groups: string[]) => string);
  needs: string[];
  /**
   * Where a match can start: at most `max` characters before one of its literals, all of them in
   * `chars` (a character class). A rule with `lead` is only tried there, not at every position.
   */
  lead?: { chars: string; max: number };
};

/** `stem` followed by each of `suffixes`: the spellings of one keyword (api_key, api-key, apikey). */
const spellings = (stems: string[], suffixes: string[]) => stems.flatMap((stem) => suffixes.map((suffix) => stem + suffix));

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
    needs: ['://'],
    lead: { chars: '[A-Za-z0-9+.-]', max: 31 },
  },
  { re: /https:\/\/hooks\.slack\.com\/(?:services|workflows)\/[A-Za-z0-9_/-]+/g, to: REDACTED, needs: ['hooks.slack'] },
  // JSON Web Tokens: header and payload are base64url JSON objects, so both start with eyJ.
  // Starts only at the beginning of a base64url run, so a long run is scanned once, not once
  // per 'eyJ' inside it.
  { re: /(?<![A-Za-z0-9_-])eyJ(?=([A-Za-z0-9_-]+))\1\.eyJ(?=([A-Za-z0-9_-]+))\2(?:\.[A-Za-z0-9_-]*)?/g, to: REDACTED, needs: ['eyj'] },
  { re: /\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}/g, to: REDACTED, needs: spellings(['gh'], ['p_', 'o_', 'u_', 's_', 'r_']) },
  { re: /\bgithub_pat_[A-Za-z0-9_]{22,}/g, to: REDACTED, needs: ['github_pat_'] },
  { re: /\bglpat-[A-Za-z0-9_-]{20,}/g, to: REDACTED, needs: ['glpat-'] },
  { re: /\bxox[abprs]-[A-Za-z0-9-]{10,}/g, to: REDACTED, needs: spellings(['xox'], ['a-', 'b-', 'p-', 'r-', 's-']) },
  { re: /\bAIza[0-9A-Za-z_-]{35}/g, to: REDACTED, needs: ['aiza'] },
  { re: /\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}/g, to: REDACTED, needs: ['_live_', '_test_'] },
  { re: /\bnpm_[A-Za-z0-9]{36,}/g, to: REDACTED, needs: ['npm_'] },
  // AWS temporary (STS) access key ids; spec rule 2 only knows the long-term AKIA prefix.
  { re: /\bASIA[0-9A-Z]{16}\b/g, to: REDACTED, needs: ['asia'] },
  // Google OAuth access tokens and SendGrid keys.
  { re: /\bya29\.[0-9A-Za-z_-]{20,}/g, to: REDACTED, needs: ['ya29.'] },
  { re: /\bSG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}/g, to: REDACTED, needs: ['sg.'] },
  { re: /\bhf_[A-Za-z0-9]{30,}/g, to: REDACTED, needs: ['hf_'] },
  // Anthropic and newer OpenAI keys contain '-' and '_', which rule 1 below does not cover.
  { re: /\bsk-(?:ant|proj|svcacct|admin)-[A-Za-z0-9_-]{16,}/g, to: REDACTED, needs: ['sk-'] },
  // HTTP basic credentials.
  { re: /\b(Authorization\s*:\s*Basic\s+)[A-Za-z0-9+/=]{8,}/gi, to: (_m, head) => `${head}${REDACTED}`, needs: ['authorization'] },
];

const SPEC_RULES: Rule[] = [
  // 1. OpenAI-style keys.
  { re: /sk-[A-Za-z0-9]{20,}/g, to: REDACTED, needs: ['sk-'] },
  // 2. AWS access key ids.
  { re: /\bAKIA[0-9A-Z]{16}\b/g, to: REDACTED, needs: ['akia'] },
  // 3. Bearer tokens; the keyword comes out as 'Bearer' whatever its case was.
  { re: /\bbearer\s+[A-Za-z0-9._-]{16,}\b/gi, to: `Bearer ${REDACTED}`, needs: ['bearer'] },
];

const ASSIGNMENT_RULES: Rule[] = [
  // AWS secret access keys: 40 base64 characters after an aws secret key name.
  {
    re: /\b(aws_?secret_?(?:access_?)?key\\?["']?\s*[:=]\s*\\?["']?)[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])/gi,
    to: (_m, head) => `${head}${REDACTED}`,
    needs: ['secret'],
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
    needs: ['token', 'secret', 'passw', 'pwd', 'credential', ...spellings(['api', 'access', 'private', 'auth'], ['key', '_key', '-key'])],
    lead: { chars: '[A-Za-z0-9_.-]', max: Infinity },
  },
  // 4. Secret assignments (spec): keep keyword, separator and opening quote.
  {
    re: /\b(api[_-]?key|apikey|token|secret|password)(\s*[:=]\s*)(["']?)[^\s"']{8,}/gi,
    to: (_m, key, sep, quote) => `${key}${sep}${quote}${REDACTED}`,
    needs: ['token', 'secret', 'password', ...spellings(['api'], ['key', '_key', '-key'])],
    lead: { chars: '[]', max: 0 },
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
 * Most strings of a transcript hold no secret, and a rule's leading boundary
 * (`(?:\b|(?<=\\[nrtbf]))`) makes its own scan try every position. So one scan first finds where
 * every rule's literals are (literalsIn); a rule none of whose literals is there does not run, and
 * a rule with a `lead` is tried only near its literals (replaceNearLiterals). On the items phase 1
 * sends of the fixture rollouts this made redaction ~2.5× faster than a literal test and a full
 * scan per rule. spec/redaction.test.ts has, for each rule, an example without any other rule's
 * literal, and compares the result with every rule run over the whole text (redactWithEveryRule).
 */
const PRIVATE_KEY_NEEDS = ['private key'];
/** Bit 0: a private key marker; bit i + 1: RULES[i]. */
const NEEDS_BY_BIT = [PRIVATE_KEY_NEEDS, ...RULES.map((rule) => rule.needs)];
if (NEEDS_BY_BIT.length > 30) throw new Error('too many redaction rules for a 32-bit literal mask');
const LITERALS: Array<{ text: string; bits: number }> = [];
NEEDS_BY_BIT.forEach((needs, bit) => {
  for (const text of needs) {
    if (!/^[\x20-\x7e]+$/.test(text) || text !== text.toLowerCase()) throw new Error(`redaction literal ${text} is not lower-case ASCII`);
    const known = LITERALS.find((literal) => literal.text === text);
    if (known) known.bits |= 1 << bit;
    else LITERALS.push({ text, bits: 1 << bit });
  }
});
/** ASCII folded to lower case. */
const FOLD = Uint8Array.from({ length: 128 }, (_, c) => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c));
/** The literals that start with each ASCII character, either case. */
const STARTING_WITH: Array<Array<{ text: string; bits: number }>> = Array.from({ length: 128 }, (_, c) =>
  LITERALS.filter((literal) => literal.text.charCodeAt(0) === FOLD[c]),
);

function literalAt(text: string, at: number, literal: string): boolean {
  if (at + literal.length > text.length) return false;
  for (let j = 1; j < literal.length; j++) {
    const code = text.charCodeAt(at + j);
    if (code >= 0x80 || FOLD[code] !== literal.charCodeAt(j)) return false;
  }
  return true;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Finds the next place where some literal starts (irregexp's scan beats a loop over the text). */
const ANY_LITERAL = new RegExp(LITERALS.map((literal) => escapeRegExp(literal.text)).join('|'), 'gi');
const HOLDS_LITERAL = new RegExp(ANY_LITERAL.source, 'i');
/** Past this many places in one text, each rule not found yet gets a scan of its own. */
const MAX_LITERAL_HITS = 64;
/** Where literalsIn found literals last, and whose (rule bits); hitCount -1: too many to keep. */
const HIT_AT = new Int32Array(MAX_LITERAL_HITS);
const HIT_BITS = new Int32Array(MAX_LITERAL_HITS);
let hitCount = 0;

/** Which rules' literals `text` holds, as a bit mask (0: none, so no rule can match). */
function literalsIn(text: string): number {
  let mask = 0;
  hitCount = 0;
  ANY_LITERAL.lastIndex = 0;
  for (let m = ANY_LITERAL.exec(text); m !== null; m = ANY_LITERAL.exec(text)) {
    const at = m.index;
    if (hitCount === MAX_LITERAL_HITS) {
      hitCount = -1;
      return mask | literalsByRule(text, mask);
    }
    // The scan reports one literal per place; others may start at the same place or inside it,
    // so every literal starting here is checked, and the scan goes on from the next character.
    let here = 0;
    // Case-insensitive matching never pairs a non-ASCII character with an ASCII one, so `at` holds one.
    const starting = STARTING_WITH[text.charCodeAt(at)]!;
    for (let k = 0; k < starting.length; k++) {
      const literal = starting[k]!;
      if ((literal.bits & ~here) !== 0 && literalAt(text, at, literal.text)) here |= literal.bits;
    }
    HIT_AT[hitCount] = at;
    HIT_BITS[hitCount++] = here;
    mask |= here;
    ANY_LITERAL.lastIndex = at + 1;
  }
  return mask;
}

/** For a text full of literals (a long run of `TOKEN=`): a scan per rule not in `found` yet. */
function literalsByRule(text: string, found: number): number {
  let mask = found;
  const lower = text.toLowerCase(); // may turn non-ASCII into ASCII: a rule too many runs, no harm
  for (let bit = 0; bit < NEEDS_BY_BIT.length; bit++) {
    if (mask & (1 << bit)) continue;
    if (NEEDS_BY_BIT[bit]!.some((literal) => lower.includes(literal))) mask |= 1 << bit;
  }
  return mask;
}

type Replace = (substring: string, ...args: string[]) => string;

/** Each rule's regex, anchored (sticky), and its lead characters as a table, for replaceNearLiterals. */
const ANCHORED = RULES.map((rule) => {
  if (!rule.lead) return null;
  if (typeof rule.to === 'string' && rule.to.includes('$')) throw new Error('an anchored rule cannot use $ patterns');
  const chars = new RegExp(rule.lead.chars);
  return {
    sticky: new RegExp(rule.re.source, rule.re.flags.replace('g', '') + 'y'),
    lead: Uint8Array.from({ length: 128 }, (_, c) => (chars.test(String.fromCharCode(c)) ? 1 : 0)),
    max: rule.lead.max,
  };
});

/**
 * `text.replace(rule.re, rule.to)`, with the regex tried only where a match can start: near the
 * rule's literals found by the last literalsIn(text). Tried positions only go forward, so each is
 * tried once, and after a match the search goes on from its end, as replace does.
 */
function replaceNearLiterals(text: string, i: number): string {
  const { sticky, lead, max } = ANCHORED[i]!;
  const to = RULES[i]!.to;
  const bit = 1 << (i + 1);
  let out = '';
  let done = 0; // text before this is settled (copied or replaced)
  let next = 0; // the first start not tried yet
  for (let h = 0; h < hitCount; h++) {
    const at = HIT_AT[h]!;
    if (!(HIT_BITS[h]! & bit) || at < done) continue;
    const floor = Math.max(next, done, at - max);
    let start = at;
    while (start > floor) {
      const code = text.charCodeAt(start - 1);
      if (code >= 0x80 || lead[code] !== 1) break;
      start--;
    }
    for (let p = Math.max(start, next); p <= at; p++) {
      sticky.lastIndex = p;
      const m = sticky.exec(text);
      if (m === null) continue;
      out += text.slice(done, p) + (typeof to === 'string' ? to : to(m[0], ...(m.slice(1) as string[])));
      done = p + m[0].length;
      break;
    }
    next = Math.max(next, at + 1, done);
  }
  return done === 0 ? text : out + text.slice(done);
}

/** The shortest text any rule can match ('abc_pwd=x1y2'-like assignments are the shortest). */
const MIN_SECRET_LENGTH = 8;

/** Replaces credentials in `text` with `[REDACTED_SECRET]`. */
export function redactSecrets(text: string): string {
  if (text.length < MIN_SECRET_LENGTH) return text;
  let mask = literalsIn(text);
  if (mask === 0) return text;
  let out = mask & 1 ? redactPrivateKeys(text) : text;
  // A replacement can remove literals and add some (`[REDACTED_SECRET]` holds 'secret').
  if (out !== text) mask = literalsIn(out);
  for (let i = 0; i < RULES.length; i++) {
    if (!(mask & (1 << (i + 1)))) continue;
    const before = out;
    if (ANCHORED[i] !== null && hitCount >= 0) {
      out = replaceNearLiterals(out, i);
    } else {
      const { re, to } = RULES[i]!;
      re.lastIndex = 0;
      out = out.replace(re, to as Replace);
    }
    if (out !== before) mask = literalsIn(out);
  }
  return out;
}

/**
 * What redactSecrets means: every rule in order over the whole text, with no literal looked for
 * first. redactSecrets must give the same text (spec/redaction.test.ts compares them).
 */
export function redactWithEveryRule(text: string): string {
  let out = redactPrivateKeys(text);
  for (const { re, to } of RULES) {
    re.lastIndex = 0;
    out = out.replace(re, to as Replace);
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
  return HOLDS_LITERAL.test(json) ? JSON.stringify(deep(value)) : json;
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
