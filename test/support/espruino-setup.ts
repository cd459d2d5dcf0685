// vitest globalSetup: says ONCE per `vitest run` when the real-interpreter tier cannot run (the tests in
// it are then skipped by describeEspruino, or fail under CI). Silent when the interpreters are there.
import { findEspruino } from "./espruino.ts";

export default function setup(): void {
  const a = findEspruino();
  if (a.ok) return;
  const what = process.env.CI ? "FAILS under CI" : "did not run (skipped)";
  process.stdout.write(`real-Espruino test tier ${what}: ${a.why}\n`);
}
