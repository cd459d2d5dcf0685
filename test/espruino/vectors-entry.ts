// Bundled (firmware/build bundleEntry) and run on the real interpreter by vectors-real.test.ts: the
// firmware's protocol path for one golden vector per call — encode (pb.ts through the object codec),
// seal (mac.ts), frame (framing.ts), parse (FrameParser in the firmware's view mode, with the alarm's
// small buffer when the frame fits it), open, decode. Prints one line: "@@v <name> <json>" with what it
// computed, strings and bytes as hex so the 8-bit console cannot garble them.
import { encodeEnvelope, decodeEnvelope } from "../../protocol/gen/object-codec.ts";
import { encodeFrame, FrameParser, MAX_FRAME } from "../../protocol/framing.ts";
import { seal, open } from "../../protocol/mac.ts";
import { ALARM_RX_FRAME_MAX } from "../../protocol/caps.ts";

declare const global: any;
declare const print: (s: string) => void;
declare const require: (m: string) => any;

function sha(d: Uint8Array): Uint8Array {
  return new Uint8Array(require("crypto").SHA256(d));
}

function hex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += (256 + b[i]).toString(16).substr(1);
  return s;
}

function unhex(s: string): Uint8Array {
  const b = new Uint8Array(s.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(s.substr(i * 2, 2), 16);
  return b;
}

/** Strings and bytes as {h: hex}, so the result crosses the 8-bit console unharmed. */
function plain(v: any): any {
  if (typeof v === "string") {
    let s = "";
    for (let i = 0; i < v.length; i++) s += (256 + (v.charCodeAt(i) & 255)).toString(16).substr(1);
    return { h: s };
  }
  if (v instanceof Uint8Array) return { y: hex(v) };
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") {
    const o: any = {};
    const keys = Object.keys(v);
    for (let i = 0; i < keys.length; i++) o[keys[i]] = plain(v[keys[i]]);
    return o;
  }
  return v;
}

global.VT = function (name: string, obj: any, keyHex: string) {
  const key = unhex(keyHex);
  const payload = encodeEnvelope(obj);
  const frame = encodeFrame(seal(sha, key, payload));
  const out: any = { payload: hex(payload), frame: hex(frame), parsed: [] };
  // the firmware's receive path: a view into the parser's buffer (the alarm button's small one when
  // the frame fits it, the dispenser's otherwise), opened and decoded in place
  {
    const p = new FrameParser(
      function (body: Uint8Array) {
        const pl = open(sha, key, body);
        out.parsed.push(pl ? plain(decodeEnvelope(pl)) : null);
      },
      null,
      frame.length <= ALARM_RX_FRAME_MAX ? ALARM_RX_FRAME_MAX + 64 : MAX_FRAME + 64,
      true,
    );
    // in BLE-sized pieces, as the device receives them
    for (let i = 0; i < frame.length; i += 20) p.push(frame.subarray(i, i + 20));
  }
  print("@@v " + name + " " + JSON.stringify(out));
};
