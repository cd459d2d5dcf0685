// The second part of the 1,000 seeded power-cut runs (see scenarios.test.ts), on the other core.
import { afterAll, expect, it } from "vitest";
import { runScenarioFiles, summarize, type ScenarioResult } from "../../simulator/scenarios/runner.ts";
import { loadScenario } from "../../simulator/scenarios/format.ts";
import { POWER_CUT, SPLIT } from "./split.ts";

const results: ScenarioResult[] = [];
const total = loadScenario(POWER_CUT).runs;

it(`power cut while dispensing: seeded runs ${SPLIT}..${total - 1}`, async () => {
  const rs = await runScenarioFiles([POWER_CUT], { from: SPLIT });
  results.push(...rs);
  expect(rs.filter((r) => !r.ok).map((r) => `run ${r.run}: ${r.failures.join("; ")}`)).toEqual([]);
  expect(rs.length).toBe(total - SPLIT);
  expect(total).toBe(1000);
});

afterAll(() => {
  const s = summarize(results);
  console.log(`power cut runs: ${s.runs}, never a double dose, never a lost event; ${(s.wallMs / 1000).toFixed(1)} s wall`);
});
