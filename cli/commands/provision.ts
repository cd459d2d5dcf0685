// `varde provision --kind alarm|dispenser --board <id> [--registry f] [--label text] [--id n]`
import type { Command } from "commander";
import { provisionDevice } from "../tech/provision.ts";
import { DEFAULT_REGISTRY } from "../tech/defaults.ts";
import { actionOf } from "../tech/run.ts";

export function register(program: Command): void {
  program
    .command("provision")
    .description("create a device identity (id + secret key), append it to the registry and print its sticker code")
    .requiredOption("--kind <kind>", "alarm | dispenser")
    .requiredOption("--board <board>", "board id from hardware/ (e.g. alarm-esp32) or a path to a board .toml")
    .option("--registry <file>", "registry file the gateway reads (default: $VARDE_REGISTRY, else ./registry.toml)", DEFAULT_REGISTRY)
    .option("--label <text>", "free text for people, e.g. the patient's flat (the registry's label)", "")
    .option("--id <n>", "use this device id instead of the next free one", (v) => Number(v))
    .option("--json", "print the result as JSON (without the key)")
    .action(actionOf("provision", (opts: { kind: string; board: string; registry: string; label: string; id?: number; json?: boolean }) => {
      const p = provisionDevice({ registry: opts.registry, kind: opts.kind, board: opts.board, label: opts.label, id: opts.id });
      if (opts.json) {
        const { key: _key, ...pub } = p.entry;
        console.log(JSON.stringify({ ...pub, registry: opts.registry, sticker: p.sticker }));
      } else {
        console.log(`provisioned ${p.entry.kind} ${p.entry.id} on board ${p.entry.board}${p.entry.label ? ` (${p.entry.label})` : ""}`);
        console.log(`registry: ${opts.registry}`);
        console.log(`sticker:  ${p.sticker}   (write it on the device)`);
        console.log(`next:     varde flash --port <port> --board ${p.entry.board} --device ${p.entry.id} --registry ${opts.registry}`);
      }
    }));
}
