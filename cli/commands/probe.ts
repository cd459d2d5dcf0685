// `varde probe --port <serial|tcp://host:port> [--registry f] [--json]`
import type { Command } from "commander";
import { DEFAULT_REGISTRY } from "../tech/defaults.ts";
import { actionOf } from "../tech/run.ts";
import { formatProbe, probeDevice } from "../tech/probe.ts";

export function register(program: Command): void {
  program
    .command("probe")
    .description("show a device's identity, firmware, schedule version, outbox, battery, clock and error flags")
    .requiredOption("--port <port>", "serial path (/dev/ttyUSB0, a simulator pty) or tcp://host:port")
    .option("--registry <file>", "registry file, to authenticate the device and show its sticker code and label (default: $VARDE_REGISTRY, else ./registry.toml)", DEFAULT_REGISTRY)
    .option("--baud <rate>", "serial baud rate", (v) => Number(v), 115200)
    .option("--json", "print the report as JSON (for scripts)")
    .action(
      actionOf("probe", async (o: { port: string; registry: string; baud: number; json?: boolean }) => {
        const r = await probeDevice({ port: o.port, registry: o.registry, baudRate: o.baud });
        console.log(o.json ? JSON.stringify(r) : formatProbe(r));
        if (r.mode === "firmware" && !r.verified) process.exitCode = 2;
      }),
    );
}
