import { describe, it, expect } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { appendDevice, loadRegistry, newDeviceKey, nextDeviceId } from "./registry.ts";

function tmp(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), "varde-reg-")), "registry.toml");
}

describe("registry", () => {
  it("appends devices and loads them back with key bytes", () => {
    const p = tmp();
    expect(loadRegistry(p).devices).toEqual([]);
    const key = newDeviceKey();
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    appendDevice(p, { id: 1001, kind: "alarm", board: "alarm-esp32", key, label: "Flat \"3B\"", created: "2026-11-23T05:00:00.000Z" });
    appendDevice(p, { id: 1002, kind: "dispenser", board: "dispenser-esp32", key: newDeviceKey(), label: "", created: "" });
    const reg = loadRegistry(p);
    expect(reg.devices.map((d) => d.id)).toEqual([1001, 1002]);
    expect(reg.devices[0].label).toBe('Flat "3B"');
    expect(Buffer.from(reg.byId.get(1001)!.keyBytes).toString("hex")).toBe(key);
    expect(nextDeviceId(reg)).toBe(1003);
    expect((fs.statSync(p).mode & 0o777).toString(8)).toBe("600");
  });

  it("refuses a duplicate id and a bad key, naming file and key", () => {
    const p = tmp();
    appendDevice(p, { id: 7, kind: "alarm", board: "alarm-esp32", key: newDeviceKey(), label: "", created: "" });
    expect(() => appendDevice(p, { id: 7, kind: "alarm", board: "alarm-esp32", key: newDeviceKey(), label: "", created: "" })).toThrow(/already provisioned/);
    fs.appendFileSync(p, '\n[[device]]\nid = 8\nkind = "alarm"\nboard = "alarm-esp32"\nkey = "abc"\n');
    expect(() => loadRegistry(p)).toThrow(new RegExp(`${p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: device #2 \\(id 8\\): key "key" must be 64 hex`));
  });
});
