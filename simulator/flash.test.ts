import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Flash, FlashFullError, HEADER_BYTES } from "./flash.ts";

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

  it("writes at an offset only onto erased bytes, as Espruino's Storage.write does", () => {
    const f = new Flash({ capacity: 1024 });
    f.write("log", b("ab"), 0, 8);
    expect(Array.from(f.read("log")!)).toEqual([0x61, 0x62, 255, 255, 255, 255, 255, 255]);
    f.write("log", b("cd"), 2);
    expect(Buffer.from(f.read("log")!.subarray(0, 4)).toString()).toBe("abcd");
    expect(() => f.write("log", b("x"), 1)).toThrow("File already written with different data");
    expect(() => f.write("log", b("xyz"), 7)).toThrow("Too much data for file size");
    expect(() => f.write("nofile", b("x"), 3)).toThrow("Unable to find or create file");
    expect(() => f.write("empty", new Uint8Array(0))).toThrow("Can't create zero length file");
    // offset 0 without a size: a new file of the data's length replaces the old one
    f.write("log", new Uint8Array([0x0f]), 0);
    expect(Array.from(f.read("log")!)).toEqual([0x0f]);
  });

  it("programs StorageFile chunks in place with flash semantics (bits only clear)", () => {
    const f = new Flash({ capacity: 1024 });
    f.write("sf\x01", new Uint8Array(0), 0, 16, true);
    f.program("sf\x01", 0, b("a\xffb\n"));
    f.program("sf\x01", 1, b("c\n"));
    expect(Array.from(f.read("sf\x01")!.subarray(0, 4))).toEqual([0x61, 0x63, 0x62 & 0x0a, 0x0a]);
  });

  it("prints Espruino's compaction progress", () => {
    const f = new Flash({ capacity: 65536, pageBytes: 1024 });
    const out: string[] = [];
    f.onConsole = (t) => out.push(t);
    f.write("trash", b("x"));
    f.erase("trash");
    for (let i = 0; i < 3; i++) f.write("f" + i, new Uint8Array(16384 - 32));
    f.compact();
    expect(out).toEqual(["Compacting... \b-\b\\\n"]);
    f.compact(); // nothing to do: no message
    expect(out.length).toBe(1);
  });

  it("enforces names and the size limit, compacting automatically first", () => {
    const f = new Flash({ capacity: 256 });
    expect(() => f.write("x".repeat(29), b("1"))).toThrow(/limit is 28/);
    f.write("x".repeat(28), b("1"));
    f.write("big", new Uint8Array(150));
    f.write("big", new Uint8Array(150).fill(1)); // needs the old copy compacted away
    expect(f.compactions).toBe(1);
    expect(() => f.write("more", new Uint8Array(100))).toThrow(FlashFullError);
    expect(() => f.write("more", new Uint8Array(100))).toThrow("Unable to find or create file");
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
