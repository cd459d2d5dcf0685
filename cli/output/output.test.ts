// The readable output's folding rules and the structured log's formats, on recorded inputs.
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Writable } from "node:stream";
import { openLogSink, prettyRecord } from "./log-sink.ts";
import { ReadableGatewayOutput } from "./readable.ts";

describe("readable gateway output", () => {
  it("a device missing from the registry: one line with the registry and the fix, again only after a handshake", () => {
    const lines: string[] = [];
    const r = new ReadableGatewayOutput((l) => lines.push(l), { registry: "/etc/varde/registry.toml", config: "/etc/varde/gateway.toml" });
    const reject = { kind: "rejected", text: "rejected a frame on serial:/dev/ttyUSB0 from device 1001: unknown_device", device: 1001, reason: "unknown_device" };
    for (let i = 0; i < 5; i++) r.bus(reject); // the device retries its handshake
    r.log({ level: 40, time: 0, msg: "serial:/dev/ttyUSB0: frame rejected (unknown_device)", device: 1001, reason: "unknown_device" });
    r.bus({ kind: "rejected", text: "…", device: 1001, reason: "stale_nonce" }); // handshake noise
    expect(lines).toEqual([
      `${reject.text} — device 1001 is not in /etc/varde/registry.toml (key "registry" in /etc/varde/gateway.toml): provision it there (varde provision --registry /etc/varde/registry.toml), or point the gateway at the registry it was provisioned in`,
    ]);
    r.bus({ kind: "registry", text: "registry reloaded: device(s) 1001 provisioned" });
    r.bus(reject);
    expect(lines).toHaveLength(3);
  });

  it("heartbeats leave no trace; an event shown as stored is shown delivered", () => {
    const lines: string[] = [];
    const r = new ReadableGatewayOutput((l) => lines.push(l));
    r.bus({ kind: "delivered", text: "backend has event 1001:7:0-ab12; removed from the outbox (0 left)", eventIds: ["1001:7:0-ab12"] });
    r.bus({ kind: "stored", text: "device 1001 ALARM → stored as 1001:7:1, acked to the device", eventId: "1001:7:1" });
    r.bus({ kind: "delivered", text: "backend has event 1001:7:1; removed from the outbox (0 left)", eventIds: ["1001:7:1"] });
    expect(lines).toEqual(["device 1001 ALARM → stored as 1001:7:1, acked to the device", "backend has event 1001:7:1; removed from the outbox (0 left)"]);
  });

  it("after the stop began, only errors", () => {
    const lines: string[] = [];
    const r = new ReadableGatewayOutput((l) => lines.push(l));
    r.mute();
    r.bus({ kind: "link-closed", text: "link serial:/dev/ttyUSB0 closed" });
    r.log({ level: 40, time: 0, msg: "serial:/dev/ttyUSB0: port closed; waiting for it to come back" });
    r.log({ level: 50, time: 0, msg: "outbox: disk I/O error" });
    expect(lines).toEqual(["ERROR outbox: disk I/O error"]);
  });
});

describe("structured log sink", () => {
  const rec = { level: 40, time: new Date(2026, 11, 5, 14, 3, 7, 120).getTime(), pid: 1, hostname: "h", gateway: "gw", msg: "mqtt mqtt://b:1883: refused", err: "refused", device: 1001 };

  it("pretty: local time, level, message, the fields a person needs", () => {
    expect(prettyRecord(rec)).toBe('14:03:07.120 WARN  mqtt mqtt://b:1883: refused  err=refused device=1001');
    expect(prettyRecord(rec, true)).toContain("\x1b[33mWARN \x1b[0m");
  });

  it("json or pretty to a stream, every record also to the readable output; a file it cannot open names the key", () => {
    for (const format of ["json", "pretty"] as const) {
      let text = "";
      const seen: number[] = [];
      const sink = openLogSink({ stream: new Writable({ write: (c, _e, cb) => ((text += c), cb()) }), format, onRecord: (r) => seen.push(r.level) });
      sink.write(JSON.stringify(rec) + "\n");
      expect(seen).toEqual([40]);
      expect(text).toBe(format === "json" ? JSON.stringify(rec) + "\n" : prettyRecord(rec) + "\n");
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-sink-"));
    expect(() => openLogSink({ file: dir, format: "json", fileKey: "[log] file in gw.toml" })).toThrow(/^\[log\] file in gw\.toml = .*: cannot open it for writing: it is a directory; fix the path or its permissions \(the systemd unit provides \/var\/log\/varde through LogsDirectory=varde\)$/);
  });
});
