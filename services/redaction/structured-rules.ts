// Secrets known by the structure around them rather than by a `name = value`: a secret's name in a name field with
// its value beside it, an XML element, .netrc and .pgpass lines, a base64 PEM key, cookies, a token as a URL's
// user, and a password named in prose, in English or another language.
import { ESC, keepCode, REDACTED, type Rule, SECRET_WORD, START } from './rule.ts';
import { isCodeOrPlaceholder, looksRandom } from './values.ts';

const NAME = String.raw`[\w./-]{0,60}${SECRET_WORD}[\w.-]{0,40}`;
/** A value as ASSIGNMENT reads it: quoted up to its quote, or a bare word. */
const VALUE = String.raw`${ESC}["'\x60]?(?:(?<=["'\x60])([^"'\x60\\\r\n]+)|([^\s"'\x60\\,;(){}\[\]<>|]+))`;

/**
 * `name: DB_PASSWORD … value: x` (Kubernetes env, ECS, Azure app settings, SSM), `"db_password": {… "value": x}`
 * (terraform output), `<add key="DbPassword" value="x"/>`: the value of an entry whose name is a secret's.
 */
export const NAME_VALUE: Rule = {
  hint: /value/i,
  re: new RegExp(
    String.raw`(?:${START}(?:name|key)${ESC}["']?\s*[:=]\s*${ESC}["']?${NAME}|${SECRET_WORD}[\w.-]{0,40}${ESC}["']?\s*:\s*\{)` +
      String.raw`[^{}]{0,200}?${START}value${ESC}["']?\s*[:=]\s*${VALUE}`,
    'gi',
  ),
  to: (m: string, quoted: string | undefined, plain: string | undefined) => keepCode(m, quoted ?? plain!, 'password', '', true),
};

/** `<password>x</password>`, `<clientSecret>x</clientSecret>` (Maven settings.xml, .NET and Java configs). */
export const XML_ELEMENT: Rule = {
  hint: /<\/[\w:.-]*(?:passw|passphrase|secret|token|key|credential)/i,
  re: new RegExp(String.raw`<((?:[\w.-]{1,40}:)?[\w.-]{0,40}${SECRET_WORD}[\w.-]{0,40})>([^<>\s][^<>]{0,255})</\1>`, 'gi'),
  to: (m: string, tag: string, value: string) =>
    isCodeOrPlaceholder(value.trim(), 'password', '', true) ? m : `<${tag}>${REDACTED}</${tag}>`,
};

const SPACE = String.raw`(?:[ \t\r\n]|\\[nrt])+`;
/** A .netrc entry: `machine host login bob password x`, on one line or several. */
export const NETRC: Rule = {
  hint: /machine/,
  re: new RegExp(
    String.raw`${START}machine${SPACE}\S{1,256}?(?:${SPACE}(?:login|account)${SPACE}[^\s\\]{1,256})*${SPACE}password${SPACE}${ESC}["']?([^\s"'\\]+)`,
    'g',
  ),
  to: (m: string, value: string) => keepCode(m, value, 'password', '', true),
};

/** A .pgpass line, `host:port:database:user:password`, alone on its line. */
export const PGPASS: Rule = {
  hint: /:(?:\d+|\*):/,
  re: /(?:(?<![^\n])|(?<=\\n))[\w.*-]{1,253}:(?:\d{1,5}|\*):[\w.*-]{1,63}:[\w.*-]{1,63}:([^\s:\\]{6,256})(?=[ \t]*(?:\r?\n|\\n|$))/g,
  to: (m: string, value: string) => keepCode(m, value, 'password', '', true),
};

/** A PEM private key in base64 (kubeconfig `client-key-data`, a Secret's data): `LS0tLS1CRUdJTi` is `-----BEGIN `. */
export const BASE64_PRIVATE_KEY: Rule = {
  hint: /LS0tLS1CRUdJTi/,
  re: /LS0tLS1CRUdJTi[A-Za-z0-9+/]*={0,2}/g,
  to: (m: string) => (Buffer.from(m, 'base64').toString('latin1').includes('PRIVATE KEY') ? REDACTED : m),
};

