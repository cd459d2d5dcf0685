import { describe, it, expect } from "vitest";
import { FakeHal } from "./fake-hal.ts";
import { Outbox, CLS_CRITICAL } from "./outbox.ts";
import { Clock } from "./clock.ts";
import { State } from "./state.ts";
import { Link, loadIdentity, LATE_AFTER_S } from "./link.ts";
import { Session } from "./session.ts";
import { nodeSha256 } from "../../protocol/schema.ts";
import { FakeGateway } from "../build/fake-gateway.ts";
import { CommandKind, DeviceKind } from "../../protocol/gen/codec.ts";

const KEY = "11".repeat(32);

function device(files?: any) {
  const hal = new FakeHal(nodeSha256, files || { "varde.id": JSON.stringify({ id: 42, key: KEY, kind: "alarm" }) });
  const ident = loadIdentity(hal)!;
  const clock = new Clock(hal);
  const outbox = new Outbox(hal, 16, 4096);
  outbox.load();
  const state = new State(hal);
  const link = new Link(hal, ident, clock, outbox, state, 1, 60);
  const session = new Session(hal, clock, link, {
    kind: DeviceKind.DEVICE_KIND_ALARM, firmware: "0.1.0", board: "alarm-esp32",
    configVersion: () => 3, scheduleVersion: () => 0, battery: () => ({ pct: 80, mv: 3900 }), mains: () => false, errorBits: () => 0,
  });
  const gw = new FakeGateway(ident.key, false);
  const pump = () => {
    gw.feed(hal.sent.splice(0));
  };
  return { hal, ident, clock, outbox, state, link, session, gw, pump };
}

describe("Link", () => {
  it("loads the identity from varde.id", () => {
    const { ident } = device();
    expect(ident.id).toBe(42);
    expect(ident.key.length).toBe(32);
    expect(loadIdentity(new FakeHal(nodeSha256, { "varde.id": "{bad" }))).toBeNull();
  });

  it("retransmits with growing jittered backoff until acked, then sends the next in order", () => {
    const { hal, link, gw, pump } = device();
    const s1 = link.sendReliable({ alarm: { hold: false } }, CLS_CRITICAL);
    const s2 = link.sendReliable({ alarm: { test: true } }, CLS_CRITICAL);
    pump();
    expect(gw.got.map((e) => e.seq)).toEqual([s1]); // only the head is in flight
    const times: number[] = [];
    for (let i = 0; i < 9; i++) {
      const before = gw.got.length;
      while (gw.got.length === before) {
        hal.advance(100);
        pump();
      }
      times.push(hal.t);
    }
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    // gaps grow roughly x2 from 1 s and cap at 60 s (equal jitter: between d/2 and d)
    expect(gaps[0]).toBeLessThanOrEqual(2100);
    expect(gaps[gaps.length - 1]).toBeGreaterThanOrEqual(30000 - 100);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(60100);
    expect(gw.got.every((e) => e.seq === s1)).toBe(true);
    hal.deliver(gw.frame({ ack: s1 }));
    pump();
    expect(gw.got[gw.got.length - 1].seq).toBe(s2);
    expect(gw.got[gw.got.length - 1].alarm.test).toBe(true);
    expect(link.retries).toBeGreaterThan(5);
  });

  it("flags late replays: after a reboot and when the event is old", () => {
    const d = device();
    d.hal.up = false;
    const s = d.link.sendReliable({ alarm: {} }, CLS_CRITICAL);
    d.hal.advance((LATE_AFTER_S + 5) * 1000);
    d.hal.setLinkUp(true);
    d.pump();
    expect(d.gw.got[0].late).toBe(true);
    // reboot: a new Link on the same flash; the record keeps its boot and time
    const d2 = device(d.hal.files);
    d2.pump();
    d2.hal.deliver(d2.gw.hello(7, 0));
    d2.pump();
    const again = d2.gw.with("alarm");
    expect(again[0].seq).toBe(s);
    expect(again[0].boot).toBe(d.link.boot);
    expect(again[0].late).toBe(true);
    expect(again[0].time).toBe(d.gw.got[0].time);
  });

  it("corrects the time of events stamped before the first time sync of this boot", () => {
    const d = device();
    d.hal.t = 42_000; // clock never set since power-on: 42 s after the epoch
    d.hal.up = false;
    d.link.sendReliable({ alarm: {} }, CLS_CRITICAL);
    d.hal.advance(3000);
    d.hal.setLinkUp(true);
    d.pump();
    expect(d.gw.got[0].time).toBe(42); // sent before anybody told it the time
    d.hal.deliver(d.gw.hello(1, 1800000000));
    d.pump();
    const again = d.gw.with("alarm");
    expect(again[again.length - 1].time).toBe(1800000000 - 3);
    expect(again[again.length - 1].seq).toBe(again[0].seq);
  });

  it("does not transmit while the link is down and sends at once when it comes up", () => {
    const { hal, link, gw, pump } = device();
    hal.up = false;
    link.sendReliable({ alarm: {} }, CLS_CRITICAL);
    hal.advance(10000);
    pump();
    expect(gw.got.length).toBe(0);
    hal.setLinkUp(true);
    pump();
    expect(gw.with("alarm").length).toBe(1);
    expect(gw.with("alarm")[0].late).toBe(false);
    expect(gw.with("info")[0].info.nonce).toBe(0); // and it asked for a session
  });

  it("applies a reliable downlink once, persists its seq and re-acks duplicates", () => {
    const { hal, link, session, gw, pump, state } = device();
    const seen: any[] = [];
    session.onApp = (env) => seen.push(env);
    const f = gw.reliable({ alarmAck: { alarmSeq: 5 } });
    hal.deliver(f);
    hal.deliver(f);
    pump();
    expect(seen.length).toBe(1);
    expect(gw.got.filter((e) => e.ack === 1).length).toBe(2);
    expect(state.get("dl", 0)).toBe(1);
    expect(link.lastDownlink).toBe(1);
    // after a reboot the old seq is still known
    const d2 = device(hal.files);
    const seen2: any[] = [];
    d2.session.onApp = (env) => seen2.push(env);
    d2.hal.deliver(f);
    expect(seen2.length).toBe(0);
  });

  it("rejects frames with a bad MAC and non-Hello frames under the zero key", () => {
    const { hal, link, session, gw } = device();
    const seen: any[] = [];
    session.onApp = (env) => seen.push(env);
    const other = new FakeGateway(new Uint8Array(32).fill(9));
    hal.deliver(other.frame({ alarmAck: { alarmSeq: 1 } }));
    const zero = new FakeGateway(new Uint8Array(32));
    hal.deliver(zero.frame({ alarmAck: { alarmSeq: 1 } }));
    expect(seen.length).toBe(0);
    expect(link.badMac).toBe(2);
    // garbage and a corrupt frame cost nothing else
    const good = gw.frame({ alarmAck: { alarmSeq: 2 } });
    const bad = good.slice();
    bad[6] ^= 0xff;
    hal.deliver(new Uint8Array([0x41, 0x42, 0xf5, 0xa7, 0x03]));
    hal.deliver(bad);
    hal.deliver(good);
    expect(seen.length).toBe(1);
    expect(seen[0].alarmAck.alarmSeq).toBe(2);
  });
});

