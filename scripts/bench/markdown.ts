// Markdown rendering helpers for the bench report.

/** `header` is the column names joined by ' | '. */
export function table(head: string, rows: Array<Array<string | number>>): string {
  const header = head.split(' | ');
  const cells = rows.map((r) => r.map((c) => String(c).replaceAll('|', '\\|')));
  const line = (r: string[]) => `| ${r.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...cells.map(line)].join('\n');
}

export const int = (n: number) => Math.round(n).toLocaleString('en-US');
export const ms = (n: number | null) => (n === null ? 'n/a' : `${int(n)} ms`);
export const secs = (n: number) => `${(n / 1000).toFixed(2)} s`;
export const pct = (n: number) => `${(n * 100).toFixed(1)} %`;
export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
export const kb = (bytes: number) => (bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : mb(bytes));
export const yes = (b: boolean) => (b ? 'yes' : 'no');
export const verdict = (ok: boolean) => (ok ? 'met' : '**not met**');
