// Thread ids become file names and map keys: a short, plain charset, never `.` or `..`. Plain code, not a schema:
// every claim checks one, and a command that claims nothing must not load the schema library.
const MAX_LENGTH = 128;
const PATTERN = /^(?!\.\.?$)[\w.:-]+$/;

/** Why `id` is not a thread id, or null when it is one. */
export function threadIdRefusal(id: unknown): string | null {
  if (typeof id !== 'string') return 'a thread id is a string';
  if (id.length > MAX_LENGTH) return `a thread id is at most ${MAX_LENGTH} characters`;
  if (!PATTERN.test(id)) return 'a thread id is made of A-Z a-z 0-9 _ . : -';
  return null;
}
