// Golden vectors: both codecs (the firmware's pb.ts through gen/object-codec.ts, Node schema.ts) produce exactly the committed bytes
// and decode them back to the committed objects. Regenerate with: node --import tsx protocol/vectors/build.ts
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { encodeEnvelope as encodeBytes, decodeEnvelope as decodeBytes } from "./gen/object-codec.ts";
import { MESSAGE_NAMES, fieldsOf } from "./gen/messages.ts";
import { toByteStrings, fromByteStrings } from "./byte-strings.ts";
import { enumValues } from "./schema.ts";
import { encodeCanonical, decodeMessage, sealFrame, openFrame, nodeSha256, ZERO_KEY } from "./schema.ts";
import { encodeFrame, FrameParser } from "./framing.ts";
import { seal, open } from "./mac.ts";
import { buildVectors, VECTORS_PATH, TEST_KEY_HEX } from "./vectors/build.ts";

const file = JSON.parse(readFileSync(VECTORS_PATH, "utf8"));
const vectors: any[] = file.vectors;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const unhex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
// the firmware codec carries byte strings (UTF-8 bytes): convert at the edge
const encodeEnvelope = (o: any) => encodeBytes(toByteStrings(o));
const decodeEnvelope = (b: Uint8Array) => fromByteStrings(decodeBytes(b));
const keyOf = (v: any) => (v.key === "zero" ? ZERO_KEY : unhex(file.testKey));

describe("golden vectors", () => {
  it("vectors.json is current and uses the fixed test key", () => {
    expect(file.testKey).toBe(TEST_KEY_HEX);
    expect(readFileSync(VECTORS_PATH, "utf8")).toBe(buildVectors());
  });

  it.each(vectors.map((v) => [v.name, v]))("%s", (_name, v) => {
    // encode: both codecs, byte for byte
    expect(hex(encodeEnvelope(v.object))).toBe(v.payload);
    expect(hex(encodeCanonical(v.type, v.object))).toBe(v.payload);
    // decode: both codecs, same plain object
    expect(decodeEnvelope(unhex(v.payload))).toEqual(v.decoded);
    expect(decodeMessage(v.type, unhex(v.payload))).toEqual(v.decoded);
    // sealed frame: firmware path (framing + mac + codec) and Node path (sealFrame)
    const key = keyOf(v);
    expect(hex(encodeFrame(seal(nodeSha256, key, encodeEnvelope(v.object))))).toBe(v.frame);
    expect(hex(sealFrame(key, v.object))).toBe(v.frame);
    const bodies: Uint8Array[] = [];
    new FrameParser((b) => bodies.push(b)).push(unhex(v.frame));
    expect(bodies.length).toBe(1);
    expect(openFrame(key, bodies[0])).toEqual(v.decoded);
    expect(decodeEnvelope(open(nodeSha256, key, new Uint8Array(bodies[0]))!)).toEqual(v.decoded);
    // the wrong key is rejected
    const other = key === ZERO_KEY ? unhex(file.testKey) : ZERO_KEY;
    expect(openFrame(other, bodies[0])).toBeNull();
  });

  it("cover every message type reachable from Envelope and every enum value", () => {
    const seen = new Set<string>(["Envelope"]);
    const walk = (type: string, obj: any) => {
      seen.add(type);
      for (const e of fieldsOf(type)!) {
        const val = obj[e[0]];
        if (e[2] !== "m" || val == null) continue;
        for (const x of Array.isArray(val) ? val : [val]) walk(e[3], x);
      }
    };
    for (const v of vectors) walk("Envelope", v.object);
    expect([...seen].sort()).toEqual([...MESSAGE_NAMES].sort());

    const used = (path: (o: any) => any) => new Set(vectors.map((v) => path(v.decoded)).filter((x) => x !== undefined));
    const expectAll = (en: object, got: Set<any>) => expect([...got].sort((a, b) => a - b)).toEqual(expect.arrayContaining(Object.values(en)));
    expectAll(enumValues("DoseEventKind"), used((d) => d.dose?.kind));
    expectAll(enumValues("DoseMode"), used((d) => d.dose?.mode));
    expectAll(enumValues("FaultCode"), used((d) => d.fault?.code));
    expectAll(enumValues("CommandKind"), used((d) => d.command?.kind));
    expectAll(enumValues("DeviceKind"), used((d) => d.info?.kind));
  });

  it("hand-checked bytes (independent of both codecs)", () => {
    const byName = (n: string) => vectors.find((v) => v.name === n);
    // device=1042 (varint 92 08), boot=0x9e3779b9 (fixed32, little-endian), seq=7,
    // time=1767225600=0x6955b900 (fixed32, little-endian), alarm {} = field 7 with length 0
    const hdr = "089208" + "15b979379e" + "1807" + "2d00b95569";
    expect(byName("alarm press").payload).toBe(hdr + "3a00");
    // uint32 0xFFFFFFFF = varint ff ff ff ff 0f; fixed32 = ff ff ff ff; late = 30 01
    expect(byName("envelope header at maximum").payload).toBe("08ffffffff0f" + "15ffffffff" + "18ffffffff0f" + "20ffffffff0f" + "2dffffffff" + "3001");
    // sint32 min zigzags to 0xFFFFFFFF: fault{code 4, cleared, detail} in field 10 (tag 52)
    expect(byName("fault cleared, sint32 extremes").payload).toBe(hdr + "520a0804100118ffffffff0f");
});
});
