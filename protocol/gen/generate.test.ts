import { describe, it, expect } from "vitest";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateCodec, CODEC_PATH, PROTO_PATH } from "./generate.ts";

function tempProto(extra: string): string {
  const dir = mkdtempSync(join(tmpdir(), "varde-gen-"));
  const p = join(dir, "t.proto");
  writeFileSync(p, readFileSync(PROTO_PATH, "utf8") + "\n" + extra);
  return p;
}

describe("codec generator", () => {
  it("committed codec.ts is what the generator produces from varde.proto", () => {
    // if this fails: node --import tsx protocol/gen/generate.ts, then commit protocol/gen/codec.ts
    expect(readFileSync(CODEC_PATH, "utf8")).toBe(generateCodec(PROTO_PATH));
  });

  it("leaves out messages not reachable from Envelope (backend section)", () => {
    const src = generateCodec(tempProto("message BackendOnly { uint64 big = 1; map<string, uint32> m = 2; }"));
    expect(src).not.toContain("BackendOnly");
    expect(src).toContain('Envelope: "|1,device,u|2,boot,f|');
  });

  it("rejects a 64-bit field reachable from Envelope with an actionable message", () => {
    const p = tempProto("").replace(/$/, "");
    const text = readFileSync(p, "utf8").replace("uint32 nonce = 1;\n  uint32 gateway_time = 2;", "uint32 nonce = 1;\n  uint64 gateway_time = 2;");
    writeFileSync(p, text);
    expect(() => generateCodec(p)).toThrow(/gatewayTime: type uint64 cannot go on the device link/);
    writeFileSync(p, text.replace("uint64 gateway_time = 2;", "float gateway_time = 2;"));
    expect(() => generateCodec(p)).toThrow(/gatewayTime: type float cannot go on the device link .*no float\/double/);
  });
});
