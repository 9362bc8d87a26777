// The error for a model server that could not be reached, naming the URL the person has to fix. The URL is shown
// without its query string or user info: a provider's query_params (or a pasted URL) can carry a key.
import { BadInputError, fetchFailureReason, RetryableError } from '../errors.ts';

/** Codes a person may not know by heart, in words; the code stays alongside for searching. */
const IN_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
};

/** `http://user:pw@host/v1?key=…` → `http://host/v1`; text that is no URL loses everything after `?`. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return url.replace(/[?#].*$/, '');
  }
}

/** `cause` is the connection error's cause (undici's), `fallback` its message when it has none. */
export function unreachableServer(baseURL: string, cause: unknown, fallback: string, error: Error): Error {
  const code = cause === undefined ? fallback : fetchFailureReason(cause);
  // A reason can quote the request URL whole (fetch does, for a URL with user info).
  const reason = IN_WORDS[code] ? `${IN_WORDS[code]} (${code})` : code.replace(/https?:\/\/\S+/g, displayUrl);
  const message = `could not reach the model server at ${displayUrl(baseURL)}: ${reason}`;
  // Node's fetch never dials some ports (1, 9, 25, …): no later attempt can succeed.
  if (code === 'bad port') return new BadInputError(message, { cause: error });
  return new RetryableError(message, { cause: error });
}
