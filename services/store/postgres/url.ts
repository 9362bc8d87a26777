// A database URL fit for messages and logs. Apart from connection.ts so the command line can use it without loading pg.

/** `postgres://user:secret@host/db` → `postgres://user@host/db`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable url)';
  }
}
