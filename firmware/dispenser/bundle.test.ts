// The dispenser bundle passes the Espruino check (buildFirmware runs it and throws on any unsupported
// construct) and fits the board's size budget; the size is printed.
import { expect, it } from "vitest";
import { buildFirmware } from "../build/index.ts";

it("dispenser-esp32 bundle passes the Espruino check and fits its budget", async () => {
  const r = await buildFirmware("dispenser-esp32", { noWrite: true });
  console.log(`dispenser-esp32 bundle: ${r.bytes} bytes of ${r.budget} (${Math.round((100 * r.bytes) / r.budget)}%)`);
  expect(r.bytes).toBeLessThanOrEqual(r.budget);
  expect(r.code).toContain("disp.st"); // it is the dispenser app
});