const COOKIE_ATTRIBUTES = new Set(['path', 'domain', 'expires', 'max-age', 'samesite', 'httponly', 'secure', 'priority']);
/** A cookie value that can open a session: long, or letters and digits mixed. Preferences (`theme=dark`) stay. */
const sessionLike = (value: string) => value.length >= 16 || (value.length >= 8 && /\d/.test(value) && /[A-Za-z]/.test(value));

/** `Cookie:` / `Set-Cookie:` headers, `document.cookie = …`, `curl -b` / `--cookie`: each session-like value. */
export const COOKIE: Rule = {
  hint: /cookie|\s-b\s/i,
  re: new RegExp(
    String.raw`(${START}(?:set-)?cookie${ESC}["']?\s*[:=]\s*${ESC}["']?|${START}curl\b[^\n]{0,200}?\s(?:-b|--cookie)\s+${ESC}["']?)([^\r\n"'\\]{1,4096})`,
    'gi',
  ),
  to: (_m: string, head: string, pairs: string) =>
    head +
    pairs.replace(/([^\s;=,]+)=([^;\s,]+)/g, (pair, name: string, value: string) =>
      COOKIE_ATTRIBUTES.has(name.toLowerCase()) || !sessionLike(value) || isCodeOrPlaceholder(value, name, '', true)
        ? pair
        : `${name}=${REDACTED}`,
    ),
};

/** A token as a URL's user, without a password: `https://<token>@github.com/…`, a Sentry DSN's key. */
export const URL_USER_TOKEN: Rule = {
  hint: /:\/\/[\w-]{20,}@/,
  re: new RegExp(String.raw`${START}((?:https?|git|ssh|wss?):\/\/)([A-Za-z0-9_-]{20,256})@`, 'gi'),
  to: (m: string, scheme: string, user: string) =>
    looksRandom(user, 20) || /^[0-9a-f]{32,}$/i.test(user) ? `${scheme}${REDACTED}@` : m,
};

/** A table row of a secret's name and its value alone: `vault kv get`, PowerShell's `Get-ChildItem env:`, markdown. */
export const TABLE_ROW: Rule = {
  hint: /passw|passphrase|secret|token|key|credential|pwd/i,
  re: new RegExp(
    String.raw`(?:(?<![^\n])|(?<=\\n))[ \t|]*[\w.-]{0,60}(?:${SECRET_WORD}|pass|pwd)[\w.-]{0,40}(?:[ \t]{2,}|[ \t]*\|[ \t]*)` +
      String.raw`([^\s"'\x60\\|]{4,256})(?=[ \t|]*(?:\r?\n|\\[nr]|$))`,
    'gi',
  ),
  to: (m: string, value: string) => keepCode(m, value, 'password', '', true),
};

/** `password is x`, `Passwort: x`, `密码：x`: a password named in prose; the value must mix letters and digits. */
export const PROSE_PASSWORD: Rule = {
  hint: /passwor|passwd|mot de passe|contrase|senha|пароль|密码|口令|パスワード|비밀번호/i,
  re: new RegExp(
    String.raw`(?:passwor[dt]|passwd|mot de passe|contraseña|senha|пароль|密码|口令|パスワード|비밀번호)` +
      String.raw`\s*(?:[:：=]|\s(?:is|ist|est|es|é|was|war)\s)\s*${ESC}["'\x60「]?([^\s"'\x60\\,;，。、」]{6,256})`,
    'giu',
  ),
  to: (m: string, value: string) => (/\d/.test(value) && /\p{L}/u.test(value) ? keepCode(m, value, 'password', '', true) : m),
};

export const STRUCTURED_RULES: Rule[] = [
  BASE64_PRIVATE_KEY,
  NAME_VALUE,
  XML_ELEMENT,
  NETRC,
  PGPASS,
  COOKIE,
  URL_USER_TOKEN,
  TABLE_ROW,
  PROSE_PASSWORD,
];
