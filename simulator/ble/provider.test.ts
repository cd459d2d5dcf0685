// bleProvider inside a real SimDevice (vm context, virtual clock): firmware code uses NRF like on a
// Puck.js; the fake central connects; power cycles drop the link and reset the GATT table.
import { describe, expect, it } from "vitest";
import { SimDevice, VirtualClock } from "../index.ts";
import { loadBoard } from "../../hardware/boards.ts";
import { BleRadio, FakeNoble, SimBlePeripheral, bleProvider, clockScheduler, type FakePeripheral } from "./index.ts";

const board = loadBoard("alarm-nrf52");
const SVC = board.data.service!;
const TO = board.data.to_device!;
const FROM = board.data.from_device!;
const n = (u: string) => u.replace(/-/g, "");

// A small "firmware": the Varde service, echo of every write as a notification, connection log.
const APP = `
var log = [];
var svc = {};
svc[${JSON.stringify(SVC)}] = {};
svc[${JSON.stringify(SVC)}][${JSON.stringify(TO)}] = { writable: true, maxLen: 50, onWrite: function (evt) {
  var u = {}; u[${JSON.stringify(SVC)}] = {};
  u[${JSON.stringify(SVC)}][${JSON.stringify(FROM)}] = { value: new Uint8Array(evt.data), notify: true };
  NRF.updateServices(u);
} };
svc[${JSON.stringify(SVC)}][${JSON.stringify(FROM)}] = { notify: true, readable: true, maxLen: 50, value: [0] };
NRF.setServices(svc, { uart: false, advertise: [${JSON.stringify(SVC)}] });
NRF.setAdvertising({}, { name: "Varde" });
NRF.on("connect", function (addr) { log.push("connect " + addr); });
NRF.on("disconnect", function (reason) { log.push("disconnect " + reason); });
`;

function setup() {
  const clock = new VirtualClock({ seed: 9 });
  const radio = new BleRadio({ scheduler: clockScheduler(clock), seed: 9 });
  const periph = SimBlePeripheral.forBoard(board);
  radio.addPeripheral(periph);
  const dev = new SimDevice({ board, clock, providers: [bleProvider(periph)], memoryRefreshMs: 0 });
  const central = new FakeNoble(radio);
  /** runs virtual time in steps, letting the central's promises settle between them */
  const run = async (ms: number) => {
    for (let t = 0; t < ms; t += 10) {
      clock.runFor(10);
      await new Promise((r) => setImmediate(r));
    }
  };
  return { clock, radio, periph, dev, central, run };
}

async function connect(s: ReturnType<typeof setup>) {
  let found: FakePeripheral | null = null;
  s.central.on("discover", (p: FakePeripheral) => (found = p));
  await s.central.startScanningAsync([n(SVC)], true);
  await s.run(300);
  await s.central.stopScanningAsync();
  const p = found as FakePeripheral | null;
  if (!p) throw new Error("device not discovered");
  const c = p.connectAsync();
  await s.run(200);
  await c;
  const d = p.discoverSomeServicesAndCharacteristicsAsync([n(SVC)], [n(TO), n(FROM)]);
  await s.run(100);
  const { characteristics } = await d;
  const from = characteristics.find((c) => c.uuid === n(FROM))!;
  const to = characteristics.find((c) => c.uuid === n(TO))!;
  const got: number[][] = [];
  from.on("data", (b: Buffer) => got.push([...b]));
  const sub = from.subscribeAsync();
  await s.run(50);
  await sub;
  return { p, to, got };
}

describe("bleProvider in a SimDevice", () => {
  it("firmware callbacks run as device events; writes echo back as notifications", async () => {
    const s = setup();
    s.dev.install(APP);
    s.dev.powerOn();
    const { p, to, got } = await connect(s);
    expect(p.advertisement.localName).toBe("Varde");
    const w = to.writeAsync(Buffer.from([0xf5, 0xa7, 1, 2]), false);
    await s.run(50);
    await w;
    expect(got).toEqual([[0xf5, 0xa7, 1, 2]]);
    expect(JSON.parse(s.dev.evaluate("JSON.stringify(log)") as string)).toEqual([`connect ${s.central.address} public`]);
    // the NRF API is the device's realm: its errors are the device's Errors
    expect(s.dev.evaluate(`(function(){ try { NRF.updateServices({"abcd": {"abce": {value: [1]}}}); } catch (e) { return e instanceof Error; } })()`)).toBe(true);
    expect(s.dev.errors).toEqual([]);
  });

  it("the BLE stack's hold on listeners and services counts in process.memory(), out of the firmware's sight", async () => {
    const bare = setup();
    bare.dev.install("var x = 1;");
    bare.dev.powerOn();
    const withBle = setup();
    withBle.dev.install(APP);
    withBle.dev.powerOn();
    const usage = (d: SimDevice) => JSON.parse(d.evaluate("JSON.stringify(process.memory())") as string).usage as number;
    expect(usage(withBle.dev) - usage(bare.dev)).toBeGreaterThan(30);
    expect(withBle.dev.evaluate("Object.keys(this).filter(function (k) { return k.charCodeAt(0) === 255; }).length")).toBe(0);
  });

  it("power off drops the link; after power-on the device advertises its fresh GATT table again", async () => {
    const s = setup();
    s.dev.install(APP);
    s.dev.powerOn();
    const { p } = await connect(s);
    let reason: unknown = null;
    p.once("disconnect", (r: unknown) => (reason = r));
    s.dev.powerOff();
    await s.run(20);
    expect(reason).toBe(0x08);
    expect(s.periph.isAdvertising()).toBe(false);
    s.dev.powerOn();
    await s.run(20);
    expect(s.periph.isAdvertising()).toBe(true);
    expect([...s.periph.services.keys()]).toEqual([n(SVC)]);
    const again = await connect(s);
    expect(again.p).toBe(p); // same address, same noble Peripheral object
  });
});
