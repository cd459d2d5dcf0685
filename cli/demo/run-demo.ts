// The demo: everything on this machine, no hardware, no broker to install.
//
//   alarm button (alarm-esp32: pseudo-terminal; alarm-nrf52: simulated BLE) ─┐
//   medication dispenser (dispenser-esp32: pseudo-terminal) ──────────────────┴→ gateway → embedded broker
//                                                                                  ↑ response centre
// Both devices run their real firmware bundles in the simulator; the gateway is the real one (sessions,
// SQLite outbox, embedded MQTT broker), started from a gateway.toml like any other. A small response
// centre on the backend contract prints what reaches the broker, acknowledges events, acknowledges
// alarms (by itself after --ack-after seconds, or by hand) and sends the dispenser its schedule.
//
// Scripted (no terminal, or --scripted): the alarm cycle (press → event → responder's ack → green LED),
// then the dose cycle (cli/demo/dispenser.ts: a dose reminded and taken, one reminded and missed), then
// it exits 0. Interactive: the dose cycle plays by itself; keys p = press the alarm button, t = a
// technician's test alarm, a = acknowledge the open alarm, d = another dose cycle, q = quit.
//
// Everything it writes stays in its log folder (default .varde/demo, the last run only), also after a
// failure: demo.log (this transcript), gateway.log (the gateway's structured log), alarm-console.log and
// dispenser-console.log (the devices' consoles), gateway.toml and registry.toml. While it runs,
// `varde status --config <folder>/gateway.toml` shows the gateway.
// Other views of the same broker (the reference backend console) start where the response centre does:
// one call with the DemoContext.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type pino from "pino";
import { buildFirmware } from "../../firmware/build/index.ts";
import { deviceBoards, loadBoard, type Board } from "../../hardware/boards.ts";
import { appendDevice, newDeviceKey } from "../../gateway/registry.ts";
import { startGateway, type GatewayHandle } from "../../gateway/index.ts";
import { openLogSink, type LogSink } from "../output/log-sink.ts";
import { clockTime } from "../output/printer.ts";
import { ReadableGatewayOutput } from "../output/readable.ts";
import { writeRunInfo } from "../gateway/run-info.ts";
import { ResponseCentre } from "./response-centre.ts";
import { watchAlarmLeds, type AlarmLedState } from "./alarm-indicator.ts";
import { startAlarmButton, type DemoAlarmButton } from "./alarm-button.ts";
import { runDoseCycle, startDispenser, type DemoDispenser } from "./dispenser.ts";

export interface DemoOptions {
  /** board of the alarm button (a board file with kind = "alarm") */
  board: string;
  /** run the scripted cycles and exit (default: when stdin is not a terminal) */
  scripted: boolean;
  /** responder acknowledges alarms after this many ms; null = only by hand (key a) */
  autoAckMs: number | null;
  /** give up a scripted step after this many ms */
  timeoutMs: number;
  /** fast-forward speed of the dispenser's clock between the moments that matter */
  speed: number;
  /** where the logs go; default .varde/demo in the repository (or the temp dir when that is read-only) */
  logDir?: string;
  print: (line: string) => void;
}

/** What another view of the demo (e.g. a backend console) needs to join it. */
export interface DemoContext {
  brokerUrl: string;
  gatewayId: string;
  registry: string;
  logDir: string;
  say: (who: string, text: string) => void;
}

export class DemoUsageError extends Error {}

export const ALARM_ID = 1001;
export const DISPENSER_ID = 1002;
const GATEWAY_ID = "demo-gw";
const DISPENSER_BOARD = "dispenser-esp32";
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Alarm boards the demo can run (every board file with kind = "alarm"). */
export function alarmBoards(): string[] {
  return deviceBoards().filter((b) => loadBoard(b).kind === "alarm");
}

function checkBoard(id: string): Board {
  const boards = alarmBoards();
  let board: Board;
  try {
    board = loadBoard(id);
  } catch {
    throw new DemoUsageError(`--board ${id}: no such board; the alarm button can be ${boards.join(" or ")}`);
  }
  if (board.kind !== "alarm") throw new DemoUsageError(`--board ${id} is a ${board.kind}, not an alarm button; the dispenser (${DISPENSER_BOARD}) is always in the demo, and --board chooses the alarm button: ${boards.join(" or ")}`);
  return board;
}

