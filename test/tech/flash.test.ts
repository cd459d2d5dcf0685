// varde flash and varde probe against simulated devices on real pseudo-terminals: the same code path
// as a USB cable (serialport, EspruinoTools, the Espruino console, the Varde protocol), in real time.
// One device lives through a sequence (blank -> flashed -> re-flashed via maintenance -> interrupted
// upload -> retry), so each step starts from what the previous one left, as in the field.
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

describe("flash and probe a simulated alarm button on a pty", () => {
  let sim: SimOnPty;
  let id: number;
  beforeAll(async () => {
    // room for two bundles, so the running firmware is kept while the next one is staged
    sim = await simOnPty("alarm-esp32", { flash: new Flash({ capacity: 128 * 1024 }) });
    id = provisionDevice({ registry, kind: "alarm", board: "alarm-esp32", label: "Flat 3B" }).entry.id;
  });
  afterAll(() => sim.stop());

  it("probe sees a blank Espruino at the REPL", async () => {
    const r = await probeDevice({ port: sim.port, registry, timeoutMs: 1500 });
    expect(r.mode).toBe("repl");
    expect(r.storage).toMatchObject({ id: null, firmware: null, espruino: "ESP32 2v29", bootcode: null });
  });

  it("the console answers EspruinoTools' 2v25 packet API (eval, file send, file receive)", async () => {
    // over serial: EspruinoTools' own TCP transport writes strings as UTF-8, so packets with bytes >= 0x80
    // (any DATA packet of 128+ bytes) cannot go over tcp:// with this version of the tools
    const session = await openEspruino(sim.port, { fastStorage: true });
    try {
      const conn = (globalThis as { Espruino?: any }).Espruino.Core.Serial.connection;
      expect(await conn.espruinoEval("6*7")).toBe(42);
      const content = "packet upload ".repeat(200);
      await conn.espruinoSendFile("pk.txt", content, { chunkSize: 512 });
      expect(Buffer.from(sim.dev.flash.read("pk.txt")!).toString("latin1")).toBe(content);
      expect(await conn.espruinoReceiveFile("pk.txt", {})).toBe(content);
    } finally {
      await session.close();
    }
  });

  it("flashes a blank device, which reboots into the firmware and answers as the provisioned id", async () => {
    sim.dev.evaluate("echo(0)"); // someone left the console without echo: the prompt is hidden
    const phases: Phase[] = [];
    let last = 0;
    const r = await flashDevice({ port: sim.port, board: "alarm-esp32", device: id, registry, bundle: v1, fast: true, onPhase: (p) => phases.push(p), onProgress: (d) => (last = d) });
    expect(r).toMatchObject({ id, board: "alarm-esp32", firmware: "1.0.0-test", slot: "varde.a", bytes: v1.code.length });
    expect(r.info).toMatchObject({ firmware: "1.0.0-test", board: "alarm-esp32", kind: 1 });
    expect(last).toBe(v1.code.length);
    expect(phases).toEqual(["prepare", "connect", "check", "upload", "verify", "commit", "reboot", "handshake", "done"]);
    expect(sim.dev.consoleDevice).toBe("LoopbackA"); // production: the console left the data port
    expect(sim.dev.flash.list().sort()).toEqual(expect.arrayContaining([".bootcde", "varde.a", "varde.boot", "varde.id"]));
    // Storage.writeJSON leaves keys unquoted on Espruino (2v20+), and the simulator does the same
    const idText = Buffer.from(sim.dev.flash.read("varde.id")!).toString();
    expect(idText).toMatch(/^\{id:/);
    expect(parseStorageJSON(idText)).toMatchObject({ id, kind: "alarm" });
    expect(sim.dev.errors).toEqual([]);
  });

  it("probe (also through the varde command, --json) reports identity, versions, outbox, battery, clock, flags", async () => {
    powerCycle(sim); // still boots the new firmware from flash
    const r = await probeDevice({ port: sim.port, registry });
    expect(r).toMatchObject({ mode: "firmware", id, verified: true, kind: "alarm", board: "alarm-esp32", firmware: "1.0.0-test", label: "Flat 3B" });
    expect(r.sticker).toMatch(new RegExp(`^${id}-[0-9A-Z]{5}$`));
    expect(typeof r.outboxDepth).toBe("number");
    expect(r.battery!.millivolts).toBeGreaterThan(3000);
    expect(typeof r.clockOffsetS).toBe("number");
    expect(r.errorFlags).toBe(0);
    const { stdout } = await run(process.execPath, [path.join(ROOT, "bin", "varde.js"), "probe", "--port", sim.port, "--registry", registry, "--json"]);
    expect(JSON.parse(stdout)).toMatchObject({ mode: "firmware", id, verified: true, firmware: "1.0.0-test" });
  });

  it("probe with the wrong registry: the device answers but is NOT authenticated (exit code 2)", async () => {
    const other = path.join(dir, "other-registry.toml");
    appendDevice(other, { id, kind: "alarm", board: "alarm-esp32", key: newDeviceKey(), label: "", created: "" });
    const r = await probeDevice({ port: sim.port, registry: other });
    expect(r).toMatchObject({ mode: "firmware", id, verified: false });
    expect(r.problem).toMatch(/MAC that does not match its registry key/);
    expect(r.battery).toBeUndefined(); // nothing is asked of a device that did not prove who it is
    const res = await run(process.execPath, [path.join(ROOT, "bin", "varde.js"), "probe", "--port", sim.port, "--registry", other]).catch((e) => e);
    expect(res.code).toBe(2);
    expect(res.stdout).toContain("(NOT authenticated)");
  });

  it("re-flashes a running device through maintenance access, into the other slot", async () => {
    const phases: Phase[] = [];
    const r = await flashDevice({ port: sim.port, board: "alarm-esp32", device: id, registry, bundle: v2, fast: true, onPhase: (p) => phases.push(p) });
    expect(phases).toContain("maintenance");
    expect(r.slot).toBe("varde.b");
    expect(r.info).toMatchObject({ firmware: "2.0.0-test" });
    expect(sim.dev.errors).toEqual([]);
  });

  it("an interrupted upload never boots half a bundle; the same command again flashes cleanly", async () => {
    let cut = false;
    const attempt = flashDevice({
      port: sim.port, board: "alarm-esp32", device: id, registry, bundle: v3, fast: true,
      onProgress: (done, total) => {
        if (!cut && done > total * 0.4) {
          cut = true;
          void sim.unplug(); // the cable is pulled mid-upload
        }
      },
    });
    await expect(attempt).rejects.toThrow(/upload interrupted after \d+ of \d+ bytes.*Nothing was switched/);
    expect(cut).toBe(true);
    const staged = sim.dev.flash.read("varde.a");
    expect(staged && staged.length).toBe(v3.code.length); // the idle slot holds a partial upload...
    await sim.replug();
    powerCycle(sim);
    const r = await probeDevice({ port: sim.port, registry });
    expect(r).toMatchObject({ mode: "firmware", id, verified: true, firmware: "2.0.0-test" }); // ...and is never booted
    expect(sim.dev.errors).toEqual([]);
    const details: string[] = [];
    const again = await flashDevice({ port: sim.port, board: "alarm-esp32", device: id, registry, bundle: v3, fast: true, onPhase: (p, d) => p === "upload" && details.push(d!) });
    expect(again).toMatchObject({ slot: "varde.a", firmware: "3.0.0-test" });
    expect(details[0]).toMatch(/^resuming at byte [1-9]\d* of \d+ in varde.a/);
    powerCycle(sim);
    expect((await probeDevice({ port: sim.port, registry })).firmware).toBe("3.0.0-test");
  });

  it("the varde flash command: builds the bundle, shows progress, verifies", async () => {
    const { stdout, stderr } = await run(
      process.execPath,
      [path.join(ROOT, "bin", "varde.js"), "flash", "--port", sim.port, "--board", "alarm-esp32", "--device", String(id), "--registry", registry, "--fast", "--firmware-version", "4.0.0-cli"],
      { timeout: 60_000 },
    );
    expect(stderr).toMatch(/- uploading: \d+ bytes to varde\.b/);
    expect(stderr).toMatch(/uploading \[.*\] 100% \| (\d+)\/\1 bytes/);
    expect(stderr).toContain("- checking the device answers over the Varde protocol");
    expect(stdout).toMatch(new RegExp(`^flashed device ${id}: firmware 4.0.0-cli for alarm-esp32 \\(\\d+ bytes in varde.b`));
    expect(stdout).toContain(`verified: device ${id} answers over the Varde protocol with firmware 4.0.0-cli`);
  });

  it("refuses a device that runs firmware for another board, before writing anything", async () => {
    const other = provisionDevice({ registry, kind: "dispenser", board: "dispenser-esp32" }).entry.id;
    const before = sim.dev.flash.list().length;
    await expect(flashDevice({ port: sim.port, board: "dispenser-esp32", device: other, registry, bundle: v1, fast: true })).rejects.toThrow(
      /wrong board: the device .*"alarm-esp32".* you asked for "dispenser-esp32"/,
    );
    expect(sim.dev.flash.list().length).toBe(before);
    // same refusal when the device is already at the REPL (maintenance gesture): it is put back into production
    sim.dev.evaluate("E.setConsole(Serial1)");
    await expect(flashDevice({ port: sim.port, board: "dispenser-esp32", device: other, registry, bundle: v1, fast: true })).rejects.toThrow(
      /wrong board: the device was last flashed for board "alarm-esp32" \(firmware 4.0.0-cli\).*restarted into its firmware 4.0.0-cli/,
    );
    const end = Date.now() + 3000;
    while (sim.dev.consoleDevice !== "LoopbackA" && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(sim.dev.consoleDevice).toBe("LoopbackA");
  });
});
