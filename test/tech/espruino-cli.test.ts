// The official `espruino` command line (node_modules/espruino, unmodified, as a child process) against a
// simulated device's TCP console: it connects, detects the board from process.env, uploads a Storage
// file and the app bundle straight to flash (SAVE_ON_SEND=1: .bootcde), calls load(), and the
// simulated device then boots that bundle and answers over the Varde protocol. Then varde flash takes
// the device over through the same TCP port.
// (The CLI cannot open a pseudo-terminal path itself: it lists serial ports through udev. `varde flash`
// adds the path for it; see cli/tech/espruino-tools.ts.)
import { describe, it, expect, afterAll, beforeAll } from "vitest";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { Flash, RealtimeClock, SimDevice, SimRepl, listenTcpLink, type TcpLink } from "../../simulator/index.ts";
import { provisionDevice } from "../../cli/tech/provision.ts";
import { probeDevice } from "../../cli/tech/probe.ts";
import { bundleFor } from "../../cli/tech/bundle.ts";
import { flashDevice } from "../../cli/tech/flash.ts";

const run = promisify(execFile);
const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const CLI = path.join(ROOT, "node_modules", "espruino", "bin", "espruino-cli.js");

describe("the real espruino CLI and the simulated console", () => {
  let dir: string;
  let link: TcpLink;
  let clock: RealtimeClock;
  let dev: SimDevice;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-cli-test-"));
    link = await listenTcpLink(0);
    clock = new RealtimeClock();
    const repl = new SimRepl();
    // a 28 KiB Storage area (smaller than the board's 256 KiB) so a foreign .bootcde leaves no room for a second bundle (~15 KB)
    dev = new SimDevice({ board: "alarm-esp32", clock, link, providers: [repl.provider], rtc: "keep", flash: new Flash({ capacity: 28 * 1024 }) });
    repl.attach(dev);
    dev.powerOn();
  });
  afterAll(() => {
    dev.powerOff();
    clock.stop();
    link.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("evaluates an expression and reports the board", async () => {
    const { stdout } = await run(process.execPath, [CLI, "--no-ble", "-p", `tcp://127.0.0.1:${link.port}`, "-e", "print(process.env.BOARD, 6*7)"], { timeout: 20_000 });
    expect(stdout).toContain("--] ESP32 42");
  });

  it("uploads an identity and the bundle to flash; the device boots it", async () => {
    const registry = path.join(dir, "registry.toml");
    const p = provisionDevice({ registry, kind: "alarm", board: "alarm-esp32" });
    const bundle = await bundleFor("alarm-esp32", undefined, "7.7.7-cli");
    fs.writeFileSync(path.join(dir, "app.js"), bundle.code, "latin1");
    fs.writeFileSync(path.join(dir, "id.json"), JSON.stringify({ id: p.entry.id, key: p.entry.key, kind: "alarm" }));
    await run(
      process.execPath,
      [CLI, "--no-ble", "-p", `tcp://127.0.0.1:${link.port}`, "--config", "SAVE_ON_SEND=1", "--config", "STORAGE_UPLOAD_METHOD=1", "--storage", "varde.id:id.json", "app.js"],
      { cwd: dir, timeout: 30_000 },
    );
    expect(Buffer.from(dev.flash.read(".bootcde")!).toString("latin1")).toBe(bundle.code);
    const end = Date.now() + 5000;
    while (dev.consoleDevice !== "LoopbackA" && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(dev.consoleDevice).toBe("LoopbackA"); // the firmware booted and took the data port
    const r = await probeDevice({ port: `tcp://127.0.0.1:${link.port}`, registry });
    expect(r).toMatchObject({ mode: "firmware", id: p.entry.id, verified: true, firmware: "7.7.7-cli" });
    expect(dev.errors).toEqual([]);

    // and varde flash over the same TCP port takes it over (maintenance access; the foreign .bootcde
    // leaves no room for a second bundle, so the loader replaces it first)
    const next = await bundleFor("alarm-esp32", undefined, "8.8.8-tcp");
    const details: string[] = [];
    const f = await flashDevice({ port: `tcp://127.0.0.1:${link.port}`, board: "alarm-esp32", device: p.entry.id, registry, bundle: next, fast: true, onPhase: (_p, d) => d && details.push(d) });
    expect(f.info).toMatchObject({ firmware: "8.8.8-tcp" });
    expect(details.join("\n")).toMatch(/maintenance access[\s\S]*replacing it with the Varde loader first/);
    expect(dev.errors).toEqual([]);
  });
});
