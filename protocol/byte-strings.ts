// Node side of the firmware's byte strings (protocol/pb.ts): the firmware carries text as its UTF-8
// bytes, one char per byte. These convert a plain message object between that form and JS strings,
// deeply (Uint8Array values are left alone). Node only.

function mapStrings(v: any, f: (s: string) => string): any {
  if (typeof v === "string") return f(v);
  if (v === null || typeof v !== "object" || v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return v.map((x) => mapStrings(x, f));
  const out: any = {};
  for (const [k, x] of Object.entries(v)) out[k] = mapStrings(x, f);
  return out;
}

/** JS strings -> byte strings (UTF-8 bytes as chars 0..255). */
export function toByteStrings(obj: any): any {
  return mapStrings(obj, (s) => Buffer.from(s, "utf8").toString("latin1"));
}

/** Byte strings -> JS strings (decoded as UTF-8; invalid sequences become U+FFFD as in protobufjs). */
export function fromByteStrings(obj: any): any {
  return mapStrings(obj, (s) => Buffer.from(s, "latin1").toString("utf8"));
}
