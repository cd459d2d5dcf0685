import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { loadBoard, listBoards, parseBoard, boardPath } from "./boards.ts";

describe("boards", () => {
  it("lists and loads both alarm boards with their budgets", () => {
    const ids = listBoards();
    expect(ids).toContain("alarm-esp32");
    expect(ids).toContain("alarm-nrf52");
    const esp = loadBoard("alarm-esp32");
    expect(esp.kind).toBe("alarm");
    expect(esp.memory.jsvars).toBe(16383);
    expect(esp.memory.var_bytes).toBe(16);
    expect(esp.data.transport).toBe("serial");
    const nrf = loadBoard("alarm-nrf52");
    expect(nrf.memory.jsvars).toBe(2630);
    expect(nrf.memory.var_bytes).toBe(13);
    expect(nrf.data.mtu_payload).toBe(50);
    expect(nrf.data.service).toMatch(/^[0-9a-f-]{36}$/);
    expect(nrf.pins.button).toBe("D0");
  });

  it("loads by path as well as id", () => {
    expect(loadBoard(boardPath("alarm-esp32")).id).toBe("alarm-esp32");
  });

  const text = readFileSync(boardPath("alarm-esp32"), "utf8");
  const file = "/x/alarm-esp32.toml";
  it("names the file, key, value and fix for a bad pin", () => {
    expect(() => parseBoard(file, text.replace('led_red = "D25"', 'led_red = "D99"'))).toThrow(
      /alarm-esp32\.toml: key "pins\.led_red" got "D99"; expected an Espruino pin name/,
    );
  });
  it("rejects a missing budget", () => {
    expect(() => parseBoard(file, text.replace(/bundle_budget = \d+/, ""))).toThrow(/key "memory\.bundle_budget" missing; expected a whole number/);
  });
  it("rejects an unknown kind and an id that does not match the file", () => {
    expect(() => parseBoard(file, text.replace('kind = "alarm"', 'kind = "toaster"'))).toThrow(/key "kind" got "toaster"/);
    expect(() => parseBoard("/x/other.toml", text)).toThrow(/key "id" got "alarm-esp32"; expected "other"/);
  });
  it("rejects backoff max below min and broken TOML", () => {
    expect(() => parseBoard(file, text.replace("backoff_max_s = 60", "backoff_max_s = 0"))).toThrow(/backoff_max_s/);
    expect(() => parseBoard(file, text + "\n[[[")).toThrow(/not valid TOML/);
  });
  it("checks keys against each other", () => {
    expect(() => parseBoard(file, text.replace(/storage_bytes = \d+/, "storage_bytes = 4096"))).toThrow(/memory\.bundle_budget" got 40960; expected less than memory\.storage_bytes \(4096\)/);
    expect(() => parseBoard(file, text.replace("heartbeat_s = 300", "heartbeat_s = 7200"))).toThrow(/defaults\.heartbeat_s" got 7200; expected 30\.\.3600 seconds/);
  });
  it("keeps kind-specific sections open", () => {
    const b = parseBoard(file, text + '\n[dispenser]\ncompartments = 28\n');
    expect(b.extra.dispenser).toEqual({ compartments: 28 });
  });
  it("explains an unknown board id", () => {
    expect(() => loadBoard("nope")).toThrow(/no such board file; known boards: .*alarm-esp32/);
  });
});