function prepareLogDir(wanted: string | undefined): string {
  const candidates = wanted ? [path.resolve(wanted)] : [path.join(ROOT, ".varde", "demo"), path.join(os.tmpdir(), `varde-demo-${process.getuid?.() ?? "user"}`)];
  for (const dir of candidates) {
    try {
      fs.rmSync(dir, { recursive: true, force: true }); // the last run only
      fs.mkdirSync(dir, { recursive: true });
      fs.accessSync(dir, fs.constants.W_OK);
      return dir;
    } catch (e) {
      if (wanted) throw new DemoUsageError(`--log-dir ${wanted}: cannot use it (${(e as Error).message})`);
    }
  }
  throw new DemoUsageError(`no writable folder for the demo's logs (tried ${candidates.join(", ")}); pass --log-dir`);
}

export async function runDemo(o: DemoOptions): Promise<number> {
  const alarmBoard = checkBoard(o.board); // a usage error throws before anything starts
  const dispenserBoard = loadBoard(DISPENSER_BOARD);
  const dir = prepareLogDir(o.logDir);
  const transcript = fs.openSync(path.join(dir, "demo.log"), "a");
  const print = (line: string) => {
    o.print(line);
    fs.writeSync(transcript, line + "\n");
  };
  const say = (who: string, text: string) => print(`${clockTime(Date.now(), true)} ${who.padEnd(10)} ${text}`);
  const problems: string[] = [];

  let alarm: DemoAlarmButton | null = null;
  let dispenser: DemoDispenser | null = null;
  let gw: GatewayHandle | null = null;
  let centre: ResponseCentre | null = null;
  let sink: LogSink | null = null;
  let removeRunInfo = () => undefined as void;
  let stopLeds: () => void = () => undefined;
  let cleaned = false;
  let readable: ReadableGatewayOutput | null = null;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    readable?.mute();
    stopLeds();
    await centre?.stop().catch(() => undefined);
    // the gateway first: devices that vanish under a running gateway are (rightly) reported as unplugged
    await gw?.stop().catch(() => undefined);
    await alarm?.close().catch(() => undefined);
    await dispenser?.close().catch(() => undefined);
    removeRunInfo();
    sink?.close();
  };
  // killed from outside (SIGTERM, or Ctrl-C when stdin is not a terminal): still stop socat, the
  // gateway and the broker; the logs stay
  const onSignal = () =>
    void cleanup().finally(() => {
      say("demo", `stopped by a signal; logs in ${dir}`);
      process.exit(130);
    });
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);

  const waitFor = async (cond: () => boolean, ms: number, what: string) => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out after ${Math.round(ms / 1000)} s waiting for ${what}${diagnosis()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const online = (id: number) => !!gw && (gw.core.status() as { devices: Array<{ id: number; online: boolean }> }).devices.some((d) => d.id === id && d.online);
  const diagnosis = (): string => {
    const parts: string[] = [];
    if (gw) {
      const st = gw.core.status() as { links: Array<{ name: string; device: number | null; up: boolean }> };
      parts.push(`gateway links: ${st.links.length ? st.links.map((l) => `${l.name}${l.device ? ` (device ${l.device})` : ""}${l.up ? "" : " handshaking"}`).join(", ") : "none"}`);
      parts.push(`devices online: ${[ALARM_ID, DISPENSER_ID].filter(online).join(", ") || "none"}`);
    }
    for (const [name, d] of [["alarm button", alarm?.dev], ["dispenser", dispenser?.dev]] as const)
      if (d?.errors.length) parts.push(`${name} firmware threw: ${d.errors[0].text}`);
    if (problems.length) parts.push(`gateway said: ${problems.slice(-3).join(" | ")}`);
    return parts.length ? `\n  ${parts.join("\n  ")}` : "";
  };

  try {
    const registry = path.join(dir, "registry.toml");
    const alarmKey = newDeviceKey();
    const dispenserKey = newDeviceKey();
    const created = new Date().toISOString();
    appendDevice(registry, { id: ALARM_ID, kind: "alarm", board: alarmBoard.id, key: alarmKey, label: "demo alarm button", created });
    appendDevice(registry, { id: DISPENSER_ID, kind: "dispenser", board: DISPENSER_BOARD, key: dispenserKey, label: "demo dispenser", created });
    say("demo", `logs and files of this run: ${dir}`);

    const [alarmFw, dispenserFw] = [await buildFirmware(alarmBoard.id, { noWrite: true }), await buildFirmware(DISPENSER_BOARD, { noWrite: true })];
    say("build", `${alarmBoard.id} firmware ${alarmFw.version}: ${alarmFw.bytes} bytes (budget ${alarmFw.budget})`);
    say("build", `${DISPENSER_BOARD} firmware ${dispenserFw.version}: ${dispenserFw.bytes} bytes (budget ${dispenserFw.budget})`);

    alarm = await startAlarmButton({ board: alarmBoard, dir, id: ALARM_ID, key: alarmKey, code: alarmFw.code, consoleLog: path.join(dir, "alarm-console.log") });
    say("link", `alarm button ${ALARM_ID}: ${alarm.link}`);
    dispenser = await startDispenser({ board: dispenserBoard, dir, id: DISPENSER_ID, key: dispenserKey, code: dispenserFw.code, consoleLog: path.join(dir, "dispenser-console.log"), say });
    say("link", `dispenser ${DISPENSER_ID}: serial over a pseudo-terminal pair (${dispenser.pty.devicePath} ⇄ ${dispenser.pty.hostPath})`);

    const config = path.join(dir, "gateway.toml");
    fs.writeFileSync(
      config,
      [
        `# written by varde demo; the same keys as examples/gateway.toml`,
        `gateway_id = "${GATEWAY_ID}"`,
        `registry = "registry.toml"`,
        `data_dir = "data"`,
        alarm.transportToml + dispenser.transportToml,
        `[mqtt]`,
        `embedded_port = 0   # the embedded broker on any free port`,
        `[metrics]`,
        `port = 0            # varde status --config ${config}`,
        `[session]`,
        `hello_retry_ms = 300`,
        `# the dispenser's clock runs ahead after its fast-forwards: no periodic time sync pulls it back`,
        `time_sync_s = 86400`,
        `[log]`,
        `file = "gateway.log"`,
        ``,
      ].join("\n"),
    );

    readable = new ReadableGatewayOutput(
      (l) => {
        if (/^(WARN|ERROR)|rejected/.test(l)) problems.push(l);
        say("gateway", l);
      },
      { registry, config },
    );
    const out = readable;
    sink = openLogSink({ file: path.join(dir, "gateway.log"), format: "json", onRecord: (r) => out.log(r) });

    const ledOf: { state: AlarmLedState } = { state: "idle" };
    stopLeds = watchAlarmLeds(alarm.dev, (s) => {
      ledOf.state = s;
      say("button", `LED: ${describeLed(s)}`);
    });
    // powered before the gateway opens their ports, as a device that is already plugged in
    alarm.dev.powerOn();
    say("button", `powered on (${alarmBoard.id}, device ${ALARM_ID})`);
    dispenser.dev.powerOn();
    dispenser.hw.applyInputs();
    say("dispenser", `powered on (${DISPENSER_BOARD}, device ${DISPENSER_ID}, ${dispenser.hw.compartments} compartments loaded)`);

    gw = await startGateway(config, { logStream: sink as unknown as pino.DestinationStream });
    gw.bus.on("event", (e) => out.bus(e));
    await alarm.attach(gw);
    removeRunInfo = writeRunInfo(gw.config.dataDir, { pid: process.pid, metrics: gw.metricsUrl, broker: gw.brokerUrl, config, started: new Date().toISOString() });
    say("gateway", `running; embedded broker at ${gw.brokerUrl}; status: node bin/varde.js status --config ${path.relative(process.cwd(), config) || config}`);

    const ctx: DemoContext = { brokerUrl: gw.brokerUrl, gatewayId: GATEWAY_ID, registry, logDir: dir, say };
    centre = await startResponseCentre(ctx, o.autoAckMs, print);

    const press = () => {
      say("patient", "presses the alarm button");
      alarm!.dev.button().press(300);
    };
    let cycles = 0;
    let cycleRunning = false;
    const doseCycle = async () => {
      cycleRunning = true;
      try {
        await waitFor(() => online(DISPENSER_ID), o.timeoutMs, `dispenser ${DISPENSER_ID}'s session with the gateway`);
        const r = await runDoseCycle({ dispenser: dispenser!, centre: centre!, device: DISPENSER_ID, version: ++cycles + 1, speed: o.speed, say, waitFor: (c, ms, what) => waitFor(c, Math.max(ms, o.timeoutMs / 2), what) });
        say("demo", `dose cycle done: ${r.reminded.length} reminders, dose taken (${r.taken.event.eventId}), dose missed (${r.missed.event.eventId}); the dispenser's clock is ${Math.round(dispenser!.paced.ahead / 60_000)} min ahead of yours`);
        return r;
      } finally {
        cycleRunning = false;
      }
    };

    if (o.scripted) {
      await waitFor(() => online(ALARM_ID), o.timeoutMs, `alarm button ${ALARM_ID}'s session with the gateway (${alarm.link})`);
      press();
      await waitFor(() => ledOf.state === "acknowledged", o.timeoutMs, 'the alarm button to show "acknowledged" (green)');
      const alarms = centre.events.filter((e) => e.event.type === "alarm");
      say("demo", `alarm cycle done: ${alarms.length} alarm event at the broker (QoS ${alarms[0]?.qos}, ${alarms[0]?.retain ? "retained" : "not retained"}), button shows "acknowledged"`);
      await doseCycle();
      say("demo", `done: both devices went through the real gateway and broker; logs in ${dir}`);
      return 0;
    }

    print(`\nkeys: p = press the alarm button   t = technician's test alarm   a = acknowledge the open alarm   d = another dose cycle   q = quit\n`);
    const background = (p: Promise<unknown>) => p.catch((e) => say("demo", `dose cycle failed: ${(e as Error).message}; logs in ${dir}`));
    void background(doseCycle());
    return await new Promise<number>((resolve) => {
      const stdin = process.stdin;
      stdin.setRawMode?.(true);
      stdin.resume();
      stdin.on("data", (b: Buffer) => {
        const k = b.toString();
        if (k === "p") press();
        else if (k === "t") void centre!.requestTestAlarm(ALARM_ID);
        else if (k === "a") void centre!.acknowledge();
        else if (k === "d") {
          if (cycleRunning) say("demo", "a dose cycle is running; d again when it is done");
          else void background(doseCycle());
        } else if (k === "q" || k === "\u0003") {
          stdin.setRawMode?.(false);
          stdin.pause();
          resolve(0);
        }
      });
    });
  } catch (e) {
    say("demo", `FAILED: ${(e as Error).message}`);
    say("demo", `logs kept in ${dir}: demo.log, gateway.log, alarm-console.log, dispenser-console.log`);
    return 1;
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
    await cleanup();
    fs.closeSync(transcript);
  }
}

/** The response centre on the demo's broker. Other backend views join the same way, with the same context. */
async function startResponseCentre(ctx: DemoContext, autoAckMs: number | null, print: (line: string) => void): Promise<ResponseCentre> {
  const centre = new ResponseCentre({ url: ctx.brokerUrl, gateway: ctx.gatewayId, autoAckMs, responder: "demo nurse", print: (l) => print(`${clockTime(Date.now(), true)} ${l}`) });
  await centre.start();
  ctx.say("centre", `response centre subscribed to varde/v1/${ctx.gatewayId}/#${autoAckMs !== null ? `; acknowledges alarms after ${autoAckMs / 1000} s` : "; acknowledge alarms with a"}`);
  return centre;
}

function describeLed(s: AlarmLedState): string {
  switch (s) {
    case "idle": return "off (idle)";
    case "sending": return "red blinking — sending the alarm";
    case "received": return "blue steady — the gateway has the alarm";
    case "acknowledged": return "green steady — a responder acknowledged: help is coming";
    case "no-response": return "red/blue alternating — no acknowledgement in time";
    case "cancelled": return "blue blinking — alarm cancelled";
    case "maintenance": return "blue + green — maintenance mode";
  }
}
