// Secrets in a terminal or protocol session's transcript, where no name stands beside them: a token that a
// command printed alone on the next line (`heroku auth:token`, `aws ecr get-login-password`), a password typed at
// redis-cli's prompt, and SMTP's AUTH exchanges.
import { NL, redactTail, type Rule, START } from './rule.ts';
import { isCodeOrPlaceholder } from './values.ts';

/** Commands whose output is a token or a stored secret, alone on its line. */
const PRINTERS = [
  String.raw`heroku[ \t]+(?:auth:token|config:get)`,
  String.raw`aws[ \t]+(?:ecr(?:-public)?[ \t]+get-login-password|codeartifact[ \t]+get-authorization-token|secretsmanager[ \t]+get-secret-value|ssm[ \t]+get-parameters?)`,
  String.raw`gcloud[ \t]+(?:auth[ \t]+(?:application-default[ \t]+)?print-(?:access|identity)-token|secrets[ \t]+versions[ \t]+access)`,
  String.raw`az[ \t]+(?:account[ \t]+get-access-token|keyvault[ \t]+secret[ \t]+show)`,
  String.raw`gh[ \t]+auth[ \t]+token`,
  String.raw`kubectl[ \t]+(?:create[ \t]+token|get[ \t]+secrets?)`,
  String.raw`vault[ \t]+(?:print[ \t]+token|kv[ \t]+get|read)`,
  String.raw`op[ \t]+read`,
  String.raw`security[ \t]+find-(?:generic|internet)-password`,
  String.raw`secret-tool[ \t]+lookup`,
  String.raw`openssl[ \t]+rand`,
].join('|');

/**
 * The next non-empty line after such a command, when it is one word: the command's own line may go on with flags
 * and a pipe, but not close a `$(…)` or an inline code span, whose output is not shown. A word needs digits or
 * mixed case, so that `Succeeded` or `done` stays.
 */
export const PRINTED_TOKEN: Rule = {
  hint: new RegExp(PRINTERS),
  re: new RegExp(
    String.raw`${START}(?:${PRINTERS})\b(?:[^\n\\)\x60]|\\(?![nr])){0,300}${NL}(?:[ \t]*${NL}){0,3}[ \t]*` +
      String.raw`([^\s"'\x60\\]{8,4096})(?=[ \t]*(?:${NL}|\\?["']|$))`,
    'g',
  ),
  to: (m: string, value: string) =>
    (/\d/.test(value) || (/[A-Z]/.test(value) && /[a-z]/.test(value))) && !isCodeOrPlaceholder(value, 'token', '', true)
      ? redactTail(m, value)
      : m,
};

const REDIS_PROMPT = /(?:[\w.-]{1,253}:\d{1,5}(?:\[\d{1,2}\])?|redis(?:[ \t][\w.:-]{1,260})?)>[ \t]*$/;
/** `127.0.0.1:6379> AUTH pw`, `AUTH user pw` at redis-cli's prompt (the match starts at AUTH, the prompt read back). */
export const REDIS_AUTH: Rule = {
  hint: />[ \t]*AUTH[ \t]/i,
  re: /(?<=>[ \t]{0,4})AUTH[ \t]+(?:[^\s"'\\]{1,256}[ \t]+)?\\?["']?([^\s"'\\]{1,256})/gi,
  to: (m: string, value: string, offset: number, text: string) =>
    REDIS_PROMPT.test(text.slice(Math.max(0, offset - 280), offset)) && !isCodeOrPlaceholder(value, 'password', '', true)
      ? redactTail(m, value)
      : m,
};

const BASE64 = String.raw`[A-Za-z0-9+/]{4,1024}={0,2}(?![\w+/=])`;
/** `AUTH PLAIN <base64>` (also on the line after a `334` reply): user and password, NUL-separated. */
export const SMTP_AUTH_PLAIN: Rule = {
  hint: /AUTH[ \t]+PLAIN/i,
  re: new RegExp(
    String.raw`${START}AUTH[ \t]+PLAIN(?:[ \t]+|[ \t]*${NL}[^\n\\]{0,12}334[ \t]*${NL}(?:(?:[CS]:|>)[ \t]*)?)(${BASE64})`,
    'gi',
  ),
  to: (m: string, value: string) => (Buffer.from(value, 'base64').toString('latin1').includes('\0') ? redactTail(m, value) : m),
};

/** AUTH LOGIN's answer to `334 UGFzc3dvcmQ6` (base64 of `Password:`): the password in base64. */
export const SMTP_LOGIN_PASSWORD: Rule = {
  hint: /334[ \t]+UGFzc3dvcmQ6/,
  re: new RegExp(String.raw`334[ \t]+UGFzc3dvcmQ6[ \t]*${NL}(?:(?:[CS]:|>)[ \t]*)?(${BASE64})`, 'g'),
  to: (m: string, value: string) => redactTail(m, value),
};

export const SESSION_RULES: Rule[] = [PRINTED_TOKEN, REDIS_AUTH, SMTP_AUTH_PLAIN, SMTP_LOGIN_PASSWORD];
