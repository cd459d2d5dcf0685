import { describe, it, expect } from "vitest";
import protobuf from "protobufjs";
import { readFileSync } from "node:fs";
import { checkSizeCaps, worstCase, FRAME_OVERHEAD, BLE_NOTIFY_MAX, truncateUtf8, MAX_BOARD_BYTES } from "./size-caps.ts";
import { lookupType, encodeCanonical, PROTO_PATH } from "./schema.ts";
import { encodeEnvelope } from "./gen/object-codec.ts";
import { MAX_BODY } from "./framing.ts";

describe("size caps", () => {
  it("alarm and dose-event frames fit one nRF52832 BLE notification; every Envelope fits a frame", () => {
    const r = checkSizeCaps();
    console.log(
      `size caps: alarm frame ${r.alarm} B, dose-event frame ${r.dose} B (limit ${BLE_NOTIFY_MAX}); ` +
        `largest Envelope: ${r.largest.member}, payload ${r.largest.payload} B, frame ${r.largest.frame} B (body limit ${MAX_BODY} + 5)\n` +
        `  per member (worst case, with ack): ${Object.entries(r.perMember).map(([m, n]) => `${m} ${n}`).join(", ")}`,
    );
    expect(r.alarm).toBeLessThanOrEqual(BLE_NOTIFY_MAX);
    expect(r.dose).toBeLessThanOrEqual(BLE_NOTIFY_MAX);
    expect(r.largest.frame).toBeLessThanOrEqual(MAX_BODY + 5);
  });

  it("the worst case is really the largest: both codecs agree on it and it has every field at its cap", () => {
    const env = lookupType("Envelope");
    const w = { ...worstCase(env, { skip: ["ack"] }), alarm: worstCase(lookupType("Alarm")) };
    expect(encodeEnvelope(w)).toEqual(encodeCanonical("Envelope", w));
    expect(encodeEnvelope(w).length + FRAME_OVERHEAD).toBe(checkSizeCaps().alarm);
    expect(w.boot).toBe(0xffffffff);
    expect(w.late).toBe(true);
    expect(w.alarm).toEqual({ test: true, cancel: true, alarmSeq: 268435455, hold: true });
  });

  it("throws, naming the figure, when a message outgrows the notification", () => {
    const src = readFileSync(PROTO_PATH, "utf8").replace("bool hold = 4;", "bool hold = 4;\n  uint32 extra = 5;");
    const root = protobuf.parse(src).root;
    expect(() => checkSizeCaps(root)).toThrow(/worst-case alarm frame is \d+ bytes, over the 50-byte BLE notification/);
  });

  it("throws on a string or repeated field without a cap", () => {
    const src = readFileSync(PROTO_PATH, "utf8").replace("uint32 arg = 2;", "uint32 arg = 2;\n  string note = 3;");
    const root = protobuf.parse(src).root;
    expect(() => checkSizeCaps(root)).toThrow(/Command\.note: string field without a byte cap/);
  });

  it("truncateUtf8 cuts at the byte cap without splitting a character", () => {
    expect(truncateUtf8("alarm-nrf52", MAX_BOARD_BYTES)).toBe("alarm-nrf52");
    expect(truncateUtf8("abcdef", 4)).toBe("abcd");
    expect(truncateUtf8("aø€", 3)).toBe("aø");
    expect(truncateUtf8("aø€", 5)).toBe("aø");
    expect(truncateUtf8("aø€", 6)).toBe("aø€");
    expect(truncateUtf8("a😀b", 4)).toBe("a");
    expect(truncateUtf8("a😀b", 5)).toBe("a😀");
    for (const s of ["", "x", "Åse Ødegård 🕐", "\ud800z"])
      for (let n = 0; n < 20; n++) expect(new TextEncoder().encode(truncateUtf8(s, n)).length).toBeLessThanOrEqual(n);
  });
});
