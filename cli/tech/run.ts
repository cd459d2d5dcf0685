// Wraps a command action so an error reaches the technician as one readable line (no stack trace) and the
// process exits non-zero. Set VARDE_DEBUG=1 for the stack.
export function actionOf<A extends unknown[]>(name: string, fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      const err = e as Error;
      process.stderr.write(`varde ${name}: ${err.message}\n`);
      if (process.env.VARDE_DEBUG) process.stderr.write(`${err.stack}\n`);
      process.exitCode = 1;
    }
  };
}
