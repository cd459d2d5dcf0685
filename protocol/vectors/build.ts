// Writes protocol/vectors/vectors.json: golden vectors that BOTH codecs (the firmware's pb.ts through gen/object-codec.ts, and
// Node schema.ts) must encode to and decode from byte for byte (protocol/vectors.test.ts).
//   node --import tsx protocol/vectors/build.ts           rewrite vectors.json
//   node --import tsx protocol/vectors/build.ts --check   exit 1 when vectors.json differs
// The bytes are produced by protobufjs (schema.ts); the firmware codec is then held to them.
// Each vector: name, type ("Envelope"), key ("test" = TEST_KEY_HEX, "zero" = all-zero Hello key),
// object (encoder input, sparse), decoded (what decode returns: defaults filled in), payload hex,
// frame hex (marker, length, payload + 8-byte MAC, CRC).
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { encodeCanonical, decodeMessage, sealFrame, ZERO_KEY } from "../schema.ts";
import { enumValues } from "../schema.ts";

const DeviceKind = enumValues("DeviceKind");
const DoseEventKind = enumValues("DoseEventKind");
const DoseMode = enumValues("DoseMode");
const FaultCode = enumValues("FaultCode");
const CommandKind = enumValues("CommandKind");

export const VECTORS_PATH = join(dirname(fileURLToPath(import.meta.url)), "vectors.json");
/** Fixed test key: bytes 0x00..0x1f. Never a real device key. */
export const TEST_KEY_HEX = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

const U32 = 0xffffffff;
const I32_MIN = -2147483648;
const I32_MAX = 2147483647;
const HDR = { device: 1042, boot: 0x9e3779b9, seq: 7, time: 1767225600 };

type V = { name: string; key?: "test" | "zero"; object: any };

