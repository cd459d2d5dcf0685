// `varde status --config gateway.toml`: the gateway's state for a person at the console — links,
// devices online/offline, outbox depth, broker connection. Reads the running gateway's /status; when it
// is not running, reads its outbox database instead (and says so). Exit code 0 running, 3 not running.
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("status")
    .description("show the gateway's links, devices, outbox and broker connection")
    .option("-c, --config <file>", "gateway configuration (TOML)", "gateway.toml")
    .option("--json", "print JSON instead of text")
    .action(async (opts: { config: string; json?: boolean }) => {
      const { loadConfig } = await import("../../gateway/config.ts");
      const { fetchStatus, offlineStatus, formatStatus } = await import("../../gateway/status.ts");
      let cfg;
      try {
        cfg = loadConfig(opts.config);
      } catch (e) {
        console.error(`varde status: ${(e as Error).message}`);
        process.exitCode = 2;
        return;
      }
      const r = (await fetchStatus(cfg)) ?? offlineStatus(cfg);
      console.log(opts.json ? JSON.stringify(r, null, 2) : formatStatus(r));
      process.exitCode = r.running ? 0 : 3;
    });
}
