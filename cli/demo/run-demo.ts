// The demo: everything on this machine, no hardware, no broker to install.
//   embedded MQTT broker (aedes) ← gateway ← real pseudo-terminal (socat) ← simulated alarm button
// running the real firmware bundle in real time, plus a small response centre that prints what reaches
// the broker and acknowledges alarms. Keys: p = press the button, t = a technician's test alarm (a
// command through the broker to the device, which raises an alarm marked as a test),
// a = acknowledge the last alarm by hand, q = quit. Without a terminal (CI, pipes) it runs one scripted
// press → event → acknowledgement cycle and exits 0 when the button shows "acknowledged".
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { buildFirmware } from "../../firmware/build/index.ts";
import { appendDevice, newDeviceKey } from "../../gateway/registry.ts";
import { startGateway, type GatewayHandle } from "../../gateway/index.ts";
import { RealtimeClock, SimDevice, openPtyPair, type PtyPair } from "../../simulator/index.ts";
import { ResponseCentre } from "./response-centre.ts";
import { watchAlarmLeds, type AlarmLedState } from "./alarm-indicator.ts";

export interface DemoOptions {
  board: string;
  /** run the scripted cycle and exit (default: when stdin is not a terminal) */
  scripted: boolean;
  /** responder acknowledges alarms after this many ms; null = only by hand (key a) */
  autoAckMs: number | null;
  /** give up the scripted cycle after this many ms */
  timeoutMs: number;
  print: (line: string) => void;
}

const DEVICE_ID = 1001;
const GATEWAY_ID = "demo-gw";

function stamp(): string {
  return new Date().toISOString().slice(11, 23);
}

export async function runDemo(o: DemoOptions): Promise<number> {
  const say = (who: string, text: string) => o.print(`${stamp()} ${who.padEnd(10)} ${text}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-demo-"));
  const key = newDeviceKey();
  const registry = path.join(dir, "registry.toml");
  appendDevice(registry, { id: DEVICE_ID, kind: "alarm", board: o.board, key, label: "demo alarm button", created: new Date().toISOString() });

  const fw = await buildFirmware(o.board, { noWrite: true });
  say("build", `${o.board} firmware ${fw.version}: ${fw.bytes} bytes (budget ${fw.budget})`);

  const pty: PtyPair = await openPtyPair(dir);
  say("link", `pseudo-terminal pair: device ${pty.devicePath} ⇄ gateway ${pty.hostPath}`);

  // The simulated button: flash holds the bundle and the identity written at provisioning.
  const clock = new RealtimeClock();
  const dev = new SimDevice({ board: o.board, clock, link: pty.device, rtc: "keep", name: "alarm-" + DEVICE_ID });
  dev.flash.write("varde.id", Buffer.from(JSON.stringify({ id: DEVICE_ID, key, kind: "alarm" })));
  dev.install(fw.code);

  const logFile = path.join(dir, "gateway.log");
  const toml = [
    `gateway_id = "${GATEWAY_ID}"`,
    `registry = "registry.toml"`,
    `data_dir = "data"`,
    `[[transport]]`,
    `type = "serial"`,
    `path = "${pty.hostPath}"`,
    `[mqtt]`,
    `embedded_port = 0`,
    `[metrics]`,
    `port = -1`,
    `[log]`,
    `file = "${logFile}"`,
  ].join("\n");
  fs.writeFileSync(path.join(dir, "gateway.toml"), toml + "\n");
  let gw: GatewayHandle | null = null;
  let centre: ResponseCentre | null = null;
  let ledState: AlarmLedState = "idle";
  let stopLeds: () => void = () => undefined;
  const cleanup = async () => {
    stopLeds();
    dev.powerOff();
    clock.stop();
    await centre?.stop().catch(() => undefined);
    await gw?.stop().catch(() => undefined);
    await pty.close();
  };
  // killed from outside (SIGTERM, or Ctrl-C when stdin is not a terminal): still stop socat and the broker
  const onSignal = () => void cleanup().finally(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  });
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  try {
    stopLeds = watchAlarmLeds(dev, (s) => {
      ledState = s;
      say("button", `LED: ${describeLed(s)}`);
    });
    dev.powerOn();
    say("button", `powered on (${o.board}, device ${DEVICE_ID})`);
    gw = await startGateway(path.join(dir, "gateway.toml"), { logStream: pino.destination({ dest: logFile, sync: false }) });
    say("gateway", `running; embedded broker at ${gw.brokerUrl}; structured log in ${logFile}`);
    gw.bus.on("event", (e: { text: string }) => say("gateway", e.text));

    centre = new ResponseCentre({ url: gw.brokerUrl, gateway: GATEWAY_ID, autoAckMs: o.autoAckMs, responder: "demo nurse", print: (l) => o.print(`${stamp()} ${l}`) });
    await centre.start();
    say("centre", `response centre subscribed to varde/v1/${GATEWAY_ID}/#${o.autoAckMs !== null ? `; acknowledges alarms after ${o.autoAckMs / 1000} s` : ""}`);

    const online = () => (gw!.core.status() as { devices: Array<{ id: number; online: boolean }> }).devices.some((d) => d.id === DEVICE_ID && d.online);
    const press = () => {
      say("patient", "presses the alarm button");
      dev.button().press(300);
    };
    const testAlarm = () => void centre!.requestTestAlarm(DEVICE_ID);

    if (o.scripted) {
      await waitFor(online, o.timeoutMs, "the device's session with the gateway");
      press();
      await waitFor(() => ledState === "acknowledged", o.timeoutMs, 'the button to show "acknowledged"');
      const alarms = centre.events.filter((e) => e.event.type === "alarm");
      say("demo", `done: ${alarms.length} alarm event(s) at the broker (QoS ${alarms[0]?.qos}, ${alarms[0]?.retain ? "retained" : "not retained"}), button shows "acknowledged"`);
      return 0;
    }
    o.print("\nkeys: p = press the button   t = technician's test alarm   a = acknowledge last alarm   q = quit\n");
    return await new Promise<number>((resolve) => {
      const stdin = process.stdin;
      stdin.setRawMode?.(true);
      stdin.resume();
      stdin.on("data", (b: Buffer) => {
        const k = b.toString();
        if (k === "p") press();
        else if (k === "t") testAlarm();
        else if (k === "a") {
          const last = [...centre!.events].reverse().find((e) => e.event.type === "alarm" && !e.event.envelope?.alarm?.cancel);
          if (last) void centre!.acknowledge(last.event.device, last.event.envelope.seq);
          else say("demo", "no alarm to acknowledge yet: press p first");
        } else if (k === "q" || k === "\u0003") {
          stdin.setRawMode?.(false);
          stdin.pause();
          resolve(0);
        }
      });
    });
  } catch (e) {
    say("demo", `failed: ${(e as Error).message}`);
    return 1;
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
    await cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
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

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
