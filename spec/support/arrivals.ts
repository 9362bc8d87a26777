// An explicit event for tests that wait on a fake model: `signal()` from the handler, `await all` in
// the test, instead of polling a counter on a timer.
export function arrivals(times = 1): { signal(): void; all: Promise<void> } {
  let count = 0;
  let resolve = () => {};
  const all = new Promise<void>((r) => {
    resolve = r;
  });
  return {
    signal: () => {
      if (++count === times) resolve();
    },
    all,
  };
}
