// Secrets that a URL carries where no vendor prefix marks them: a query parameter whose name says little
// (`appid`, `code`, `sig`, `signature`) but whose value is a key or a signature, and a webhook's URL, whose path is
// its secret. Names that say `token`, `key` or `secret` are the named-value rule's.
import { ESC, REDACTED, type Rule, START } from './rule.ts';
import { isCodeOrPlaceholder, looksRandom } from './values.ts';

const decoded = (value: string): string =>
  value.replace(/%[0-9A-Fa-f]{2}/g, (hex) => String.fromCharCode(Number.parseInt(hex.slice(1), 16)));

/** Random enough to be a key or a signature: mixed letters and digits, a long hex run, or long base64. */
function keyLike(value: string): boolean {
  const text = decoded(value);
  if (looksRandom(text, 16) || /^[0-9a-f]{32,}$/i.test(text)) return true;
  return text.length >= 32 && /^[\w+/-]+=*$/.test(text) && /\d/.test(text) && /[A-Z]/.test(text) && /[a-z]/.test(text);
}

/**
 * `?appid=` (OpenWeather: 32 hex), `?code=` (Azure Functions, an OAuth code), `&sig=` (Azure SAS, Logic Apps),
 * `X-Amz-Signature=`, CloudFront's `Signature=`: only a random-looking value, so that `?code=200` stays.
 */
export const QUERY_SECRET: Rule = {
  hint: /[?&;](?:appid|code|sig|signature|x-amz-signature|x-goog-signature)=/i,
  re: /(?<=[?&;])(appid|code|sig|(?:x-(?:amz|goog)-)?signature)=([^&\s"'#\\<>\x60]{8,2048})/gi,
  to: (m: string, name: string, value: string) => {
    if (isCodeOrPlaceholder(value, name, '', true)) return m;
    const secret = name.toLowerCase() === 'appid' ? /^[0-9a-f]{32}$/i.test(value) : keyLike(value);
    return secret ? `${name}=${REDACTED}` : m;
  },
};

/** `WEBHOOK_URL=https://…/webhooks/…/<random>`, `"webhookUrl": "…"`: each random-looking segment of the path. */
export const WEBHOOK_URL: Rule = {
  hint: /webhook/i,
  re: new RegExp(
    String.raw`${START}[\w.-]{0,60}webhook[\w.-]{0,40}${ESC}["']?\s*[:=]\s*${ESC}["']?(https?:\/\/[^\s/"'\\<>\x60]{1,253})(\/[^\s"'\\<>\x60]{1,2048})`,
    'gi',
  ),
  to: (m: string, host: string, path: string) => {
    const kept = path.replace(/(?<=\/)[^/?#]{16,}(?=[/?#]|$)/g, (segment) => (keyLike(segment) ? REDACTED : segment));
    return kept === path ? m : m.slice(0, m.length - host.length - path.length) + host + kept;
  },
};

export const URL_RULES: Rule[] = [QUERY_SECRET, WEBHOOK_URL];
