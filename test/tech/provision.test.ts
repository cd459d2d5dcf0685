import { describe, it, expect } from "vitest";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { loadRegistry } from "../../gateway/registry.ts";
import { provisionDevice } from "../../cli/tech/provision.ts";
import { checkCode, deviceLabel } from "../../cli/tech/label.ts";

const run = promisify(execFile);
const VARDE = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "varde.js");
const tmpRegistry = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "varde-prov-")), "registry.toml");

describe("varde provision", () => {
  it("appends new ids with fresh keys that the gateway's registry loader reads back", () => {
    const reg = tmpRegistry();
    const now = () => new Date("2026-11-23T05:00:00Z");
    const a = provisionDevice({ registry: reg, kind: "alarm", board: "alarm-esp32", label: "Flat 3B", now });
    const b = provisionDevice({ registry: reg, kind: "dispenser", board: "dispenser-esp32", now });
    const c = provisionDevice({ registry: reg, kind: "alarm", board: "alarm-nrf52", id: 5000, now });
    expect([a.entry.id, b.entry.id, c.entry.id]).toEqual([1001, 1002, 5000]);
    expect(a.entry.key).toMatch(/^[0-9a-f]{64}$/);
    expect(a.entry.key).not.toBe(b.entry.key);
    const loaded = loadRegistry(reg);
    expect(loaded.devices.map((d) => [d.id, d.kind, d.board, d.label])).toEqual([
      [1001, "alarm", "alarm-esp32", "Flat 3B"],
      [1002, "dispenser", "dispenser-esp32", ""],
      [5000, "alarm", "alarm-nrf52", ""],
    ]);
    expect(loaded.byId.get(1001)!.key).toBe(a.entry.key);
    expect(loaded.byId.get(1001)!.created).toBe("2026-11-23T05:00:00.000Z");
    expect(a.sticker).toBe(deviceLabel(1001, a.entry.key));
  });

  it("labels: id plus a 5-char Crockford check code bound to the key", () => {
    const k1 = "11".repeat(32);
    const k2 = "11".repeat(31) + "12";
    expect(deviceLabel(1001, k1)).toMatch(/^1001-[0-9A-HJKMNP-TV-Z]{5}$/);
    expect(checkCode(1001, k1)).toBe(checkCode(1001, k1.toUpperCase()));
    expect(checkCode(1001, k1)).not.toBe(checkCode(1001, k2));
    expect(checkCode(1001, k1)).not.toBe(checkCode(1002, k1));
  });

  it("refuses what a technician could get wrong, saying what to do", () => {
    const reg = tmpRegistry();
    expect(() => provisionDevice({ registry: reg, kind: "dispenser", board: "alarm-esp32" })).toThrow(/is for alarm devices, not dispenser; pick a dispenser board or change --kind/);
    expect(() => provisionDevice({ registry: reg, kind: "pager", board: "alarm-esp32" })).toThrow(/use --kind alarm or --kind dispenser/);
    expect(() => provisionDevice({ registry: reg, kind: "alarm", board: "alarm-esp99" })).toThrow(/no such board file; known boards: .*alarm-esp32/);
    provisionDevice({ registry: reg, kind: "alarm", board: "alarm-esp32", id: 7 });
    expect(() => provisionDevice({ registry: reg, kind: "alarm", board: "alarm-esp32", id: 7 })).toThrow(/id 7 is already provisioned/);
    expect(loadRegistry(reg).devices).toHaveLength(1);
    // a registry in a folder that does not exist, or a folder given as the registry: the fix, not ENOENT
    expect(() => provisionDevice({ registry: "/nonexistent-varde/registry.toml", kind: "alarm", board: "alarm-esp32" })).toThrow(/the folder \/nonexistent-varde does not exist; create it \(mkdir -p \/nonexistent-varde\)/);
    expect(() => provisionDevice({ registry: path.dirname(reg), kind: "alarm", board: "alarm-esp32" })).toThrow(/is a directory; give the registry file/);
  });

  it("the varde command prints the sticker code and the label (JSON without the key) and fails with one readable line", async () => {
    const reg = tmpRegistry();
    const { stdout } = await run(process.execPath, [VARDE, "provision", "--kind", "alarm", "--board", "alarm-esp32", "--registry", reg, "--label", "Flat 3B", "--json"]);
    const out = JSON.parse(stdout);
    expect(out).toMatchObject({ id: 1001, kind: "alarm", board: "alarm-esp32", label: "Flat 3B" });
    expect(out.key).toBeUndefined();
    expect(out.sticker).toBe(deviceLabel(1001, loadRegistry(reg).byId.get(1001)!.key));
    // the text says the same words: label = the free text, sticker = the code on the device
    const text = (await run(process.execPath, [VARDE, "provision", "--kind", "alarm", "--board", "alarm-esp32", "--registry", reg, "--label", "Flat 4A"])).stdout;
    expect(text).toMatch(/^provisioned alarm 1002 on board alarm-esp32 \(Flat 4A\)$/m);
    expect(text).toContain(`sticker:  ${deviceLabel(1002, loadRegistry(reg).byId.get(1002)!.key)}`);
    expect(text).not.toMatch(/^label:/m);
    const err = await run(process.execPath, [VARDE, "provision", "--kind", "dispenser", "--board", "alarm-esp32", "--registry", reg]).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/^varde provision: board "alarm-esp32" .* is for alarm devices/);
    expect(err.stderr.trim().split("\n")).toHaveLength(1);
  });
});
