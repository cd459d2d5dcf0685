// `varde gateway` as an operator meets it: a fatal start-up error exits non-zero (issue 14 item 1), the
// readable output names causes once per cause and change of state (item 4), `varde status` finds a
// gateway without a fixed status port (item 3), and a reader that goes away plus Ctrl-C is a graceful
// stop, not an EPIPE stack trace (item 7).
import { afterEach, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { loadConfig, type GatewayHandle } from "../../gateway/index.ts";
import { makeTestPki, startMosquitto } from "../../test/support/mosquitto.ts";
import { until } from "../../test/support/wait.ts";
import { runGatewayCli } from "./run-gateway.ts";
import { statusOf } from "./status-of.ts";

const VARDE = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "varde.js");
const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "varde-gwcli-"));
  cleanup.push(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

/** a line about the broker connection (not the start line, which names the broker too) */
const isBrokerLine = (l: string) => /broker \S+ (not connected|still not connected)|connected to broker/.test(l);

function capture(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  let buf = "";
  const stream = new Writable({
    write(c, _e, cb) {
      buf += c.toString();
      const parts = buf.split("\n");
      buf = parts.pop()!;
      lines.push(...parts);
      cb();
    },
  });
  return { stream, lines };
}

/** The gateway command in this process, stopped by calling stop(). */
async function inProcess(configText: string) {
  const dir = tmp();
  const config = path.join(dir, "gateway.toml");
  fs.writeFileSync(config, configText);
  const out = capture();
  const err = capture();
  let stop!: (s: string) => void;
  const stopSignal = new Promise<string>((r) => (stop = r));
  let gw: GatewayHandle | null = null;
  const done = runGatewayCli({ config, stdout: out.stream, stderr: err.stream, stopSignal, onStarted: (g) => (gw = g) });
  let stopped = false;
  const finish = async () => {
    if (stopped) return done;
    stopped = true;
    stop("SIGTERM");
    return done;
  };
  cleanup.push(finish);
  await until(() => gw !== null || out.lines.length + err.lines.length > 0, 20_000, "the gateway to start");
  await until(() => gw !== null, 20_000, `the gateway to start:\n${err.lines.join("\n")}`);
  return { dir, config, out: out.lines, err: err.lines, gw: gw! as GatewayHandle, finish };
}

describe("varde gateway", () => {
  it("exits 2 at once when the embedded broker's port is taken (item 1)", async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", () => r()));
    cleanup.push(() => new Promise((r) => blocker.close(r)));
    const port = (blocker.address() as net.AddressInfo).port;
    const dir = tmp();
    fs.writeFileSync(path.join(dir, "gateway.toml"), `[mqtt]\nembedded_port = ${port}\n[metrics]\nport = -1\n`);
    const child = spawn(process.execPath, [VARDE, "gateway", "--config", path.join(dir, "gateway.toml")], { stdio: ["ignore", "pipe", "pipe"] });
    cleanup.push(() => child.exitCode === null && child.kill("SIGKILL"));
    let text = "";
    child.stdout.on("data", (b) => (text += b));
    child.stderr.on("data", (b) => (text += b));
    const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    expect(code, text).toBe(2);
    expect(text).toMatch(new RegExp(`embedded MQTT broker cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE.*set \\[mqtt\\] embedded_port to a free port`));
  });

  it("Ctrl-C with the reader of stdout gone (| tee): graceful stop, exit 0, no EPIPE trace (item 7)", async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, "gateway.toml"), `[[transport]]\ntype = "tcp-listen"\nport = 0\n[mqtt]\nembedded_port = 0\n[metrics]\nport = -1\n`);
    const child = spawn(process.execPath, [VARDE, "gateway", "--config", path.join(dir, "gateway.toml")], { stdio: ["ignore", "pipe", "pipe"] });
    cleanup.push(() => child.exitCode === null && child.kill("SIGKILL"));
    let out = "";
    let errText = "";
    child.stdout.on("data", (b) => (out += b));
    child.stderr.on("data", (b) => (errText += b));
    await until(() => /running/.test(out), 20_000, `"running" on stdout; stderr: ${errText}`);
    expect(fs.existsSync(path.join(dir, "varde-data", "gateway.lock"))).toBe(true);
    child.stdout.destroy(); // tee exits: the gateway's next lines meet a closed pipe
    // a device link comes up meanwhile: more lines for the closed pipe ("link up", later "link closed")
    const port = Number(/devices may dial tcp port (\d+)/.exec(out)![1]);
    const sock = net.connect(port, "127.0.0.1");
    cleanup.push(() => sock.destroy());
    await new Promise((r) => sock.once("data", r)); // the gateway's Hello: the link is up
    const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    child.kill("SIGINT");
    expect(await exited, errText).toBe(0);
    expect(errText).not.toMatch(/EPIPE|at .*\.ts:\d+/);
    expect(errText).toMatch(/"msg":"gateway stopped"/); // the graceful path ran to its end
    expect(fs.existsSync(path.join(dir, "varde-data", "gateway.lock"))).toBe(false);
    expect(fs.existsSync(path.join(dir, "varde-data", "gateway.run.json"))).toBe(false);
  });

  it("varde status finds a running gateway with metrics off or on a picked port (item 3)", async () => {
    for (const port of [-1, 0]) {
      const g = await inProcess(`[mqtt]\nembedded_port = 0\n[metrics]\nport = ${port}\n`);
      const st = await statusOf(loadConfig(g.config));
      expect(st.running, `metrics port ${port}`).toBe(true);
      if (port === 0) {
        expect(st.note).toBeUndefined(); // the live endpoint answered
        expect(st.mqttConnected).toBe(true);
      } else expect(st.note).toMatch(/has no status endpoint \(\[metrics\] port = -1/);
      expect(await g.finish()).toBe(0);
      expect((await statusOf(loadConfig(g.config))).running).toBe(false);
    }
  });

  it("readable output: one line per cause and change of state, with the fix (item 4)", async () => {
    const pki = makeTestPki();
    const broker = await startMosquitto({ user: { username: "gw", password: "right" }, tls: { pki, requireCertificate: false } });
    cleanup.push(() => broker.stop());

    // a wrong password: the cause and what to check, not "unreachable"
    const auth = await inProcess(`[mqtt]\nurl = "${broker.url}"\nusername = "gw"\npassword = "wrong"\n[metrics]\nport = -1\n`);
    await until(() => auth.out.some((l) => /not connected/.test(l)), 20_000, "the broker line");
    expect(auth.out.filter((l) => /not connected/.test(l))).toEqual([expect.stringMatching(/broker mqtt:\/\/127\.0\.0\.1:\d+ not connected: .*not authorized .* — check \[mqtt\] username\/password/i)]);
    // the missing registry and the missing transports are said on the readable output too
    expect(auth.out).toContainEqual(expect.stringMatching(/WARN registry .*registry\.toml does not exist \(key "registry" in .*gateway\.toml\)/));
    expect(auth.out).toContainEqual(expect.stringMatching(/WARN .*gateway\.toml has no \[\[transport\]\]/));
    await auth.finish();

    // a CA that did not sign the broker's certificate, retried every 50 ms: one line, naming [mqtt] ca
    const tls = await inProcess(`[[transport]]\ntype = "serial"\npath = "/dev/ttyVARDE-NONE"\n[mqtt]\nurl = "${broker.tlsUrl}"\nusername = "gw"\npassword = "right"\nca = "${pki.serverCert}"\nreconnect_ms = 50\n[metrics]\nport = -1\n`);
    await until(() => tls.out.some(isBrokerLine), 5_000, `the broker line:\n${tls.err.join("\n")}`);
    const seen = tls.gw.metrics.get("varde_mqtt_reconnects_total");
    await until(() => tls.gw.metrics.get("varde_mqtt_reconnects_total") >= seen + 4, 20_000, "four more reconnect attempts");
    expect(tls.out.filter(isBrokerLine)).toEqual([expect.stringMatching(/not connected: .*certificate.* — set \[mqtt\] ca/)]);
    expect(tls.out.filter((l) => /ttyVARDE-NONE/.test(l))).toEqual([expect.stringMatching(/cannot open .* — is the device plugged in/)]);
    await tls.finish();

    // an outage of a broker that worked: down once (however many attempts), back once
    const ok = await inProcess(`[mqtt]\nurl = "${broker.url}"\nusername = "gw"\npassword = "right"\nreconnect_ms = 50\n[metrics]\nport = -1\n`);
    await until(() => ok.out.some((l) => /connected to broker/.test(l)), 20_000, "connected");
    await broker.stop();
    await until(() => ok.gw.metrics.get("varde_mqtt_reconnects_total") >= 4, 20_000, "four reconnect attempts");
    await broker.restart();
    await until(() => ok.out.filter((l) => /connected to broker/.test(l)).length === 2, 20_000, "connected again");
    const brokerLines = ok.out.filter(isBrokerLine);
    // connected; down (the connection closed); the cause of the failed attempts, once; connected again
    expect(brokerLines, brokerLines.join("\n")).toEqual([
      expect.stringMatching(/connected to broker/),
      expect.stringMatching(/not connected: the connection to the broker was lost; events wait in the outbox/),
      expect.stringMatching(/still not connected: nothing listens there \(connect ECONNREFUSED .*\) — is the broker running/),
      expect.stringMatching(/connected to broker/),
    ]);
    expect(await ok.finish()).toBe(0);
  }, 90_000);
});
