import { describe, it, expect } from "vitest";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generate, FIELDS_PATH, MESSAGES_PATH, PROTO_PATH } from "./generate.ts";

function tempProto(extra: string): string {
  const dir = mkdtempSync(join(tmpdir(), "varde-gen-"));
  const p = join(dir, "t.proto");
  writeFileSync(p, readFileSync(PROTO_PATH, "utf8") + "\n" + extra);
  return p;
}

describe("codec generator", () => {
  it("committed fields.ts and messages.ts are what the generator produces from varde.proto", () => {
    // if this fails: node --import tsx protocol/gen/generate.ts, then commit protocol/gen/
    const out = generate(PROTO_PATH);
    expect(readFileSync(FIELDS_PATH, "utf8")).toBe(out.fields);
    expect(readFileSync(MESSAGES_PATH, "utf8")).toBe(out.messages);
  });

  it("leaves out messages not reachable from Envelope (backend section)", () => {
    const out = generate(tempProto("message BackendOnly { uint64 big = 1; map<string, uint32> m = 2; }"));
    expect(out.fields + out.messages).not.toContain("BackendOnly");
    // keys: field number * 8 + wire type (+ 1024 for sint32)
    expect(out.fields).toContain("export const enum Envelope {\n  device = 8,\n  boot = 21,");
    expect(out.fields).toContain("  detail = 1048,"); // Fault.detail: sint32 field 3 -> 3*8 + 0 + 1024
    expect(out.fields).toContain("  FAULT_DOSE_RELEASED = 14,");
  });

  it("rejects a 64-bit field reachable from Envelope with an actionable message", () => {
    const p = tempProto("").replace(/$/, "");
    const text = readFileSync(p, "utf8").replace("uint32 nonce = 1;\n  uint32 gateway_time = 2;", "uint32 nonce = 1;\n  uint64 gateway_time = 2;");
    writeFileSync(p, text);
    expect(() => generate(p)).toThrow(/gatewayTime: type uint64 cannot go on the device link/);
    writeFileSync(p, text.replace("uint64 gateway_time = 2;", "float gateway_time = 2;"));
    expect(() => generate(p)).toThrow(/gatewayTime: type float cannot go on the device link .*no float\/double/);
  });

  it("rejects repeated scalars on the device link (pb.ts reads repeated messages, strings, bytes only)", () => {
    const p = tempProto("");
    writeFileSync(p, readFileSync(p, "utf8").replace("uint32 millis = 2;", "repeated uint32 millis = 2;"));
    expect(() => generate(p)).toThrow(/millis: repeated scalars are not supported on the device link/);
  });
});
