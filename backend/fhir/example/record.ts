// Records the event stream behind the committed FHIR example (docs/examples/fhir/, `make fhir-example`):
// the demo's two devices — alarm button 1001 and medication dispenser 2001, each the REAL firmware bundle
// in the simulator — connected to the REAL gateway (sessions, SQLite outbox, embedded broker, JSON
// payloads) on one virtual clock, and a backend client that sends the commands a nurse's visit and the
// response centre would, acknowledges every event and writes each one as published to
// backend/fhir/example/events.jsonl (one {"topic", "payload"} per line, the format `varde fhir export` reads).
//
//   make fhir-example-record        (then `make fhir-example` to rebuild docs/examples/fhir/)
//
// The day, in Oslo time (2026-11-02; schedule 08:00, 08:30, 09:00, 09:30; 5 min early, 15 min late,
// 10 min to collect):
//   07:31  the nurse loads a carousel with 4 doses (staff mode, lid, refill confirmed)  -> refilled, refill warning
//   08:01  the patient takes the 08:00 dose                                              -> dose taken, unassisted
//   08:10  the patient presses the alarm button                                          -> alarm
//   08:31  with the nurse present (staff mode) the 08:30 dose is taken                   -> dose taken, assisted
//   08:50  a technician's test alarm                                                     -> alarm, test (not exported)
//   09:00  dose ignored                                                                  -> missed at 09:15
//   09:25  the carousel jams; the patient presses for the 09:30 dose                     -> fault: motor jam
// Wall time: about a minute (virtual time runs at SPEED x real time; SQLite and MQTT stay real).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import mqtt from "mqtt";
import { buildFirmware } from "../../../firmware/build/index.ts";
import { loadBoard } from "../../../hardware/boards.ts";
import { startGateway, parseConfig, topic, filter } from "../../../gateway/index.ts";
import { appendDevice, newDeviceKey } from "../../../gateway/registry.ts";
import { encodeCanonical } from "../../../protocol/schema.ts";
import { SimDevice, VirtualClock, createMemoryLinkPair } from "../../../simulator/index.ts";
import { DispenserHw } from "../../../simulator/peripherals/dispenser.ts";
import { osloToUnix } from "../../../simulator/scenarios/local-time.ts";
import { SimLink, gatewayClockOn, pumpClock, until } from "../../../test/support/sim-gateway.ts";
import { EVENTS_PATH } from "./paths.ts";

