// The firmware-side protocol files (pb.ts + gen/object-codec.ts, framing.ts, mac.ts, caps.ts) bundle into
// code that passes the firmware build's Espruino check, and the bundle works without Node: an alarm is
// encoded, sealed, framed, parsed, opened and decoded inside a bare vm context.
import { describe, it, expect } from "vitest";
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";
import vm from "node:vm";
import { bundleEntry } from "../firmware/build/index.ts";
import { findEspruinoProblems } from "../firmware/build/check-espruino.ts";
import { sealFrame, ZERO_KEY } from "./schema.ts";

const entry = fileURLToPath(new URL("./testdata/espruino-entry.ts", import.meta.url));

describe("protocol in the Espruino subset", () => {
  it("bundles without Espruino problems, works in a bare context; size printed", async () => {
    const code = await bundleEntry(entry, {});
    expect(findEspruinoProblems(code)).toEqual([]);
    console.log(`protocol firmware bundle (codec + framing + mac + caps, minified, whole API): ${code.length} bytes`);

    // run the bundle with nothing from Node; the entry hands its API over through PROTO
    const PROTO: any = {};
    vm.runInContext(code, vm.createContext({ PROTO }));
    const p = PROTO.api;
    const sha = (d: Uint8Array) => new Uint8Array(createHash("sha256").update(d).digest());
    const env = { device: 42, boot: 0xfedcba98, seq: 9, time: 1767225600, alarm: { hold: true } };
    const frame: Uint8Array = p.encodeFrame(p.seal(sha, ZERO_KEY, p.encodeEnvelope(env)));
    expect(Buffer.from(frame)).toEqual(Buffer.from(sealFrame(ZERO_KEY, env)));
    const got: any[] = [];
    const parser = new p.FrameParser((b: Uint8Array) => got.push(p.decodeEnvelope(p.open(sha, ZERO_KEY, b))));
    parser.push(frame);
    expect(JSON.parse(JSON.stringify(got))).toEqual([{ device: 42, boot: 0xfedcba98, seq: 9, ack: 0, time: 1767225600, late: false, alarm: { test: false, cancel: false, alarmSeq: 0, hold: true } }]);
    expect(p.FaultCode.FAULT_OUT_OF_MEMORY).toBe(10);
    expect(p.truncateUtf8("abcdef", 3)).toBe("abc");
  });
});
