// `varde flash` against the REAL interpreter (espruino-nrf52 with its console on telnet, as a board's
// console is on its USB or BLE port): upload through the Espruino tools, verify, commit the identity with
// Storage.writeJSON (keys unquoted on Espruino since 2v20), reboot, and the Varde handshake on the data
// port — which proves the firmware read its identity back and authenticates with its key.
import { afterAll, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describeEspruino, EspruinoSandbox, openInterpreterPty, type InterpreterPty } from "../support/espruino.ts";
import { provisionDevice } from "../../cli/tech/provision.ts";
import { flashDevice, type Phase } from "../../cli/tech/flash.ts";
import { bundleFor } from "../../cli/tech/bundle.ts";

describeEspruino("varde flash on the real interpreter (telnet console)", () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it("uploads, verifies, commits the identity, reboots; the firmware answers a Varde Hello on its data port", async () => {
    const box = await EspruinoSandbox.create("nrf52");
    cleanup.push(() => box.dispose());
    const data: InterpreterPty = await openInterpreterPty(box.dir, "data-");
    const io: InterpreterPty = await openInterpreterPty(box.dir, "io-");
    cleanup.push(() => data.close(), () => io.close());
    // the host board's wiring (its data port and pins on pseudo-terminals), as the rig in the factory has it
    await box.runOk(`require("Storage").writeJSON("varde.host",${JSON.stringify({ d: data.devicePath, i: io.devicePath, in: {} })});`);
    const dev = await box.boot({ telnet: true });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-flash-real-"));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const registry = path.join(dir, "registry.toml");
    const id = provisionDevice({ registry, kind: "alarm", board: "alarm-host" }).entry.id;
    const bundle = await bundleFor("alarm-host", undefined, "4.2.0-real");
    const phases: Phase[] = [];
    const r = await flashDevice({
      port: `tcp://127.0.0.1:${dev.telnetPort}`, board: "alarm-host", device: id, registry, bundle, fast: true,
      dataPort: data.hostPath, handshakeMs: 30_000, onPhase: (p) => phases.push(p),
    });
    expect(phases).toEqual(expect.arrayContaining(["upload", "verify", "commit", "reboot", "handshake"]));
    expect(r.espruino.board).toBe("LINUX_NRF52");
    expect(r.info).toMatchObject({ firmware: "4.2.0-real", board: "alarm-host", kind: 1 });
    // what the firmware reads from flash, read back on the interpreter: the identity as writeJSON wrote it
    const idText = Buffer.from((await box.readStorage("varde.id"))!).toString("latin1");
    expect(idText).toMatch(/^\{id:\d+,key:"[0-9a-f]{64}",kind:"alarm"\}$/);
    expect(dev.output).not.toMatch(/Uncaught|no identity/);
  }, 240_000);
});
