// Every dispenser scenario in this folder, on the real firmware bundle in the simulator (virtual time).
// The 1,000 power-cut runs are split with power-cut.test.ts so the two files run on both cores; the
// pass-over cuts (power-cut-pass-over.toml) run there too.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bundleFor, runScenarioFiles, summarize, type ScenarioResult } from "../../simulator/scenarios/runner.ts";
import { loadScenario } from "../../simulator/scenarios/format.ts";
import { DIR, PASS_OVER, POWER_CUT, SPLIT } from "./split.ts";

const files = readdirSync(DIR).filter((f) => f.endsWith(".toml")).map((f) => join(DIR, f)).filter((f) => f !== POWER_CUT && f !== PASS_OVER);
const results: ScenarioResult[] = [];

describe("dispenser scenarios", () => {
  for (const file of files) {
    const sc = loadScenario(file);
    it(sc.name, async () => {
      const rs = await runScenarioFiles([file]);
      results.push(...rs);
      for (const r of rs) expect(r.failures, `${r.name}:\n${r.log.join("\n")}`).toEqual([]);
    });
  }
  it(`power cut while dispensing: seeded runs 0..${SPLIT - 1}`, async () => {
    const rs = await runScenarioFiles([POWER_CUT], { to: SPLIT });
    results.push(...rs);
    const bad = rs.filter((r) => !r.ok);
    expect(bad.map((r) => `run ${r.run}: ${r.failures.join("; ")}`)).toEqual([]);
    expect(rs.length).toBe(SPLIT);
  });
});

afterAll(async () => {
  const s = summarize(results);
  const bytes = Buffer.byteLength(await bundleFor("dispenser-esp32"));
  console.log(
    `scenarios: ${s.scenarios} files, ${s.runs} runs, ${s.days.toFixed(1)} simulated days, ${(s.wallMs / 1000).toFixed(1)} s wall, ` +
      `dispenser-esp32 bundle ${bytes} bytes`,
  );
});
