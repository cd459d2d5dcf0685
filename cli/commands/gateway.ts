// `varde gateway --config gateway.toml`: runs the gateway in the foreground (systemd runs exactly this,
// see deploy/varde-gateway.service); cli/gateway/run-gateway.ts says what goes where and the exit codes.
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("gateway")
    .description("run the home gateway: device links → durable outbox → MQTT backend")
    .option("-c, --config <file>", "gateway configuration (TOML); example: examples/gateway.toml", "gateway.toml")
    .option("-q, --quiet", "no readable lines on stdout (the structured log still goes to [log] file or stderr)")
    .option("--log-format <format>", "structured log as json or pretty (default: json; pretty on a terminal, where it is kept only with this option or [log] file)")
    .action(async (opts: { config: string; quiet?: boolean; logFormat?: string }) => {
      const { runGatewayCli } = await import("../gateway/run-gateway.ts");
      const code = await runGatewayCli(opts);
      // exit now: a failed start must not leave the process up doing nothing
      process.exit(code);
    });
}
