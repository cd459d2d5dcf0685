// `varde gateway --config gateway.toml`: runs the gateway in the foreground (systemd runs exactly
// this, see deploy/varde-gateway.service). SIGTERM/SIGINT stop it gracefully: links closed, offline
// state published, outbox flushed and closed. A SIGKILL loses nothing either (see gateway/outbox.ts).
import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("gateway")
    .description("run the home gateway: device links → durable outbox → MQTT backend")
    .option("-c, --config <file>", "gateway configuration (TOML); example: examples/gateway.toml", "gateway.toml")
    .option("-q, --quiet", "do not print readable event lines on stdout (structured logs still go to [log])")
    .action(async (opts: { config: string; quiet?: boolean }) => {
      const { startGateway } = await import("../../gateway/index.ts");
      let gw;
      try {
        // Structured logs go to stderr so stdout stays readable (one line per event).
        const pino = (await import("pino")).default;
        gw = await startGateway(opts.config, { logStream: pino.destination(2) });
      } catch (e) {
        console.error(`varde gateway: ${(e as Error).message}`);
        process.exitCode = 2;
        return;
      }
      if (!opts.quiet) gw.bus.on("event", (e: { text: string }) => console.log(`${new Date().toISOString().slice(11, 19)} ${e.text}`));
      console.log(`gateway ${gw.config.gatewayId} running; broker ${gw.brokerUrl}${gw.metricsUrl ? `; metrics ${gw.metricsUrl}/metrics` : ""}${gw.listenPorts.length ? `; devices may dial tcp port ${gw.listenPorts.join(", ")}` : ""}`);
      let stopping = false;
      const stop = async (sig: string) => {
        if (stopping) return;
        stopping = true;
        console.log(`${sig}: stopping gracefully`);
        const force = setTimeout(() => process.exit(1), 10_000);
        force.unref();
        await gw.stop();
        process.exit(0);
      };
      process.on("SIGTERM", () => void stop("SIGTERM"));
      process.on("SIGINT", () => void stop("SIGINT"));
    });
}
