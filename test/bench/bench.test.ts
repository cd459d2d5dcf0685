// The short variant of `make bench`: every benchmark runs on a tiny scale and yields a finite positive
// ratio. No assertion on speed (performance is `make bench`'s business, never a test gate).
import { expect, it } from "vitest";
import { formatRows, runBench } from "./bench.ts";

it("every benchmark runs and reports a ratio against its baseline", async () => {
  const rows = await runBench(0.01);
  expect(rows.map((r) => r.name)).toEqual(["codec", "framing", "mac", "outbox", "simulator"]);
  for (const r of rows) expect(Number.isFinite(r.ratio) && r.ratio > 0).toBe(true);
  console.log(formatRows(rows));
}, 60_000);
