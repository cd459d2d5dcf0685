// Prints where the simulator and the real interpreter disagree on the conformance snippets (a tool for
// working on the simulator; the test is conformance.test.ts).
//   node --import tsx test/espruino/conformance-diff.ts [nrf52|esp32] [snippet-file.js ...]
import { loadCases, program, runOnInterpreter, runOnSimulator, simBoardFor, splitOutput } from "./conformance.ts";

const args = process.argv.slice(2);
const build = args[0] === "esp32" || args[0] === "nrf52" ? (args.shift() as "nrf52" | "esp32") : "nrf52";
const cases = loadCases(args.length ? args : undefined);
const code = program(cases);
const sim = splitOutput(runOnSimulator(code, simBoardFor(build)));
const real = splitOutput(await runOnInterpreter(code, build));
let bad = 0;
for (const c of cases) {
  const a = sim.cases.get(c.id);
  const b = real.cases.get(c.id);
  if (a === b) continue;
  bad++;
  console.log(`--- ${c.id}\n  sim:  ${JSON.stringify(a)}\n  real: ${JSON.stringify(b)}`);
}
if (!real.complete) console.log(`real run incomplete; before: ${real.before}`);
if (!sim.complete) console.log(`sim run incomplete; before: ${sim.before}`);
console.log(`${cases.length - bad}/${cases.length} cases agree on ${build}`);
