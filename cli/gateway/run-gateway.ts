// `varde gateway`: the gateway in the foreground, as systemd runs it (deploy/varde-gateway.service).
//   stdout  readable lines (cli/output/readable.ts): one per event, change of state and cause; --quiet: none
//   log     the structured log (pino): to [log] file when set, else to standard error — as JSON, or
//           --log-format pretty. On a terminal without [log] file it is not kept unless --log-format is
//           given: the readable lines already show every warning and error, with their causes.
// Signals: SIGHUP opens [log] file again (logrotate); a second SIGTERM/SIGINT during the stop exits at once.
// Exit codes: 0 after a graceful stop (SIGTERM, SIGINT); 2 when it cannot start (configuration, a port in
// use, the data directory locked by another gateway, a log file it cannot write). A start-up failure is
// fatal: the process exits instead of staying up doing nothing, so a service manager sees it fail.
// A reader of stdout that goes away (`| tee`, then Ctrl-C) does not stop the gateway or crash it
// (cli/output/printer.ts); the signal that came with it still stops it gracefully.
import pino from "pino";
import { loadConfig, startGateway, type GatewayHandle } from "../../gateway/index.ts";
import { openLogSink, type LogFormat, type LogSink } from "../output/log-sink.ts";
import { LinePrinter, clockTime } from "../output/printer.ts";
import { ReadableGatewayOutput } from "../output/readable.ts";
import { writeRunInfo } from "./run-info.ts";

export interface GatewayCliOptions {
  config: string;
  quiet?: boolean;
  logFormat?: string;
  /** streams (tests); default process.stdout / process.stderr */
  stdout?: NodeJS.WritableStream & { isTTY?: boolean };
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
  /** resolves when the gateway should stop (default: SIGTERM or SIGINT) */
  stopSignal?: Promise<string>;
  /** after start (tests) */
  onStarted?: (gw: GatewayHandle) => void;
}

/** The first SIGTERM/SIGINT stops gracefully; a second one during the stop exits at once. */
function signals(): Promise<string> {
  return new Promise((resolve) => {
    let got: string | null = null;
    const on = (sig: string) => {
      if (got) {
        process.stderr.write(`varde gateway: ${sig} again during the stop: exiting now (nothing is lost: the outbox is on disk)\n`);
        process.exit(1);
      }
      got = sig;
      resolve(sig);
    };
    process.on("SIGTERM", () => on("SIGTERM"));
    process.on("SIGINT", () => on("SIGINT"));
  });
}

/** Runs the gateway until a stop signal; resolves with the exit code. */
export async function runGatewayCli(o: GatewayCliOptions): Promise<number> {
  const stdout = o.stdout ?? process.stdout;
  const stderr = o.stderr ?? process.stderr;
  const out = new LinePrinter(stdout as never);
  const err = new LinePrinter(stderr as never);
  const fatal = (m: string): number => {
    err.line(`varde gateway: ${m}`);
    return 2;
  };
  if (o.logFormat !== undefined && o.logFormat !== "json" && o.logFormat !== "pretty") return fatal(`--log-format ${o.logFormat}: use json or pretty`);
  // a signal during start-up must not kill the process half-way: it is honoured once the gateway runs
  const stopSignal = o.stopSignal ?? signals();

  let config;
  try {
    config = loadConfig(o.config);
  } catch (e) {
    return fatal((e as Error).message);
  }

  const readable = o.quiet ? null : new ReadableGatewayOutput((l) => out.line(`${clockTime()} ${l}`), { registry: config.registry, config: config.source });
  const logFile = config.log.file;
  const keepOnStderr = o.logFormat !== undefined || !stderr.isTTY || !readable;
  const format: LogFormat = (o.logFormat as LogFormat | undefined) ?? (!logFile && stderr.isTTY ? "pretty" : "json");
  let sink: LogSink;
  try {
    sink = openLogSink({ file: logFile ?? (keepOnStderr ? undefined : null), stream: stderr, format, onRecord: readable ? (r) => readable.log(r) : undefined, fileKey: `[log] file in ${config.source}` });
  } catch (e) {
    return fatal((e as Error).message);
  }

  let gw: GatewayHandle;
  try {
    gw = await startGateway(config, { logStream: sink as unknown as pino.DestinationStream, onBus: readable ? (e) => readable.bus(e) : undefined });
  } catch (e) {
    sink.close();
    return fatal((e as Error).message);
  }
  const dial = gw.listenPorts.length ? `; devices may dial tcp port ${gw.listenPorts.join(", ")}` : "";
  out.line(`${clockTime()} gateway ${config.gatewayId} running (config ${config.source}, pid ${process.pid}); broker ${gw.brokerUrl}${gw.metricsUrl ? `; status ${gw.metricsUrl}/status` : ""}${dial}; structured log: ${sink.where === "not kept" ? "not kept (add [log] file, or --log-format json|pretty for standard error)" : sink.where}`);
  const removeRunInfo = writeRunInfo(config.dataDir, { pid: process.pid, metrics: gw.metricsUrl, broker: gw.brokerUrl, config: config.source, started: new Date().toISOString() });
  o.onStarted?.(gw);
  const reopenLog = () => sink.reopen(); // logrotate (the unit's ExecReload sends SIGHUP)
  if (logFile && !o.stopSignal) process.on("SIGHUP", reopenLog);

  const sig = await stopSignal;
  readable?.mute();
  out.line(`${clockTime()} ${sig}: stopping gracefully (closing device links, publishing the offline state, closing the outbox)`);
  // a stop that hangs (a broker that never answers) must not keep a service manager waiting for ever
  const force = setTimeout(() => {
    err.line("varde gateway: graceful stop took more than 10 s; exiting (nothing is lost: the outbox is on disk)");
    process.exit(1);
  }, 10_000);
  force.unref();
  try {
    await gw.stop();
  } finally {
    clearTimeout(force);
    removeRunInfo();
    process.off("SIGHUP", reopenLog);
    sink.close();
  }
  out.line(`${clockTime()} gateway ${config.gatewayId} stopped`);
  return 0;
}
