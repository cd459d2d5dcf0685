import { describe, it, expect } from "vitest";
import protobuf from "protobufjs";
import { readFileSync } from "node:fs";
import { buildLock, checkCompat, readLock, unlocked, lockText, PROTO_PATH, LOCK_PATH } from "./lock.ts";

const parse = (src: string) => protobuf.parse(src).root;
const BASE = `syntax = "proto3"; package p;
enum Color { RED = 0; GREEN = 1; BLUE = 2; }
message M { uint32 a = 1; string b = 2; repeated uint32 c = 3; Color d = 4; oneof o { N x = 5; uint32 y = 6; } }
message N { bool z = 1; }`;
const lock = buildLock(parse(BASE));
const check = (src: string) => checkCompat(lock, parse(src));

describe("schema lock", () => {
  it("varde.proto is compatible with protocol/schema-lock.json", () => {
    // a failure names the field and the fix; `node --import tsx protocol/lock.ts --update` records additions
    const root = protobuf.loadSync(PROTO_PATH);
    expect(checkCompat(readLock(), root)).toEqual([]);
    const pending = unlocked(readLock(), root);
    if (pending.length) console.log(`schema-lock.json: not yet locked (run protocol/lock.ts --update): ${pending.join(", ")}`);
  });

  it("the lock file is in its canonical format", () => {
    expect(readFileSync(LOCK_PATH, "utf8")).toBe(lockText(readLock()));
  });

  it("accepts the same schema and additions", () => {
    expect(check(BASE)).toEqual([]);
    expect(check(BASE.replace("uint32 y = 6;", "uint32 y = 6; string w = 7;").replace("BLUE = 2;", "BLUE = 2; PINK = 3;"))).toEqual([]);
    expect(check(BASE + "\nmessage Q { uint64 big = 1; }")).toEqual([]);
  });

  it("rejects a reused number, a changed type or label, and renumbering", () => {
    expect(check(BASE.replace("string b = 2;", "string bee = 2;"))).toEqual([expect.stringMatching(/M\.b = 2: number 2 is now used by `bee`/)]);
    expect(check(BASE.replace("string b = 2;", "bytes b = 2;"))[0]).toMatch(/M\.b = 2: was singular string, now singular bytes/);
    expect(check(BASE.replace("repeated uint32 c = 3;", "uint32 c = 3;"))[0]).toMatch(/was repeated uint32, now singular uint32/);
    expect(check(BASE.replace("string b = 2;", "string b = 9;")).join("\n")).toMatch(/M\.b was number 2, now 9/);
  });

  it("rejects a removal unless the number is reserved", () => {
    expect(check(BASE.replace("string b = 2;", ""))[0]).toMatch(/M\.b = 2 .* removed without reserving its number: add `reserved 2;`/);
    expect(check(BASE.replace("string b = 2;", 'reserved 2; reserved "b";'))).toEqual([]);
    expect(check(BASE.replace("message N { bool z = 1; }", "message N2 { bool z = 1; }").replace("N x = 5", "N2 x = 5"))).toEqual([
      expect.stringMatching(/message p\.N was removed/),
      expect.stringMatching(/M\.x = 5: was singular p\.N, now singular p\.N2/),
    ].reverse());
  });

  it("rejects enum value reuse and removal without reserved", () => {
    expect(check(BASE.replace("BLUE = 2;", "CYAN = 2;"))[0]).toMatch(/p\.Color value 2 was BLUE, now CYAN/);
    expect(check(BASE.replace("BLUE = 2;", ""))[0]).toMatch(/p\.Color\.BLUE = 2 was removed without reserving it/);
    expect(check(BASE.replace("BLUE = 2;", "reserved 2;"))).toEqual([]);
  });
});
