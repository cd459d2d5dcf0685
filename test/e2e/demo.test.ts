// The README's demo command, run as a newcomer would (non-interactive): the alarm button and the
// medication dispenser through the real gateway and embedded broker — press → alarm at the broker →
// responder's acknowledgement → green LED; a dose reminded and taken, one reminded and missed — then exit
// 0 with the logs kept. The dispenser's clock fast-forwards between doses (--speed; the default 60 shows
// a newcomer the dose cycle within about a minute, 300 keeps this test short). A step that fails says
// what it waited for and keeps the logs; a board that is not an alarm button is refused at once.
import { afterEach, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { VARDE, runDemo } from "../support/demo.ts";

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length) fs.rmSync(dirs.pop()!, { recursive: true, force: true });
});
const demo = async (args: string[]) => {
  const r = await runDemo(args);
  dirs.push(r.logDir);
  return r;
};

describe("varde demo", () => {
  it("both devices: alarm acknowledged; dose reminded and taken, dose reminded and missed; logs kept", async () => {
    const r = await demo(["--ack-after", "0.5", "--speed", "300"]);
    const out = r.out;
    expect(r.code, out).toBe(0);
    // the alarm button
    expect(out).toMatch(/patient +presses the alarm button/);
    expect(out).toMatch(/broker +varde\/v1\/demo-gw\/device\/1001\/event\/alarm +QoS 1 +ALARM .* id=1001:\d+:\d+/);
    expect(out).toMatch(/responder +the automatic responder acknowledges alarm 1001:\d+:\d+ \(command ack-alarm/); // the whole event id
    expect(out.match(/acknowledges? alarm \d/g)).toHaveLength(1); // once
    expect(out).toMatch(/button +LED: green steady/);
    expect(out).not.toMatch(/no acknowledgement in time/);
    // the dispenser, through the same gateway and broker
    expect(out).toMatch(/broker +varde\/v1\/demo-gw\/device\/1002\/event\/schedule_ack .* schedule version 2 in use/);
    expect(out.match(/event\/dose +QoS 1 +dose reminder \(compartment [12]\)/g)).toHaveLength(2);
    expect(out).toMatch(/event\/dose +QoS 1 +dose taken \(compartment 1, \d+ s after the dose time\) .*\[VKP dispense 1\.1, SCAIP 0083\]/);
    expect(out).toMatch(/event\/dose +QoS 1 +dose missed \(compartment 2\) .*\[VKP alert 1\.1, SCAIP 0081\]/);
    expect(out).toMatch(/demo +done: both devices/);
    // the logs stay where the transcript says
    for (const f of ["demo.log", "gateway.log", "alarm-console.log", "dispenser-console.log", "gateway.toml", "registry.toml"]) expect(fs.existsSync(path.join(r.logDir, f)), f).toBe(true);
    expect(fs.readFileSync(path.join(r.logDir, "demo.log"), "utf8")).toContain("dose missed (compartment 2)");
    expect(fs.readFileSync(path.join(r.logDir, "gateway.log"), "utf8")).toContain('"msg":"gateway started"');
  }, 120_000);

  it("a step that fails names what it waited for and keeps the logs", async () => {
    // nobody acknowledges the alarm (manual ack, scripted): the button never turns green
    const r = await demo(["--manual-ack", "--timeout", "3"]);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(/demo +FAILED: timed out after 3 s waiting for the alarm button to show "acknowledged"/);
    expect(r.out).toMatch(/devices online: 1001/);
    expect(r.out).toContain(`logs kept in ${r.logDir}`);
    expect(fs.readFileSync(path.join(r.logDir, "demo.log"), "utf8")).toMatch(/FAILED/);
    expect(fs.statSync(path.join(r.logDir, "gateway.log")).size).toBeGreaterThan(0);
  }, 60_000);

  it("--board offers only alarm buttons, at once, with the choices", () => {
    const r = spawnSync(process.execPath, [VARDE, "demo", "--scripted", "--board", "dispenser-esp32"], { encoding: "utf8", timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--board dispenser-esp32 is a dispenser, not an alarm button; the dispenser \(dispenser-esp32\) is always in the demo, and --board chooses the alarm button: alarm-esp32 or alarm-nrf52/);
  });
});
