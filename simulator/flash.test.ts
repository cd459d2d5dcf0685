import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Flash, FlashFullError, FlashUsageError, HEADER_BYTES } from "./flash.ts";

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "latin1"));

describe("Flash", () => {
  it("writes, replaces, erases and keeps trash until compaction", () => {
    const f = new Flash({ capacity: 1024 });
    f.write("a", b("hello"));
    expect(Buffer.from(f.read("a")!).toString()).toBe("hello");
    expect(f.getStats()).toMatchObject({ fileCount: 1, fileBytes: HEADER_BYTES + 8, trashCount: 0 });
    f.write("a", b("hello")); // identical: no wear
    expect(f.getStats().trashCount).toBe(0);
    f.write("a", b("world!"));
    expect(f.getStats()).toMatchObject({ fileCount: 1, trashCount: 1 });
    f.erase("a");
    expect(f.read("a")).toBeUndefined();
    expect(f.getStats().trashCount).toBe(2);
    f.compact();
    expect(f.getStats()).toMatchObject({ fileCount: 0, trashCount: 0, freeBytes: 1024 });
  });

  it("programs in place with flash semantics (bits only clear)", () => {
    const f = new Flash({ capacity: 1024 });
    f.write("log", b("ab"), 0, 8);
    expect(Array.from(f.read("log")!)).toEqual([0x61, 0x62, 255, 255, 255, 255, 255, 255]);
    f.write("log", b("cd"), 2);
    expect(Buffer.from(f.read("log")!.subarray(0, 4)).toString()).toBe("abcd");
    f.write("log", new Uint8Array([0x0f]), 0);
    expect(f.read("log")![0]).toBe(0x61 & 0x0f);
    expect(() => f.write("log", b("xyz"), 7)).toThrow(FlashUsageError);
    expect(() => f.write("nofile", b("x"), 3)).toThrow(/does not exist/);
  });

  it("enforces names and the size limit, compacting automatically first", () => {
    const f = new Flash({ capacity: 256 });
    expect(() => f.write("x".repeat(29), b("1"))).toThrow(/limit is 28/);
    f.write("x".repeat(28), b("1"));
    f.write("big", new Uint8Array(150));
    f.write("big", new Uint8Array(150).fill(1)); // needs the old copy compacted away
    expect(f.compactions).toBe(1);
    expect(() => f.write("more", new Uint8Array(100))).toThrow(FlashFullError);
    expect(f.read("big")![0]).toBe(1);
  });

  it("persists to a file and survives a new process-level instance", () => {
    const path = join(mkdtempSync(join(tmpdir(), "varde-flash-")), "dev.flash.json");
    const f = new Flash({ capacity: 4096, path });
    f.write("varde.id", b('{"id":7}'));
    f.write("junk", b("x"));
    f.erase("junk");
    const g = new Flash({ capacity: 4096, path });
    expect(Buffer.from(g.read("varde.id")!).toString()).toBe('{"id":7}');
    expect(g.getStats()).toEqual(f.getStats());
    expect(() => new Flash({ capacity: 8192, path })).toThrow(/4096 bytes but the board has 8192/);
  });
});
