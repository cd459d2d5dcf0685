// varde flash against simulated devices on real pseudo-terminals: a BLE board, and the errors a
// technician meets (wrong board, no space, port missing/busy, nothing answering), plus the in-place
// update when the flash cannot hold two bundles. (The main flash/probe sequence: flash.test.ts.)
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { Flash, openPtyPair } from "../../simulator/index.ts";
import { appendDevice, newDeviceKey } from "../../gateway/registry.ts";
import { provisionDevice } from "../../cli/tech/provision.ts";
import { flashDevice, type Bundle, type Phase } from "../../cli/tech/flash.ts";
import { probeDevice } from "../../cli/tech/probe.ts";
import { bundleFor } from "../../cli/tech/bundle.ts";
import { openLink } from "../../cli/tech/link.ts";
import { openEspruino } from "../../cli/tech/espruino-tools.ts";
import { simOnPty, type SimOnPty } from "./support/sim-pty.ts";
import { parseStorageJSON } from "../support/storage-json.ts";

const run = promisify(execFile);
const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

let dir: string;
let registry: string;
let v1: Bundle;
let v2: Bundle;
let v3: Bundle;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-flash-test-"));
  registry = path.join(dir, "registry.toml");
  v1 = await bundleFor("alarm-esp32", undefined, "1.0.0-test");
  v2 = await bundleFor("alarm-esp32", undefined, "2.0.0-test");
  v3 = await bundleFor("alarm-esp32", undefined, "3.0.0-test");
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function powerCycle(sim: SimOnPty): void {
  sim.dev.powerOff();
  sim.dev.powerOn();
}

describe("a BLE board (alarm-nrf52) flashed over its serial console", () => {
  // (this harness has no simulated BLE radio, so the firmware's boot is not followed here)
  it("stages, verifies and commits; the protocol check is left to the gateway (the board talks over BLE)", async () => {
    const sim = await simOnPty("alarm-nrf52");
    try {
      const id = provisionDevice({ registry, kind: "alarm", board: "alarm-nrf52" }).entry.id;
      const bundle = await bundleFor("alarm-nrf52", undefined, "1.0.0-ble");
      const phases: Phase[] = [];
      const r = await flashDevice({ port: sim.port, board: "alarm-nrf52", device: id, registry, bundle, fast: true, onPhase: (p) => phases.push(p) });
      expect(r).toMatchObject({ id, board: "alarm-nrf52", firmware: "1.0.0-ble", espruino: { board: "PUCKJS" } });
      expect(r.info).toBeUndefined();
      expect(phases).not.toContain("handshake");
      expect(parseStorageJSON(sim.dev.flash.read("varde.boot")!)).toMatchObject({ b: "alarm-nrf52", v: "1.0.0-ble", n: bundle.code.length });
    } finally {
      await sim.stop();
    }
  });
});

describe("flash errors a technician can act on", () => {
  it("without room for two bundles: replaced in place, an interrupted upload leaves the REPL, a retry works", async () => {
    // a 28 KiB Storage area (smaller than the board's): room for one bundle (~15 KB) plus the outbox, not two
    const sim = await simOnPty("alarm-esp32", { flash: new Flash({ capacity: 28 * 1024 }) });
    try {
      const id = provisionDevice({ registry, kind: "alarm", board: "alarm-esp32" }).entry.id;
      await flashDevice({ port: sim.port, board: "alarm-esp32", device: id, registry, bundle: v1, fast: true });
      const details: string[] = [];
      let cut = false;
      await expect(
        flashDevice({
          port: sim.port, board: "alarm-esp32", device: id, registry, bundle: v2, fast: true,
          onPhase: (_p, d) => d && details.push(d),
          onProgress: (done, total) => {
            if (!cut && done > total * 0.5) {
              cut = true;
              void sim.unplug();
            }
          },
        }),
      ).rejects.toThrow(/upload interrupted/);
      expect(details.join("\n")).toMatch(/not enough flash to keep firmware 1.0.0-test while uploading: replacing it in place/);
      await sim.replug();
      sim.dev.powerOff();
      sim.dev.powerOn();
      expect(sim.dev.output).toMatch(/Varde: no verified app in flash/); // the loader refused: no half bundle ran
      expect(sim.dev.errors).toEqual([]);
      expect((await probeDevice({ port: sim.port, registry })).mode).toBe("repl");
      const resumed: string[] = [];
      const r = await flashDevice({ port: sim.port, board: "alarm-esp32", device: id, registry, bundle: v2, fast: true, onPhase: (p, d) => p === "upload" && resumed.push(d!) });
      expect(r.info).toMatchObject({ firmware: "2.0.0-test" });
      expect(resumed[0]).toMatch(/^resuming at byte/);
    } finally {
      await sim.stop();
    }
  });

  it("wrong board: the Espruino reports another chip", async () => {
    const sim = await simOnPty("alarm-nrf52");
    try {
      const id = provisionDevice({ registry, kind: "alarm", board: "alarm-esp32" }).entry.id;
      await expect(flashDevice({ port: sim.port, board: "alarm-esp32", device: id, registry, bundle: v1, fast: true })).rejects.toThrow(
        /wrong board: the device reports Espruino board PUCKJS .* board "alarm-esp32" is a ESP32/,
      );
      expect(sim.dev.flash.list()).toEqual([]);
    } finally {
      await sim.stop();
    }
  });

  it("not enough flash on the device", async () => {
    const sim = await simOnPty("alarm-esp32", { flash: new Flash({ capacity: 8 * 1024 }) });
    try {
      const id = provisionDevice({ registry, kind: "alarm", board: "alarm-esp32" }).entry.id;
      await expect(flashDevice({ port: sim.port, board: "alarm-esp32", device: id, registry, bundle: v1, fast: true })).rejects.toThrow(
        /not enough flash on the device: the bundle needs \d+ bytes, \d+ are free/,
      );
    } finally {
      await sim.stop();
    }
  });

  it("port missing, port busy, nothing answering, device not provisioned", async () => {
    const id = provisionDevice({ registry, kind: "alarm", board: "alarm-esp32" }).entry.id;
    const base = { board: "alarm-esp32", registry, bundle: v1, fast: true };
    await expect(flashDevice({ ...base, device: id, port: path.join(dir, "ttyUSB9") })).rejects.toThrow(/ttyUSB9 does not exist: is the device plugged in/);
    await expect(flashDevice({ ...base, device: 999999, port: "/dev/null" })).rejects.toThrow(/device 999999 is not in the registry/);
    const pty = await openPtyPair(dir, "silent-");
    try {
      const holder = await openLink(pty.hostPath); // e.g. the gateway still running
      await expect(flashDevice({ ...base, device: id, port: pty.hostPath })).rejects.toThrow(/is busy: another program has it open/);
      await holder.close();
      await expect(flashDevice({ ...base, device: id, port: pty.hostPath })).rejects.toThrow(/no Espruino answering on/);
    } finally {
      await pty.close();
    }
  });
});
