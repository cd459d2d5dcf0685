// Worst-case frame sizes, checked when the schema is built (gen/generate.ts calls checkSizeCaps before it
// writes gen/fields.ts; protocol/size-caps.test.ts prints the figures). Node only; the caps themselves live in
// protocol/caps.ts (Espruino subset) so the firmware can import them, and are re-exported here.
//
// Worst case = every field at its maximum: uint32 0xFFFFFFFF, sint32/int32 at the largest zigzag/varint,
// bool true, enums at their largest value, unless protocol/caps.ts caps the field; strings at their byte
// cap (a string field without a cap is an error), repeated fields at their count cap (ditto).
// Rules the figures rely on (documented in protocol/README.md):
//  * a device event frame (alarm, dose) carries no piggybacked ack: acks travel in frames of their own;
//  * only one oneof member is present per Envelope.
import protobuf from "protobufjs";
import { HEADER_LEN, CRC_LEN, MAX_BODY } from "./framing.ts";
import { MAC_LEN } from "./mac.ts";
import { root as vardeRoot, PACKAGE } from "./schema.ts";
import { BLE_NOTIFY_MAX, NUMERIC_CAPS, STRING_CAPS, REPEATED_CAPS, ALARM_RX_FRAME_MAX } from "./caps.ts";

export * from "./caps.ts";

/** Frame overhead around a protobuf payload: marker + length, MAC, CRC. */
export const FRAME_OVERHEAD = HEADER_LEN + MAC_LEN + CRC_LEN;

export type SizeReport = {
  /** framed, authenticated worst-case alarm envelope, bytes */
  alarm: number;
  /** framed, authenticated worst-case dose-event envelope, bytes */
  dose: number;
  /** largest worst-case Envelope over all oneof members (with ack): member, payload and frame bytes */
  largest: { member: string; payload: number; frame: number };
  /** worst-case frame size per oneof member (with ack) */
  perMember: { [member: string]: number };
  /** largest worst-case frame the gateway can send an alarm button (its downlink members, with ack) */
  alarmDownlink: number;
};

/** Envelope members the gateway sends an alarm button. */
export const ALARM_DOWNLINK = ["hello", "timeSync", "alarmAck", "config", "command"];

function maxEnum(e: protobuf.Enum): number {
  return Math.max(...Object.values(e.values));
}

/** The worst-case plain object of `type` (see the header comment). */
export function worstCase(type: protobuf.Type, opts: { skip?: string[]; depth?: number } = {}): any {
  const depth = opts.depth ?? 0;
  if (depth > 8) throw new Error(`${type.name}: recursive message; give it a cap`);
  const out: any = {};
  for (const f of type.fieldsArray) {
    if (f.partOf && !f.partOf.name.startsWith("_")) continue; // oneof members are chosen by the caller
    if (opts.skip?.includes(f.name)) continue;
    const key = `${type.name}.${f.name}`;
    const one = (): any => {
      if (f.resolvedType instanceof protobuf.Type) return worstCase(f.resolvedType, { depth: depth + 1 });
      if (f.resolvedType instanceof protobuf.Enum) return maxEnum(f.resolvedType);
      const cap = NUMERIC_CAPS[key];
      switch (f.type) {
        case "uint32":
        case "fixed32":
          return cap ?? 0xffffffff;
        case "sint32":
          return cap !== undefined ? -cap : -2147483648;
        case "int32":
        case "sfixed32":
          return cap !== undefined ? cap : -1; // a negative int32 is the longest varint
        case "bool":
          return true;
        case "float":
        case "double":
          return 1.5;
        case "string": {
          const n = STRING_CAPS[key];
          if (n === undefined) throw new Error(`${key}: string field without a byte cap; add it to STRING_CAPS in protocol/caps.ts`);
          return "x".repeat(n);
        }
        case "bytes": {
          const n = STRING_CAPS[key];
          if (n === undefined) throw new Error(`${key}: bytes field without a cap; add it to STRING_CAPS in protocol/caps.ts`);
          return new Uint8Array(n).fill(0xff);
        }
      }
      throw new Error(`${key}: type ${f.type} has no worst case`);
    };
    if (f.repeated) {
      const n = REPEATED_CAPS[key];
      if (n === undefined) throw new Error(`${key}: repeated field without a count cap; add it to REPEATED_CAPS in protocol/caps.ts`);
      out[f.name] = Array.from({ length: n }, one);
    } else out[f.name] = one();
  }
  return out;
}

/**
 * Computes the worst-case sizes and throws unless the alarm and dose-event frames fit one BLE
 * notification (BLE_NOTIFY_MAX) and every Envelope fits one frame (MAX_BODY). `root` defaults to
 * varde.proto; the generator passes the one it is about to generate from. Sizes are protobufjs's canonical
 * encoding, which the firmware codec matches byte for byte (golden vectors).
 */
export function checkSizeCaps(root: protobuf.Root = vardeRoot): SizeReport {
  root.resolveAll();
  const env = root.lookupType(PACKAGE + ".Envelope");
  const body = env.oneofs.body;
  if (!body) throw new Error("Envelope has no oneof body");
  const size = (obj: any) => env.encode(env.fromObject(obj)).finish().length;
  const frameOf = (obj: any) => size(obj) + FRAME_OVERHEAD;

  const headerNoAck = worstCase(env, { skip: ["ack"] });
  const header = worstCase(env);
  const member = (name: string) => {
    const f = env.fields[name];
    if (!f || f.partOf !== body) throw new Error(`Envelope has no body member ${name}`);
    return worstCase(f.resolvedType as protobuf.Type);
  };
  const alarm = frameOf({ ...headerNoAck, alarm: member("alarm") });
  const dose = frameOf({ ...headerNoAck, dose: member("dose") });

  const perMember: { [m: string]: number } = {};
  let largest = { member: "", payload: 0, frame: 0 };
  for (const f of body.fieldsArray) {
    const payload = size({ ...header, [f.name]: member(f.name) });
    perMember[f.name] = payload + FRAME_OVERHEAD;
    if (payload > largest.payload) largest = { member: f.name, payload, frame: payload + FRAME_OVERHEAD };
  }

  // what a gateway sends an alarm button: its receive buffer is sized for it (caps.ts ALARM_RX_FRAME_MAX)
  const alarmDownlink = Math.max(...ALARM_DOWNLINK.map((m) => perMember[m] ?? 0));

  const errs: string[] = [];
  if (alarmDownlink > ALARM_RX_FRAME_MAX)
    errs.push(`worst-case downlink frame to an alarm button is ${alarmDownlink} bytes, over ALARM_RX_FRAME_MAX ${ALARM_RX_FRAME_MAX}`);
  if (alarm > BLE_NOTIFY_MAX) errs.push(`worst-case alarm frame is ${alarm} bytes, over the ${BLE_NOTIFY_MAX}-byte BLE notification`);
  if (dose > BLE_NOTIFY_MAX) errs.push(`worst-case dose-event frame is ${dose} bytes, over the ${BLE_NOTIFY_MAX}-byte BLE notification`);
  if (largest.payload + MAC_LEN > MAX_BODY)
    errs.push(`worst-case Envelope with ${largest.member} is ${largest.payload + MAC_LEN} body bytes, over MAX_BODY ${MAX_BODY}`);
  if (errs.length)
    throw new Error(`varde.proto size caps: ${errs.join("; ")}. Shrink the message in varde.proto or tighten a cap in protocol/caps.ts.`);
  return { alarm, dose, largest, perMember, alarmDownlink };
}
