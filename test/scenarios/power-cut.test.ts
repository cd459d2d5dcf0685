// The second part of the 1,000 seeded power-cut runs (see scenarios.test.ts), on the other core, and
// the seeded cuts while the carousel passes a missed compartment (power-cut-pass-over.toml).
import { afterAll, expect, it } from "vitest";
import { runScenarioFiles, summarize, type ScenarioResult } from "../../simulator/scenarios/runner.ts";
import { loadScenario } from "../../simulator/scenarios/format.ts";
import { PASS_OVER, POWER_CUT, SPLIT } from "./split.ts";

const results: ScenarioResult[] = [];
const total = loadScenario(POWER_CUT).runs;
let released = 0;

it(`power cut while dispensing: seeded runs ${SPLIT}..${total - 1}`, async () => {
  const rs = await runScenarioFiles([POWER_CUT], { from: SPLIT });
  results.push(...rs);
  expect(rs.filter((r) => !r.ok).map((r) => `run ${r.run}: ${r.failures.join("; ")}`)).toEqual([]);
  expect(rs.length).toBe(total - SPLIT);
  expect(total).toBe(1000);
});

it("power cut while passing a missed compartment: released -> FAULT_DOSE_RELEASED and locked, else dispensed normally", async () => {
  const rs = await runScenarioFiles([PASS_OVER]);
  results.push(...rs);
  expect(rs.filter((r) => !r.ok).map((r) => `run ${r.run}: ${r.failures.join("; ")}\n${r.log.join("\n")}`)).toEqual([]);
  // both outcomes occur among the seeded cuts: the aligned instant is hit, and so is the rest of the move
  released = rs.filter((r) => r.log.some((l) => / Fault DoseReleased \(1\)$/.test(l))).length;
  expect(released).toBeGreaterThanOrEqual(10);
  expect(rs.length - released).toBeGreaterThanOrEqual(10);
  expect(rs.filter((r) => r.dispensed === (r.counts.DoseTaken ?? 0) + (r.log.some((l) => l.includes("DoseReleased (1)")) ? 1 : 0)).length).toBe(rs.length);
});

afterAll(() => {
  const s = summarize(results);
  console.log(`power cut runs: ${s.runs} (${released} released a missed dose, reported), never a double dose, never a lost event; ${(s.wallMs / 1000).toFixed(1)} s wall`);
});
