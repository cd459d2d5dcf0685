// Polling waits for tests that cross real processes, sockets and ptys (never a bound on speed: the
// timeout only turns a hang into a readable failure).

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves once `cond()` is true; throws after `ms` real milliseconds, naming what it waited for. */
export async function until(cond: () => boolean, ms: number, what: string, everyMs = 5): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms (real) waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Like until(), for a condition that must be fetched (an HTTP endpoint, a file): resolves with its last value. */
export async function untilAsync<T>(get: () => Promise<T>, ok: (v: T) => boolean, ms: number, what: string, everyMs = 50): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms (real) waiting for ${what} (last: ${JSON.stringify(v)?.slice(0, 300)})`);
    await sleep(everyMs);
  }
}
