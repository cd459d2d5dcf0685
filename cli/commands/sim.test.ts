import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FrameParser } from "../../protocol/framing.ts";
import { openSerialLinkEnd } from "../../simulator/index.ts";
import { hideKeys, runSim } from "./sim.ts";

/** `varde sim` with a bundle and its data port on a TCP port, and a client connected to it. */
async function simOnTcp(dir: string, o: { duration: string; quiet?: boolean }) {
  const bundle = join(dir, "app.js");
  writeFileSync(bundle, "var answer = 42;");
  const lines: string[] = [];
  const run = runSim({ board: "alarm-esp32", flash: join(dir, "flash.json"), bundle, tcp: "0", ...o }, (l) => lines.push(l));
  const t0 = Date.now();
  let port = 0;
  while (!port && Date.now() - t0 < 5000) {
    const m = lines.join("\n").match(/tcp:\/\/127\.0\.0\.1:(\d+)/);
    if (m) port = Number(m[1]);
    else await new Promise((r) => setTimeout(r, 20));
  }
  const sock = net.connect(port, "127.0.0.1");
  let text = "";
  sock.on("data", (d) => (text += d.toString("latin1")));
  await new Promise((r) => sock.once("connect", r));
  return { run, sock, lines, t0, got: () => text };
}

describe("varde sim", () => {
  it("runs the alarm firmware in real time on a pty, presses the button and shows LEDs and frames", async () => {
    const dir = mkdtempSync(join(tmpdir(), "varde-sim-cli-"));
    const ptyPath = join(dir, "ttyVARDE0");
    const lines: string[] = [];
    const run = runSim(
      { board: "alarm-esp32", flash: join(dir, "flash.json"), ptyLink: ptyPath, id: "9", key: "cd".repeat(32), pressAt: ["0.3"], duration: "2", quiet: true },
      (l) => lines.push(l),
    );
    const t0 = Date.now();
    while (!existsSync(ptyPath) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    const { link } = await openSerialLinkEnd(ptyPath);
    let frames = 0;
    const parser = new FrameParser(() => frames++);
    link.onData((b) => parser.push(b));
    const code = await run;
    link.close();
    expect(code).toBe(0);
    expect(lines.join("\n")).toMatch(/button +press/);
    expect(lines.some((l) => / led +\w+ ON/.test(l))).toBe(true);
    expect(frames).toBeGreaterThan(0);
    expect(existsSync(ptyPath)).toBe(false); // cleaned up
    // the flash file keeps the identity and the bundle for the next run
    const again: string[] = [];
    expect(await runSim({ board: "alarm-esp32", flash: join(dir, "flash.json"), duration: "0.2", quiet: true }, (l) => again.push(l))).toBe(0);
    expect(again.join("\n")).toMatch(/running the .bootcde already in/);
  });

  it("answers on an Espruino REPL over TCP while the console is on the data port", async () => {
    const dir = mkdtempSync(join(tmpdir(), "varde-sim-cli-"));
    const { run, sock, got, t0 } = await simOnTcp(dir, { duration: "1.5", quiet: true });
    sock.write("answer + 1\n");
    while (!got().includes("=43") && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    sock.destroy();
    expect(got()).toContain("=43");
    expect(await run).toBe(0);
  });

  it("rejects a malformed key with a message that says what is expected", async () => {
    await expect(runSim({ board: "alarm-esp32", flash: "/tmp/x.json", id: "1", key: "abc" })).rejects.toThrow(/64 hex characters/);
    const dir = mkdtempSync(join(tmpdir(), "varde-sim-cli-"));
    await expect(runSim({ board: "alarm-esp32", flash: join(dir, "f.json"), tcp: "0", faultDrop: "2" }, () => undefined)).rejects.toThrow(/probability between 0 and 1/);
  });

  it("refuses paths in folders that do not exist (creating nothing) and numbers that are not numbers", async () => {
    const dir = mkdtempSync(join(tmpdir(), "varde-sim-cli-"));
    await expect(runSim({ board: "alarm-esp32", flash: join(dir, "f.json"), ptyLink: "/nonexistent-varde/tty" }, () => undefined)).rejects.toThrow(/--pty-link \/nonexistent-varde\/tty: the folder \/nonexistent-varde does not exist; create it first/);
    expect(existsSync("/nonexistent-varde")).toBe(false);
    await expect(runSim({ board: "alarm-esp32", flash: "/nonexistent-varde/f.json" }, () => undefined)).rejects.toThrow(/--flash .*the folder \/nonexistent-varde does not exist/);
    await expect(runSim({ board: "alarm-esp32", flash: join(dir, "f.json"), duration: "abc" }, () => undefined)).rejects.toThrow(/--duration is seconds > 0, got "abc"/);
    await expect(runSim({ board: "alarm-esp32", flash: join(dir, "f.json"), pressAt: ["soon"] }, () => undefined)).rejects.toThrow(/--press-at takes seconds >= 0/);
    await expect(runSim({ board: "alarm-esp32", flash: join(dir, "f.json"), tcp: "http" }, () => undefined)).rejects.toThrow(/--tcp is a port/);
  });

  it("never prints a device key the console echoes (varde flash types the identity)", async () => {
    const key = "ab".repeat(32);
    expect(hideKeys(`{"n":31166,"h":"${key}"}`)).toContain(key); // a bundle hash stays readable
    expect(hideKeys(`>require("Storage").writeJSON("varde.id",{"id":7,"key":"${key}","kind":"alarm"})`)).toBe('>require("Storage").writeJSON("varde.id",{"id":7,"key":"<key hidden>","kind":"alarm"})');
    const dir = mkdtempSync(join(tmpdir(), "varde-sim-cli-"));
    const { run, sock, got, lines, t0 } = await simOnTcp(dir, { duration: "2" });
    // what varde flash does: write the identity, then read the device's state back (printed by the device)
    sock.write(`require("Storage").writeJSON("varde.id",{"id":7,"key":"${key}","kind":"alarm"})\n`);
    sock.write(`print(JSON.stringify({id:require("Storage").readJSON("varde.id")}))\n`);
    while (!lines.some((l) => l.includes('"id":7')) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    sock.destroy();
    expect(await run).toBe(0);
    expect(got()).toContain("varde.id"); // the console did echo the line
    expect(lines.join("\n")).toContain('"key":"<key hidden>"'); // printed, with the key hidden
    expect(lines.join("\n")).not.toContain(key);
  });
});
