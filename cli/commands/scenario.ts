// `varde scenario <file.toml...>`: runs dispenser scenarios (simulator/scenarios/format.ts) on the real
// firmware bundle in virtual time and prints one line per scenario and a summary: scenario count,
// runs, simulated days, wall time, bundle size. Exit code 1 when any run fails; --log prints the
// events the virtual gateway stored for failing runs (or all runs with --log all). Exit code 2, before
// anything runs, for a file that does not parse, an empty folder or a --runs that is not a count.
import type { Command } from "commander";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { bundleFor, runScenarioFiles, summarize, type ScenarioResult } from "../../simulator/scenarios/runner.ts";
import { loadScenario, ScenarioError } from "../../simulator/scenarios/format.ts";

/** Files given, with folders expanded to their *.toml files. */
function expand(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) throw new ScenarioError(`${p}: no such scenario file or folder`);
    if (statSync(p).isDirectory()) {
      const files = readdirSync(p).filter((f) => f.endsWith(".toml")).sort().map((f) => join(p, f));
      if (files.length === 0) throw new ScenarioError(`${p}: no scenario files (*.toml) in this folder; give scenario files or a folder of them (e.g. test/scenarios)`);
      out.push(...files);
    } else out.push(p);
  }
  return out;
}

export function register(program: Command): void {
  program
    .command("scenario")
    .description("run dispenser scenarios (TOML) on the firmware bundle in the simulator, in virtual time")
    .argument("<files...>", "scenario .toml files or folders of them (e.g. test/scenarios)")
    .option("--runs <n>", "run at most n seeded variants of files with `runs = N`")
    .option("--log [which]", "print the stored events of failing runs (or 'all')")
    .action(async (paths: string[], opts: { runs?: string; log?: string | boolean }) => {
      let files: string[];
      // --runs must be a count: "abc", 0 or -1 would run nothing and still report "ok"
      if (opts.runs !== undefined && !/^[1-9]\d*$/.test(opts.runs)) {
        console.error(`varde scenario: --runs ${opts.runs}: give a whole number of runs, at least 1`);
        process.exitCode = 2;
        return;
      }
      try {
        files = expand(paths);
        for (const f of files) loadScenario(f); // validate every file before running any
      } catch (e) {
        console.error(`varde scenario: ${(e as Error).message}`);
        process.exitCode = 2;
        return;
      }
      const all: ScenarioResult[] = [];
      for (const f of files) {
        const sc = loadScenario(f);
        const rs = await runScenarioFiles([f], { to: opts.runs ? Number(opts.runs) : undefined });
        all.push(...rs);
        const s = summarize(rs);
        const mark = s.failed ? "FAIL" : "ok  ";
        const runs = rs.length > 1 ? ` (${rs.length} runs)` : "";
        console.log(`${mark} ${sc.name}${runs}: ${s.days.toFixed(1)} days, ${rs.reduce((a, r) => a + r.events, 0)} events, ${(s.wallMs / 1000).toFixed(2)} s`);
        for (const r of rs) {
          if (!r.ok) for (const m of r.failures) console.log(`       run ${r.run}: ${m}`);
          if ((!r.ok && opts.log) || opts.log === "all") console.log(r.log.map((l) => "       | " + l).join("\n"));
        }
      }
      const s = summarize(all);
      const boards = [...new Set(files.map((f) => loadScenario(f).board))];
      const sizes = await Promise.all(boards.map(async (b) => `${b} bundle ${Buffer.byteLength(await bundleFor(b))} bytes`));
      console.log(
        `${s.scenarios} scenarios, ${s.runs} runs, ${s.failed} failed, ${s.days.toFixed(1)} simulated days, ${(s.wallMs / 1000).toFixed(1)} s wall; ${sizes.join(", ")}`,
      );
      if (s.failed) process.exitCode = 1;
    });
}
