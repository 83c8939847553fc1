// Polling for what happens after the answer (deliveries, log rows).

/** Calls `probe` until it returns a truthy value, or fails after `ms`. */
export async function eventually(probe, { ms = 15000, every = 100, what = "condition" } = {}) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last;
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs `task(i)` for i in [0, n), `width` at a time; their results in order. */
export async function inParallel(n, width, task) {
  let next = 0;
  const results = new Array(n);
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}
