// The dispenser end to end in one process: the real dispenser bundle in the simulator with its carousel,
// tray and slot sensor (simulator/peripherals/dispenser.ts), the real gateway (sessions, SQLite outbox,
// embedded MQTT broker) on the same virtual clock, and a backend client that sets the schedule through
// the `set-schedule` command and acknowledges every event. Virtual time runs at SPEED × real time.
// One dose is taken, the next is ignored: the backend must get DOSE_TAKEN and, at the late limit,
// DOSE_MISSED — each once, with the scheduled time and the time it happened, and the national codes —
// and the carousel must have released exactly one compartment.
import { afterEach, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import mqtt from "mqtt";
import { buildFirmware } from "../../firmware/build/index.ts";
import { loadBoard } from "../../hardware/boards.ts";
import { startGateway, parseConfig, topic, filter, type GatewayHandle } from "../../gateway/index.ts";
import { appendDevice, newDeviceKey } from "../../gateway/registry.ts";
import { decodeMessage, encodeCanonical } from "../../protocol/schema.ts";
import { SimDevice, VirtualClock, createMemoryLinkPair } from "../../simulator/index.ts";
import { DispenserHw } from "../../simulator/peripherals/dispenser.ts";
import { SimLink, gatewayClockOn, pumpClock, until } from "../support/sim-gateway.ts";
import { osloMinute } from "../../simulator/scenarios/local-time.ts";

const GW = "disp-gw";
const ID = 8001;
const BOARD = "dispenser-esp32";
const SPEED = 400;
const DOSE_TAKEN = 0;
const DOSE_MISSED = 1;

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

/** Minutes after local midnight in Norway (Intl's tz data, independent of the firmware's own DST code). */

it("schedule by command → dose taken and dose missed reach the backend once, on time, with codes; one compartment released", async () => {
  const { code } = await buildFirmware(BOARD, { noWrite: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-disp-e2e-"));
  cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const key = newDeviceKey();
  appendDevice(path.join(dir, "registry.toml"), { id: ID, kind: "dispenser", board: BOARD, key, label: "dispenser e2e", created: new Date().toISOString() });

  const clock = new VirtualClock({ seed: 9, startMs: Date.now() });
  const [devEnd, gwEnd] = createMemoryLinkPair(clock, { delayMs: 2 });
  const board = loadBoard(BOARD);
  const dev = new SimDevice({ board, clock, link: devEnd, rtc: "keep" });
  const hw = new DispenserHw({ clock, pins: dev.pins, board });
  dev.flash.write("varde.id", Buffer.from(JSON.stringify({ id: ID, key, kind: "dispenser" })));
  dev.install(code);
  dev.powerOn();
  hw.applyInputs();
  cleanup.push(() => {
    if (dev.powered) dev.powerOff();
  });
  cleanup.push(pumpClock(clock, SPEED));

  const cfg = parseConfig({ gateway_id: GW, mqtt: { embedded_port: 0 }, metrics: { port: -1 }, log: { level: "silent" } }, "disp.toml", dir);
  const gw: GatewayHandle = await startGateway(cfg, { clock: gatewayClockOn(clock) });
  cleanup.push(() => gw.stop());
  const backend = await mqtt.connectAsync(gw.brokerUrl, { protocolVersion: 4, clientId: "disp-backend" });
  cleanup.push(() => backend.endAsync());
  const events: Array<{ topic: string; qos: number; retain: boolean; ev: any }> = [];
  backend.on("message", (t, payload, packet) => {
    const ev = decodeMessage("BackendEvent", payload);
    events.push({ topic: t, qos: packet.qos, retain: packet.retain, ev });
    backend.publish(topic("ack", { gateway: GW }), Buffer.from(encodeCanonical("EventAck", { eventIds: [ev.eventId] })), { qos: 1 });
  });
  await backend.subscribeAsync(filter("event", GW), { qos: 1 });
  gw.addLink(new SimLink(gwEnd, "sim:" + ID, () => clock.now()));
  await until(() => (gw.core.status() as any).devices.some((d: any) => d.id === ID && d.online), 10_000, "session up");

  // two doses: A in 10 minutes (taken), B in 40 minutes (ignored); window 5 min early, 15 min late
  const t0 = Math.floor(clock.now() / 60_000) * 60_000; // schedules are whole local minutes
  const doseA = t0 + 10 * 60_000;
  const doseB = t0 + 40 * 60_000;
  const schedule = { version: 7, doses: [{ minute: osloMinute(doseA) }, { minute: osloMinute(doseB) }], earlyMin: 5, lateMin: 15, collectMin: 10 };
  await backend.publishAsync(topic("command", { gateway: GW, command: "set-schedule" }), Buffer.from(encodeCanonical("CommandRequest", { correlationId: "s7", device: ID, schedule })), { qos: 1 });
  await until(() => events.some((e) => e.ev.type === "schedule_ack"), 10_000, "schedule_ack");
  expect(events.find((e) => e.ev.type === "schedule_ack")!.ev.envelope.scheduleAck).toMatchObject({ version: 7, ok: true });

  // the patient presses one minute after dose A is due and takes the dose out of the tray
  await until(() => clock.now() >= doseA + 60_000, 20_000, "dose A + 1 min");
  dev.button().press(300);
  await until(() => hw.tray > 0, 10_000, "the dose in the tray");
  const takenAt = clock.now();
  hw.takeOut();
  await until(() => events.some((e) => e.ev.type === "dose" && e.ev.envelope.dose.kind === DOSE_TAKEN), 10_000, "DOSE_TAKEN at the backend");

  // dose B is never pressed: missed at its late limit
  await until(() => events.some((e) => e.ev.type === "dose" && e.ev.envelope.dose.kind === DOSE_MISSED), 40_000, "DOSE_MISSED at the backend");
  await until(() => clock.now() >= doseB + 20 * 60_000, 20_000, "a while after the late limit");

  const doses = events.filter((e) => e.ev.type === "dose");
  const taken = doses.filter((e) => e.ev.envelope.dose.kind === DOSE_TAKEN);
  const missed = doses.filter((e) => e.ev.envelope.dose.kind === DOSE_MISSED);
  expect(taken).toHaveLength(1);
  expect(missed).toHaveLength(1);
  for (const d of doses) {
    expect(d.qos).toBe(1);
    expect(d.retain).toBe(false);
    expect(d.topic).toBe(`varde/v1/${GW}/device/${ID}/event/dose`);
  }
  expect(taken[0].ev.scheduled).toBe(doseA / 1000);
  expect(Math.abs(taken[0].ev.time - takenAt / 1000)).toBeLessThanOrEqual(5);
  expect(taken[0].ev.envelope.dose.delayS).toBeGreaterThanOrEqual(60);
  expect(taken[0].ev.codes).toEqual([
    { system: "http://ehelse.no/fhir/CodeSystem/vkp-medicationdispense-events-v090", code: "1.1", display: "medisin utlevert uassistert" },
    { system: "SCAIP", code: "0083", display: "pill taken" },
  ]);
  expect(missed[0].ev.scheduled).toBe(doseB / 1000);
  expect(Math.abs(missed[0].ev.time - (doseB / 1000 + 15 * 60))).toBeLessThanOrEqual(60); // reported at the late limit
  expect(missed[0].ev.codes).toEqual(expect.arrayContaining([expect.objectContaining({ system: "http://ehelse.no/fhir/CodeSystem/vkp-alert-code-v090", code: "1.1", display: "Ikke utlevert" }), expect.objectContaining({ system: "SCAIP", code: "0081" })]));

  // no double dose: exactly one compartment emptied, and a press after the late limit releases nothing
  expect(hw.emptied).toHaveLength(1);
  dev.button().press(300);
  const pressedLate = clock.now();
  await until(() => clock.now() > pressedLate + 5 * 60_000, 10_000, "5 min after a late press");
  expect(hw.emptied).toHaveLength(1);
  expect(new Set(events.map((e) => e.ev.eventId)).size).toBe(events.length);
  expect(dev.errors).toEqual([]);
}, 120_000);
