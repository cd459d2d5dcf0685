// The `varde` command line. Each subcommand lives in cli/commands/<name>.ts and exports
// `register(program)`; add one line below for a new one.
import { readFileSync } from "node:fs";
import { Command } from "commander";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
const program = new Command("varde")
  .description("Varde: medication dispenser and alarm button firmware, simulator and gateway")
  .version(`varde ${pkg.version}`, "-V, --version", "print the version")
  .addHelpText("after", "\nEnvironment: VARDE_REGISTRY  registry file for provision, flash and probe (default ./registry.toml)\n             VARDE_DEBUG=1  stack traces and the Espruino tools' log (device keys masked)\nShell completion: varde completion bash|zsh (see docs/technician.md)");

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
  () => import("./commands/completion.ts"),
];
for (const load of commands) (await load()).register(program);

await program.parseAsync(process.argv);
