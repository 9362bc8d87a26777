// What every redaction rule is made of: a cheap hint, a linear pattern, and how a match is rewritten.
import { isCodeOrPlaceholder } from './values.ts';

export const REDACTED = '[REDACTED_SECRET]';

/** `hint`: a cheap test that every match passes, so that most texts skip `re`. */
export type Rule = { hint: RegExp; re: RegExp; to: (match: string, ...args: any[]) => string };

/** Not inside a word; also right after a JSON escape (`\n`), as in function-call arguments. */
export const START = String.raw`(?:(?<![A-Za-z0-9_-])|(?<=\\[nrtbf]))`;
export const NL = String.raw`(?:\r?\n|(?:\\r)?\\n)`;
/** Before a quote: none, or the backslashes of JSON escaped once, twice (`\\\"`) in a shell command's arguments. */
export const ESC = String.raw`\\{0,3}`;

/** The last word of a name whose value is a secret, for rules that find the name beside its value. */
export const SECRET_WORD = String.raw`(?:passw(?:or)?d|passphrase|secret|token|api_?key|access_?key|private_?key|credential)`;

export const whole = (): string => REDACTED;

/** `match` with `value`, its end, replaced by the marker. */
export const redactTail = (match: string, value: string): string => match.slice(0, match.length - value.length) + REDACTED;

/** Keeps `match` up to `value` (its end), and the value too if it is code or a placeholder. */
export function keepCode(match: string, value: string, name: string, after: string, literal = false): string {
  return isCodeOrPlaceholder(value, name, after, literal) ? match : redactTail(match, value);
}

/** The few characters after a match, from a replacer's trailing (offset, text) arguments. */
export function after(match: string, args: any[]): string {
  const offset = args[args.length - 2] as number;
  return (args[args.length - 1] as string).slice(offset + match.length, offset + match.length + 4);
}
