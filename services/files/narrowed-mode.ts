// Private files: what a mode allows beyond `allowed` is taken away, nothing is added. A folder the person made
// stricter (read-only) stays as they left it, and a write in it fails rather than succeed behind their back.

/** The mode to set so that `mode` allows no more than `allowed`; null when it already does. */
export function narrowedMode(mode: number, allowed: number): number | null {
  const bits = mode & 0o777;
  return (bits & ~allowed) === 0 ? null : bits & allowed;
}
