// `varde gateway --config gateway.toml`: runs the gateway in the foreground — the same process code as the
// service (gateway/main.ts; systemd runs its compiled bundle, see deploy/varde-gateway.service).
// SIGTERM/SIGINT stop it gracefully; a SIGKILL loses nothing either (see gateway/store/store.ts).
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("gateway")
    .description("run the home gateway: device links → durable outbox → MQTT backend")
    .option("-c, --config <file>", "gateway configuration (TOML); example: examples/gateway.toml", "gateway.toml")
    .option("-q, --quiet", "do not print readable event lines on stdout (structured logs still go to [log] file, or stderr)")
    .action(async (opts: { config: string; quiet?: boolean }) => {
      const { runGatewayProcess } = await import("../../gateway/main.ts");
      await runGatewayProcess(opts);
    });
}
