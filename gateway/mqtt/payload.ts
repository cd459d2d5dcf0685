// Payload codec for backend messages: protobuf (default) or JSON ([mqtt] payload_format = "json").
// JSON uses protobufjs's JSON form: camelCase field names, enums as names, 64-bit as numbers.
// Incoming payloads (commands, acks) are accepted in either form: a payload starting with "{" is JSON.
import { type, decodeMessage, encodeMessage } from "../wire.ts";

export type PayloadFormat = "protobuf" | "json";

export function encodePayload(format: PayloadFormat, typeName: string, obj: Record<string, any>): Buffer {
  if (format === "protobuf") return Buffer.from(encodeMessage(typeName, obj));
  const t = type(typeName);
  const msg = t.fromObject(obj);
  return Buffer.from(JSON.stringify(t.toObject(msg, { enums: String, longs: Number, defaults: false })));
}

export function decodePayload(typeName: string, bytes: Uint8Array): any {
  if (bytes.length > 0 && bytes[0] === 0x7b /* { */) {
    const t = type(typeName);
    let obj: unknown;
    try {
      obj = JSON.parse(Buffer.from(bytes).toString("utf8"));
    } catch (e) {
      throw new Error(`not valid JSON for ${typeName}: ${(e as Error).message}`);
    }
    return t.toObject(t.fromObject(obj as object), { enums: Number, longs: Number, defaults: false });
  }
  return decodeMessage(typeName, bytes);
}

export function contentType(format: PayloadFormat, typeName: string): string {
  return format === "json" ? "application/json" : `application/x-protobuf; proto=varde.v1.${typeName}`;
}
