// The README's demo command, run as a newcomer would (non-interactive): it must show the press, the event
// at the broker, the responder's acknowledgement and the LED reaching "acknowledged", then exit 0.
import { expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../..");

it("varde demo --scripted runs one full alarm cycle and exits 0", () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, "bin/varde.js"), "demo", "--scripted", "--ack-after", "0.5"], { encoding: "utf8", timeout: 90_000 });
  const out = r.stdout + r.stderr;
  expect(r.status, out).toBe(0);
  expect(out).toMatch(/patient +presses the alarm button/);
  expect(out).toMatch(/broker +varde\/v1\/demo-gw\/device\/1001\/event\/alarm +QoS 1 +alarm id=1001:\d+:\d+/);
  expect(out).toMatch(/responder +acknowledges alarm 1001:\d+/);
  expect(out).toMatch(/LED: green steady/);
  expect(out).toMatch(/button shows "acknowledged"/);
}, 120_000);