function cases(): V[] {
  const v: V[] = [
    { name: "empty envelope", object: {} },
    { name: "envelope header at maximum", object: { device: U32, boot: U32, seq: U32, ack: U32, time: U32, late: true } },
    { name: "envelope header above 2^31", object: { device: 0x80000000, boot: 0x80000001, seq: 0x7fffffff, ack: 128, time: 127 } },
    { name: "ack only (gateway receipt of an alarm)", object: { device: 1042, boot: 12345, ack: 7 } },
    { name: "alarm press", object: { ...HDR, alarm: {} } },
    { name: "alarm test, hold", object: { ...HDR, alarm: { test: true, hold: true } } },
    { name: "alarm cancel", object: { ...HDR, seq: 8, alarm: { cancel: true, alarmSeq: 7 } } },
    { name: "alarm replayed late", object: { ...HDR, late: true, alarm: { alarmSeq: U32 } } },
    { name: "alarm ack from responder (UTF-8)", object: { device: 1042, boot: 77, seq: 3, alarmAck: { alarmSeq: 7, responder: "Åse Ødegård" } } },
    { name: "alarm ack, no responder", object: { device: 1042, boot: 77, seq: 4, alarmAck: { alarmSeq: 7 } } },
    { name: "hello", key: "zero", object: { device: 1042, boot: 77, hello: { nonce: 0xdeadbeef, gatewayTime: 1767225600 } } },
    { name: "hello, zero nonce", key: "zero", object: { hello: {} } },
    {
      name: "device info (handshake completion)",
      object: {
        ...HDR, seq: 0,
        info: { nonce: 0xdeadbeef, kind: DeviceKind.DEVICE_KIND_ALARM, firmware: "0.1.0", board: "alarm-nrf52", outboxDepth: 3, scheduleVersion: 0, configVersion: 2, lastDownlink: 9, seq: 8 },
      },
    },
    { name: "time sync", object: { device: 1042, boot: 77, timeSync: { unix: 1767225600, millis: 999 } } },
    { name: "heartbeat", object: { ...HDR, seq: 0, heartbeat: { batteryPct: 100, batteryMv: 3000, outboxDepth: 0, intervalS: 3600, mains: true, uptimeS: U32 } } },
    { name: "fault clock jumped (negative detail)", object: { ...HDR, fault: { code: FaultCode.FAULT_CLOCK_JUMPED, detail: -3600 } } },
    { name: "fault cleared, sint32 extremes", object: { ...HDR, fault: { code: FaultCode.FAULT_MAINS_LOST, cleared: true, detail: I32_MIN } } },
    { name: "fault sint32 max", object: { ...HDR, fault: { code: FaultCode.FAULT_STORAGE_NEARLY_FULL, detail: I32_MAX } } },
    { name: "battery", object: { ...HDR, seq: 0, battery: { percent: 9, millivolts: 2150, daysLeft: 3, low: true } } },
    { name: "supply refilled", object: { ...HDR, supply: { remaining: 28, hoursLeft: 168, refilled: true } } },
    {
      name: "schedule (repeated, empty element)",
      object: { device: 1042, boot: 77, seq: 5, schedule: { version: 3, doses: [{ minute: 480 }, { minute: 1200, weekdays: 0x7f }, {}, { minute: 1439, weekdays: 1 }], earlyMin: 30, lateMin: 120, collectMin: 60, remindEveryMin: 10 } },
    },
    { name: "schedule, no doses", object: { device: 1042, boot: 77, seq: 6, schedule: { version: U32 } } },
    { name: "schedule ack ok", object: { ...HDR, scheduleAck: { version: 3, ok: true } } },
    { name: "schedule ack error (UTF-8, 4-byte char)", object: { ...HDR, scheduleAck: { version: 3, error: "minutt 1440 ≥ 1440 🕐" } } },
    { name: "config", object: { device: 1042, boot: 77, seq: 7, config: { version: 2, heartbeatS: 3600, cancelWindowS: 30, ackTimeoutS: 600, holdToAlarm: true, holdMs: 1500 } } },
    { name: "config ack", object: { ...HDR, configAck: { version: 2, ok: false, error: "holdMs too large" } } },
    {
      name: "status",
      object: {
        ...HDR, seq: 0,
        status: { firmware: "0.1.0", board: "dispenser-esp32", scheduleVersion: 3, outboxDepth: 1, batteryPct: 80, batteryMv: 3900, clockOffsetS: -2, errorFlags: 0x80000000, uptimeS: 86400, freeVars: 1200, configVersion: 2, mains: true },
      },
    },
  ];
  for (const [k, n] of Object.entries(DoseEventKind))
    v.push({ name: "dose " + k, object: { ...HDR, dose: { kind: n, delayS: n === 0 ? -1 : 60 * n, slot: n, mode: 0, remaining: 27 - n } } });
  for (const [k, n] of Object.entries(DoseMode))
    v.push({ name: "dose mode " + k, object: { ...HDR, dose: { kind: DoseEventKind.DOSE_DISPENSED, delayS: I32_MIN, slot: 27, mode: n } } });
  for (const [k, n] of Object.entries(FaultCode)) v.push({ name: "fault " + k, object: { ...HDR, fault: { code: n, detail: n } } });
  for (const [k, n] of Object.entries(CommandKind)) v.push({ name: "command " + k, object: { device: 1042, boot: 77, seq: 10 + n, command: { kind: n, arg: n === 5 ? 3 : 0 } } });
  for (const [k, n] of Object.entries(DeviceKind)) v.push({ name: "device info " + k, object: { device: 1042, info: { nonce: 1, kind: n, firmware: "é", board: "b" } } });
  return v;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

export function buildVectors(): string {
  const key = Buffer.from(TEST_KEY_HEX, "hex");
  const out = cases().map((c) => {
    const keyName = c.key ?? "test";
    const payload = encodeCanonical("Envelope", c.object);
    return {
      name: c.name,
      type: "Envelope",
      key: keyName,
      object: c.object,
      decoded: decodeMessage("Envelope", payload),
      payload: hex(payload),
      frame: hex(sealFrame(keyName === "zero" ? ZERO_KEY : new Uint8Array(key), c.object)),
    };
  });
  return JSON.stringify({ testKey: TEST_KEY_HEX, zeroKey: hex(ZERO_KEY), vectors: out }, null, 1) + "\n";
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = buildVectors();
  if (process.argv.includes("--check")) {
    if (readFileSync(VECTORS_PATH, "utf8") !== text) {
      console.error(`${VECTORS_PATH} differs from what build.ts produces (a codec or schema change?)`);
      process.exit(1);
    }
    console.log("vectors.json is up to date");
  } else {
    writeFileSync(VECTORS_PATH, text);
    console.log(`wrote ${VECTORS_PATH}`);
  }
}