const GW = "demo-gw";
const ALARM_ID = 1001;
const DISPENSER_ID = 2001;
const SPEED = 300;
const DAY = "2026-11-02";
const at = (hhmm: string) => osloToUnix(`${DAY} ${hhmm}`) * 1000;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-fhir-record-"));
  const stops: Array<() => unknown> = [];
  try {
    const alarmKey = newDeviceKey();
    const dispKey = newDeviceKey();
    appendDevice(path.join(dir, "registry.toml"), { id: ALARM_ID, kind: "alarm", board: "alarm-esp32", key: alarmKey, label: "demo alarm button", created: "2026-11-01T12:00:00Z" });
    appendDevice(path.join(dir, "registry.toml"), { id: DISPENSER_ID, kind: "dispenser", board: "dispenser-esp32", key: dispKey, label: "demo dispenser", created: "2026-11-01T12:00:00Z" });

    const clock = new VirtualClock({ seed: 16, startMs: at("07:25") });
    const devices: SimDevice[] = [];
    const [aDev, aGw] = createMemoryLinkPair(clock, { delayMs: 2 });
    const alarm = new SimDevice({ board: loadBoard("alarm-esp32"), clock, link: aDev, rtc: "keep", name: "alarm" });
    alarm.flash.write("varde.id", Buffer.from(JSON.stringify({ id: ALARM_ID, key: alarmKey, kind: "alarm" })));
    alarm.install((await buildFirmware("alarm-esp32", { noWrite: true })).code);
    const [dDev, dGw] = createMemoryLinkPair(clock, { delayMs: 2 });
    const dispBoard = loadBoard("dispenser-esp32");
    const disp = new SimDevice({ board: dispBoard, clock, link: dDev, rtc: "keep", name: "dispenser" });
    const hw = new DispenserHw({ clock, pins: disp.pins, board: dispBoard });
    disp.flash.write("varde.id", Buffer.from(JSON.stringify({ id: DISPENSER_ID, key: dispKey, kind: "dispenser" })));
    disp.install((await buildFirmware("dispenser-esp32", { noWrite: true })).code);
    devices.push(alarm, disp);
    for (const d of devices) d.powerOn();
    hw.applyInputs();
    stops.push(() => devices.forEach((d) => d.powered && d.powerOff()));
    stops.push(pumpClock(clock, SPEED));

    const cfg = parseConfig({ gateway_id: GW, mqtt: { embedded_port: 0, payload_format: "json" }, metrics: { port: -1 }, log: { level: "silent" } }, "record.toml", dir);
    const gw = await startGateway(cfg, { clock: gatewayClockOn(clock) });
    stops.push(() => gw.stop());
    const backend = await mqtt.connectAsync(gw.brokerUrl, { protocolVersion: 4, clientId: "fhir-record-backend" });
    stops.push(() => backend.endAsync());
    const lines: string[] = [];
    const seen = new Set<string>();
    const types: string[] = [];
    backend.on("message", (t, payload) => {
      if (!t.includes("/event/")) return;
      const ev = JSON.parse(payload.toString("utf8"));
      backend.publish(topic("ack", { gateway: GW }), JSON.stringify({ eventIds: [ev.eventId] }), { qos: 1 });
      // the response centre acknowledges each alarm (as the demo's responder does)
      if (ev.type === "alarm" && !ev.envelope?.alarm?.cancel)
        backend.publish(topic("command", { gateway: GW, command: "ack-alarm" }), JSON.stringify({ correlationId: `ack-${ev.eventId}`, device: ev.device, alarmSeq: Number(ev.eventId.split(":")[2]), responder: "Responssenteret" }), { qos: 1 });
      if (seen.has(ev.eventId) || ev.type === "heartbeat" || ev.type === "status") return; // telemetry: not part of the example
      seen.add(ev.eventId);
      types.push(`${ev.type}${ev.envelope?.dose ? ":" + (ev.envelope.dose.kind ?? "DOSE_TAKEN") + ":" + (ev.envelope.dose.mode ?? "") : ""}${ev.envelope?.fault ? ":" + ev.envelope.fault.code : ""}`);
      lines.push(JSON.stringify({ topic: t, payload: ev }));
    });
    await backend.subscribeAsync(filter("event", GW), { qos: 1 });
    gw.addLink(new SimLink(aGw, "sim:" + ALARM_ID, () => clock.now()));
    gw.addLink(new SimLink(dGw, "sim:" + DISPENSER_ID, () => clock.now()));
    const online = (id: number) => (gw.core.status() as any).devices.some((d: any) => d.id === id && d.online);
    await until(() => online(ALARM_ID) && online(DISPENSER_ID), 30_000, "both sessions up");

    let corr = 0;
    const command = (name: "set-schedule" | "device-command", req: Record<string, unknown>) =>
      backend.publishAsync(topic("command", { gateway: GW, command: name }), Buffer.from(encodeCanonical("CommandRequest", { correlationId: `rec-${++corr}`, ...req })), { qos: 1 });
    const waitUntil = (ms: number, what: string) => until(() => clock.now() >= ms, 120_000, what);
    const has = (pred: (l: string) => boolean, what: string) => until(() => types.some(pred), 60_000, what);
    const minute = (hhmm: string) => { const [h, m] = hhmm.split(":").map(Number); return h * 60 + m; };

    await command("set-schedule", { device: DISPENSER_ID, schedule: { version: 1, doses: ["08:00", "08:30", "09:00", "09:30"].map((t) => ({ minute: minute(t) })), earlyMin: 5, lateMin: 15, collectMin: 10 } });
    await has((t) => t.startsWith("schedule_ack"), "schedule_ack");
    // 07:31 the nurse's visit: staff mode, lid open, a carousel with 4 doses, refill confirmed
    await waitUntil(at("07:31"), "07:31");
    await command("device-command", { device: DISPENSER_ID, command: { kind: 4, arg: 1 } });
    await waitUntil(at("07:32"), "07:32");
    hw.setLid(true);
    await waitUntil(at("07:34"), "07:34");
    hw.refill(4);
    hw.setLid(false);
    await command("device-command", { device: DISPENSER_ID, command: { kind: 3, arg: 4 } });
    await has((t) => t.startsWith("supply"), "refilled");
    await waitUntil(at("07:36"), "07:36");
    await command("device-command", { device: DISPENSER_ID, command: { kind: 4, arg: 0 } });
    // 08:01 the patient takes the 08:00 dose
    await waitUntil(at("08:01"), "08:01");
    disp.button().press(300);
    await until(() => hw.tray > 0, 60_000, "dose in the tray");
    hw.takeOut();
    await has((t) => t.startsWith("dose:DOSE_TAKEN"), "dose taken");
    // 08:10 alarm button pressed
    await waitUntil(at("08:10"), "08:10");
    alarm.button().press(200);
    await has((t) => t === "alarm", "alarm");
    // 08:31 assisted dose
    await waitUntil(at("08:28"), "08:28");
    await command("device-command", { device: DISPENSER_ID, command: { kind: 4, arg: 1 } });
    await waitUntil(at("08:31"), "08:31");
    disp.button().press(300);
    await until(() => hw.tray > 0, 60_000, "assisted dose in the tray");
    hw.takeOut();
    await has((t) => t.startsWith("dose:DOSE_TAKEN:DOSE_MODE_ASSISTED"), "assisted dose taken");
    await waitUntil(at("08:35"), "08:35");
    await command("device-command", { device: DISPENSER_ID, command: { kind: 4, arg: 0 } });
    // 08:50 technician's test alarm
    await waitUntil(at("08:50"), "08:50");
    await command("device-command", { device: ALARM_ID, command: { kind: 2 } });
    await until(() => types.filter((t) => t === "alarm").length >= 2, 60_000, "test alarm");
    // 09:00 ignored -> missed at 09:15
    await has((t) => t.startsWith("dose:DOSE_MISSED"), "missed dose");
    // 09:25 jam, 09:31 press
    await waitUntil(at("09:25"), "09:25");
    hw.setJam(true);
    await waitUntil(at("09:31"), "09:31");
    disp.button().press(300);
    await has((t) => t === "fault:FAULT_MOTOR_JAM", "jam fault");
    await waitUntil(at("09:40"), "09:40");
    const header = [
      "# Recorded by backend/fhir/example/record.ts (make fhir-example-record): the demo's alarm button 1001 and",
      "# dispenser 2001 (real firmware in the simulator) through the real gateway, JSON payloads as published on",
      "# the broker; heartbeats and status replies left out. Input of `make fhir-example`.",
    ];
    fs.writeFileSync(EVENTS_PATH, header.join("\n") + "\n" + lines.join("\n") + "\n");
    console.log(`${EVENTS_PATH}: ${lines.length} events (${types.join(", ")})`);
  } finally {
    while (stops.length) await stops.pop()!();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
