// `varde status --config gateway.toml`: the gateway's state for a person at the console — links,
// devices online/offline, outbox depth, broker connection (how a running gateway is found:
// cli/gateway/status-of.ts). Exit code 0 running, 3 not running, 2 when the configuration cannot be read.
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("status")
    .description("show the gateway's links, devices, outbox and broker connection (exit 0 running, 3 not running)")
    .option("-c, --config <file>", "gateway configuration (TOML)", "gateway.toml")
    .option("--json", "print JSON instead of text")
    .action(async (opts: { config: string; json?: boolean }) => {
      const { loadConfig } = await import("../../gateway/config.ts");
      const { formatStatus } = await import("../../gateway/status.ts");
      const { statusOf } = await import("../gateway/status-of.ts");
      let cfg;
      try {
        cfg = loadConfig(opts.config);
      } catch (e) {
        console.error(`varde status: ${(e as Error).message}`);
        process.exitCode = 2;
        return;
      }
      const r = await statusOf(cfg);
      console.log(opts.json ? JSON.stringify(r, null, 2) : formatStatus(r));
      process.exitCode = r.running ? 0 : 3;
    });
}
