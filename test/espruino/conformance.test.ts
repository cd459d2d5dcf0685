// The simulator is held to Espruino: every snippet in test/espruino/conformance/*.js prints the same on
// the simulator as on the real 2v29 interpreter, for the nRF52-sized build (Puck.js, board alarm-nrf52)
// and the ESP32-sized one (board dispenser-esp32). One interpreter run per build for all cases.
// Where they differ, the simulator is fixed (simulator/espruino/*); the few things it cannot reproduce
// are written next to the snippet that would show them.
// To see the differences while working on the simulator: node --import tsx test/espruino/conformance-diff.ts
import { beforeAll, describe, expect, it } from "vitest";
import { describeEspruino } from "../support/espruino.ts";
import { loadCases, program, runOnInterpreter, runOnSimulator, simBoardFor, splitOutput, type Case } from "./conformance.ts";

const cases: Case[] = loadCases();
const code = program(cases);

it("the snippet files parse into named cases and one program", () => {
  expect(cases.length).toBeGreaterThan(150);
  expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
  // the program is valid JavaScript (the real interpreter would only say "Uncaught SyntaxError")
  expect(() => new Function(code)).not.toThrow();
});

describeEspruino("simulator conformance with the real Espruino interpreter", () => {
  // both interpreters run at once (one qemu process each)
  const pending: Partial<Record<"nrf52" | "esp32", Promise<string>>> = {};
  beforeAll(() => {
    pending.nrf52 = runOnInterpreter(code, "nrf52");
    pending.esp32 = runOnInterpreter(code, "esp32");
    // a failure is reported by the build's own beforeAll; do not let the other one's rejection float
    for (const p of Object.values(pending)) p.catch(() => undefined);
  });
  for (const build of ["nrf52", "esp32"] as const) {
    describe(`${build} build (simulated ${simBoardFor(build).id})`, () => {
      let sim: ReturnType<typeof splitOutput>;
      let real: ReturnType<typeof splitOutput>;
      beforeAll(async () => {
        sim = splitOutput(runOnSimulator(code, simBoardFor(build)));
        real = splitOutput(await pending[build]!);
      }, 240_000);

      it("both ran every case to the end", () => {
        expect(real.complete, `the real interpreter stopped; before the first case: ${real.before}`).toBe(true);
        expect(sim.complete, `the simulator stopped; before the first case: ${sim.before}`).toBe(true);
        expect([...real.cases.keys()]).toEqual(cases.map((c) => c.id));
      });

      for (const c of cases) {
        it(c.id, () => {
          expect(sim.cases.get(c.id), `simulator output of "${c.id}"`).toBe(real.cases.get(c.id));
        });
      }
    });
  }
});
