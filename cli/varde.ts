// The `varde` command line. Each subcommand lives in cli/commands/<name>.ts and exports
// `register(program)`; add one line below for a new one.
import { Command } from "commander";

const program = new Command("varde").description("Varde: medication dispenser and alarm button firmware, simulator and gateway");

const commands: Array<() => Promise<{ register: (p: Command) => void }>> = [
  // one line per command module, e.g. () => import("./commands/gateway.ts"),
  () => import("./commands/provision.ts"),
  () => import("./commands/flash.ts"),
  () => import("./commands/probe.ts"),
  () => import("./commands/gateway.ts"),
  () => import("./commands/backend.ts"),
  () => import("./commands/status.ts"),
  () => import("./commands/build.ts"),
  () => import("./commands/demo.ts"),
  () => import("./commands/sim.ts"),
  () => import("./commands/scenario.ts"),
  () => import("./commands/fhir.ts"),
];
for (const load of commands) (await load()).register(program);

await program.parseAsync(process.argv);
