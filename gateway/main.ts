// The gateway as a process: what systemd runs (deploy/varde-gateway.service → dist/gateway/varde-gateway.mjs,
// the esbuild bundle of gateway/bin.ts, see gateway/build.ts) and what `varde gateway` runs in a terminal.
//
//   * Logs: pino JSON to `[log] file` when the config names one (reopened on SIGHUP, for logrotate),
//     otherwise to standard error. Readable event lines go to standard output unless --quiet.
//   * Exit codes: 0 after a graceful stop (SIGTERM/SIGINT: links closed, offline state published, store
//     closed); 2 when it cannot start (bad config, port taken, unwritable data directory...) — the process
//     exits instead of lingering, so a service manager sees the failure and restarts it; 1 on a fatal
//     error while running (Node's default). A second signal during the stop exits at once.
//   * Standard output going away (`varde gateway | tee log`, then Ctrl-C kills tee first) is not an
//     error: the readable lines stop, the graceful stop goes on.
import * as fs from "node:fs";
import * as path from "node:path";
import pino from "pino";
import { loadConfig, type GatewayConfig } from "./config.ts";
import { startGateway, type GatewayHandle } from "./index.ts";

export interface ProcessOptions {
  config: string;
  quiet?: boolean;
}

export const USAGE = `usage: varde-gateway --config <gateway.toml> [--quiet]
  -c, --config <file>  gateway configuration (TOML); example: examples/gateway.toml
  -q, --quiet          no readable event lines on stdout (structured logs still go to [log] file or stderr)`;

/** Parses the process's arguments; throws with the usage on anything unknown. */
export function parseArgs(argv: string[]): ProcessOptions & { help?: boolean } {
  const o: ProcessOptions & { help?: boolean } = { config: "gateway.toml" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-c" || a === "--config") {
      const v = argv[++i];
      if (!v) throw new Error(`${a} needs a file\n${USAGE}`);
      o.config = v;
    } else if (a.startsWith("--config=")) o.config = a.slice("--config=".length);
    else if (a === "-q" || a === "--quiet") o.quiet = true;
    else if (a === "-h" || a === "--help") o.help = true;
    else throw new Error(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
  }
  return o;
}

/** The structured log's destination: [log] file (checked writable now, with an actionable error) or stderr. */
function logDestination(cfg: GatewayConfig): pino.DestinationStream & { reopen?: () => void } {
  const file = cfg.log.file;
  if (!file) return pino.destination({ dest: 2, sync: false });
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.closeSync(fs.openSync(file, "a"));
  } catch (e) {
    throw new Error(`${cfg.source}: key "log.file" = ${JSON.stringify(file)}: cannot write it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); make its directory writable by this user (the systemd unit provides /var/log/varde through LogsDirectory=varde), or remove the key to log to stderr`);
  }
  return pino.destination({ dest: file, mkdir: true, sync: false });
}

/** Runs the gateway until a signal; never returns normally (exits the process). */
export async function runGatewayProcess(opts: ProcessOptions): Promise<void> {
  let stdoutOpen = true;
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE" || e.code === "ERR_STREAM_DESTROYED") stdoutOpen = false; // reader gone (tee, head): keep running quietly
    else throw e;
  });
  const print = (line: string) => {
    if (stdoutOpen) process.stdout.write(line + "\n");
  };
  let gw: GatewayHandle;
  let dest: ReturnType<typeof logDestination> | undefined;
  try {
    const cfg = loadConfig(opts.config);
    dest = logDestination(cfg);
    gw = await startGateway(cfg, { logStream: dest });
  } catch (e) {
    (dest as { flushSync?: () => void } | undefined)?.flushSync?.();
    process.stderr.write(`varde gateway: ${(e as Error).message}\n`);
    process.exit(2); // not exitCode: a half-started gateway must not linger with handles open
  }
  const log = dest!;
  if (gw.config.log.file) process.on("SIGHUP", () => log.reopen?.());
  if (!opts.quiet) gw.bus.on("event", (e: { text: string }) => print(`${new Date().toISOString().slice(11, 19)} ${e.text}`));
  print(`gateway ${gw.config.gatewayId} running; broker ${gw.brokerUrl}${gw.metricsUrl ? `; metrics ${gw.metricsUrl}/metrics` : ""}${gw.listenPorts.length ? `; devices may dial tcp port ${gw.listenPorts.join(", ")}` : ""}${gw.config.log.file ? `; log ${gw.config.log.file}` : ""}`);
  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) {
      print(`${sig} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    print(`${sig}: stopping gracefully`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    try {
      await gw.stop();
    } finally {
      (log as { flushSync?: () => void }).flushSync?.();
      process.exit(0);
    }
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

/** Entry of the bundled process (gateway/bin.ts). */
export async function main(argv: string[]): Promise<void> {
  let o: ReturnType<typeof parseArgs>;
  try {
    o = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`varde gateway: ${(e as Error).message}\n`);
    process.exit(2);
  }
  if (o.help) {
    process.stdout.write(USAGE + "\n");
    return;
  }
  await runGatewayProcess(o);
}