describe("Session", () => {
  it("answers Hello with DeviceInfo echoing the nonce and takes the gateway time", () => {
    const { hal, clock, link, session, gw, pump } = device();
    link.sendReliable({ alarm: {} }, CLS_CRITICAL);
    pump();
    hal.deliver(gw.hello(0xdeadbeef, 1800000000));
    pump();
    const info = gw.with("info");
    expect(info.length).toBe(1);
    expect(info[0].info.nonce).toBe(0xdeadbeef);
    expect(info[0].info.kind).toBe(DeviceKind.DEVICE_KIND_ALARM);
    expect(info[0].info.board).toBe("alarm-esp32");
    expect(info[0].info.outboxDepth).toBe(1);
    expect(info[0].info.seq).toBe(2);
    expect(info[0].info.configVersion).toBe(3);
    expect(clock.unix()).toBe(1800000000);
    // the Hello restarted retransmission at once
    expect(gw.with("alarm").length).toBe(2);
    // asking for a session: DeviceInfo with nonce 0
    session.announce();
    pump();
    expect(gw.with("info")[1].info.nonce).toBe(0);
    gw.got.length = 0;
    // re-handshake on a new Hello
    hal.deliver(gw.hello(5, 1800000001));
    pump();
    expect(gw.with("info")[0].info.nonce).toBe(5);
    expect(session.handshakes).toBe(2);
  });

  it("applies TimeSync, reports a jump, and keeps uptime monotonic", () => {
    const { hal, clock, session, gw } = device();
    const jumps: number[] = [];
    session.onClockJump = (s) => jumps.push(s);
    hal.advance(5000);
    hal.deliver(gw.reliable({ timeSync: { unix: 1900000000, millis: 500 } }));
    expect(clock.unix()).toBe(1900000000);
    expect(jumps.length).toBe(1);
    expect(session.uptimeS()).toBe(5);
  });

  it("answers STATUS and defers MAINTENANCE/REBOOT until the ack is out", () => {
    const { hal, gw, pump } = device();
    hal.deliver(gw.reliable({ command: { kind: CommandKind.COMMAND_STATUS } }));
    pump();
    const st = gw.with("status");
    expect(st[0].status.board).toBe("alarm-esp32");
    expect(st[0].status.batteryMv).toBe(3900);
    hal.deliver(gw.reliable({ command: { kind: CommandKind.COMMAND_REBOOT } }));
    hal.deliver(gw.reliable({ command: { kind: CommandKind.COMMAND_MAINTENANCE } }));
    pump();
    expect(gw.got.filter((e) => e.ack === 2 || e.ack === 3).length).toBe(2);
    expect(hal.rebooted).toBe(0);
    hal.advance(1000);
    expect(hal.rebooted).toBe(1);
    expect(hal.maintained).toBe(1);
  });
});
