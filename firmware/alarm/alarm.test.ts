import { describe, it, expect } from "vitest";
import { FakeHal } from "../core/fake-hal.ts";
import { loadIdentity } from "../core/link.ts";
import { AlarmApp, MAINTENANCE_HOLD_MS, SHOW_ACK_MS } from "./alarm.ts";
import { STEP_MS } from "./indicator.ts";
import { FakeGateway } from "../build/fake-gateway.ts";
import { nodeSha256 } from "../../protocol/schema.ts";
import { loadBoard, firmwareBoard } from "../../hardware/boards.ts";
import { FaultCode, CommandKind } from "../../protocol/gen/codec.ts";

const KEY = "ab".repeat(32);
const ID_FILE = JSON.stringify({ id: 7, key: KEY, kind: "alarm" });

function rig(opts: { board?: string; files?: any; autoAck?: boolean; buttonHeld?: boolean } = {}) {
  const board: any = firmwareBoard(loadBoard(opts.board ?? "alarm-esp32"));
  const hal = new FakeHal(nodeSha256, opts.files ?? { "varde.id": ID_FILE });
  const btn = board.pins.button;
  const idle = board.pins.button_active_low; // level when not pressed
  hal.levels[btn] = opts.buttonHeld ? !idle : idle;
  hal.analogs[board.pins.battery] = 3900 / (board.battery.vref * board.battery.divider * 1000);
  const ident = loadIdentity(hal)!;
  const app = new AlarmApp(hal, board, "0.1.0", ident);
  const gw = new FakeGateway(ident.key, opts.autoAck ?? true);
  let gatewayOn = true;
  /** moves bytes both ways, then lets ms of virtual time pass in small steps */
  const run = (ms: number) => {
    const end = hal.t + ms;
    do {
      const out = hal.sent.splice(0);
      if (gatewayOn) gw.feed(out);
      for (const f of gw.replies.splice(0)) hal.deliver(f);
      if (hal.t >= end) break;
      hal.advance(Math.min(50, end - hal.t));
    } while (true);
  };
  const press = (holdMs = 120) => {
    hal.setPin(btn, !idle);
    run(holdMs);
    hal.setPin(btn, idle);
    run(10);
  };
  const leds = () => [hal.pin(board.pins.led_red), hal.pin(board.pins.led_green), hal.pin(board.pins.led_blue)];
  const setGateway = (on: boolean) => {
    gatewayOn = on;
  };
  return { board, hal, app, gw, run, press, leds, setGateway, ident };
}

describe("alarm app", () => {
  it("press -> sending -> received (gateway ack) -> acknowledged (responder), each seen and heard", () => {
    const r = rig({ autoAck: false });
    r.app.start();
    r.run(100);
    r.press();
    expect(r.app.ind.state).toBe("sending");
    const alarms = r.gw.with("alarm");
    expect(alarms.length).toBe(1);
    expect(alarms[0].alarm.test).toBe(false);
    expect(alarms[0].device).toBe(7);
    expect(alarms[0].seq).toBeGreaterThan(0);
    const seq = alarms[0].seq;
    const beepsSending = r.app.ind.beeps;
    // blinking red while sending
    const reds: boolean[] = [];
    for (let i = 0; i < 8; i++) {
      reds.push(r.leds()[0]);
      r.run(STEP_MS);
    }
    expect(reds).toContain(true);
    expect(reds).toContain(false);
    r.hal.deliver(r.gw.frame({ ack: seq }));
    r.run(10);
    expect(r.app.ind.state).toBe("received");
    expect(r.leds()).toEqual([false, false, true]);
    expect(r.app.ind.beeps).toBe(beepsSending + 1);
    r.run(1000); // let the two beeps finish
    r.hal.deliver(r.gw.reliable({ alarmAck: { alarmSeq: seq, responder: "Kari" } }));
    r.run(10);
    expect(r.app.ind.state).toBe("acknowledged");
    expect(r.leds()).toEqual([false, true, false]);
    // the downlink was acked by the device
    expect(r.gw.got.some((e) => e.ack === 1)).toBe(true);
    r.run(SHOW_ACK_MS + 500);
    expect(r.app.ind.state).toBe("idle");
    expect(r.leds()).toEqual([false, false, false]);
    // the buzzer played: sending (1 beep), received (2), acknowledged (long)
    const buzz = r.hal.writes[r.board.pins.buzzer].filter((c: any) => c.on).length;
    expect(buzz).toBe(1 + 2 + 1);
  });

  it("keeps retransmitting while the gateway is down for an hour, then delivers once", () => {
    const r = rig({ autoAck: true });
    r.app.start();
    r.setGateway(false);
    r.press();
    r.run(3600 * 1000);
    const frames = r.app.link.txFrames;
    // backoff capped at 60 s with jitter: between ~60 and ~150 transmissions in an hour
    expect(frames).toBeGreaterThan(55);
    expect(frames).toBeLessThan(200);
    expect(r.app.ind.state).toBe("no-response"); // the responder never confirmed in time
    r.setGateway(true);
    r.run(61 * 1000);
    const alarms = r.gw.distinct("alarm");
    expect(alarms.length).toBe(1);
    expect(alarms[0].late).toBe(true);
    r.run(5000);
    expect(r.gw.distinct("fault").map((e) => e.fault.code)).toEqual([FaultCode.FAULT_ACK_TIMEOUT]);
    expect(r.app.outbox.depth()).toBe(0);
  });

  it("survives a reboot mid-retry: same seq and boot, late, shown as sending again", () => {
    const r = rig({ autoAck: false });
    r.app.start();
    r.setGateway(false);
    r.press();
    r.run(20000);
    const seq = r.app.alarmSeq;
    const boot = r.app.link.boot;
    // power cycle: RAM gone, flash kept
    const r2 = rig({ files: r.hal.files, autoAck: true });
    r2.hal.t = r.hal.t + 5000;
    r2.app.start();
    expect(r2.app.ind.state).toBe("sending");
    r2.run(3000);
    const a = r2.gw.distinct("alarm");
    expect(a.length).toBe(1);
    expect(a[0].seq).toBe(seq);
    expect(a[0].boot).toBe(boot);
    expect(a[0].late).toBe(true);
    expect(r2.app.ind.state).toBe("received");
    r2.hal.deliver(r2.gw.reliable({ alarmAck: { alarmSeq: seq } }));
    r2.run(10);
    expect(r2.app.ind.state).toBe("acknowledged");
  });

  it("a press inside the cancel window cancels and reports the cancel; later presses raise new alarms", () => {
    const r = rig();
    r.app.start();
    r.press();
    const seq = r.gw.with("alarm")[0].seq;
    r.run(2000);
    r.press();
    const cancels = r.gw.distinct("alarm").filter((e) => e.alarm.cancel);
    expect(cancels.length).toBe(1);
    expect(cancels[0].alarm.alarmSeq).toBe(seq);
    expect(r.app.ind.state).toBe("cancelled");
    r.run(5000);
    expect(r.app.ind.state).toBe("idle");
    r.press();
    expect(r.app.ind.state).toBe("received");
    r.run(r.board.defaults.cancel_window_s * 1000 + 1000);
    r.press();
    const real = r.gw.distinct("alarm").filter((e) => !e.alarm.cancel);
    expect(real.length).toBe(3);
  });

  it("three quick presses raise a test alarm, and so does COMMAND_TEST_ALARM", () => {
    const r = rig();
    r.app.start();
    r.press(80);
    r.run(200);
    r.press(80);
    r.run(200);
    r.press(80);
    const a = r.gw.distinct("alarm").map((e) => e.alarm);
    // press mode: the first press raised a real alarm, which stays (no cancel) and stays on the LEDs
    expect(a.length).toBe(2);
    expect(a[0]).toMatchObject({ test: false, cancel: false });
    expect(a[1]).toMatchObject({ test: true, cancel: false });
    expect(r.app.alarmTest).toBe(false);
    expect(r.app.alarmSeq).toBe(r.gw.distinct("alarm")[0].seq);
    r.run(15000);
    r.hal.deliver(r.gw.reliable({ command: { kind: CommandKind.COMMAND_TEST_ALARM } }));
    r.run(100);
    const tests = r.gw.distinct("alarm").filter((e) => e.alarm.test && !e.alarm.cancel);
    expect(tests.length).toBe(2);
  });

  it("a burst of presses right after the alarm never cancels it", () => {
    const r = rig();
    r.app.start();
    r.press(60);
    r.run(150);
    r.press(60); // 2nd press ~0.2 s later: inside the guard
    r.run(3000);
    const a = r.gw.distinct("alarm").map((e) => e.alarm);
    expect(a).toHaveLength(1);
    expect(a[0].cancel).toBe(false);
    expect(r.app.ind.state).toBe("received");
  });

  it("in hold mode three quick presses are a clean test alarm", () => {
    const r = rig();
    r.app.start();
    r.hal.deliver(r.gw.reliable({ config: { version: 5, holdToAlarm: true, holdMs: 1500 } }));
    r.run(100);
    for (let i = 0; i < 3; i++) {
      r.press(80);
      r.run(200);
    }
    const a = r.gw.distinct("alarm").map((e) => e.alarm);
    expect(a).toHaveLength(1);
    expect(a[0]).toMatchObject({ test: true, cancel: false, hold: false });
    expect(r.app.alarmTest).toBe(true);
  });

  it("hold mode from Config: short presses do nothing, a hold raises a hold alarm; ConfigAck answers", () => {
    const r = rig();
    r.app.start();
    r.hal.deliver(r.gw.reliable({ config: { version: 4, holdToAlarm: true, holdMs: 1500 } }));
    r.run(100);
    const acks = r.gw.distinct("configAck");
    expect(acks[0].configAck).toMatchObject({ version: 4, ok: true });
    r.press(300);
    r.run(2000);
    expect(r.gw.with("alarm").length).toBe(0);
    r.press(1600);
    const a = r.gw.distinct("alarm");
    expect(a.length).toBe(1);
    expect(a[0].alarm.hold).toBe(true);
    // config survives a reboot
    const r2 = rig({ files: r.hal.files });
    expect(r2.app.cfg.holdToAlarm).toBe(true);
    expect(r2.app.cfg.version).toBe(4);
  });

  it("no responder ack in time: FAULT_ACK_TIMEOUT and a different state; a late AlarmAck still confirms", () => {
    const r = rig();
    r.app.start();
    r.press();
    expect(r.app.ind.state).toBe("received");
    r.run(r.board.defaults.ack_timeout_s * 1000 + 500);
    expect(r.app.ind.state).toBe("no-response");
    const f = r.gw.distinct("fault");
    expect(f.length).toBe(1);
    expect(f[0].fault.code).toBe(FaultCode.FAULT_ACK_TIMEOUT);
    const seq = r.gw.with("alarm")[0].seq;
    expect(f[0].fault.detail).toBe(seq);
    // alternating red/blue, distinct from every other state
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      seen.add(r.leds().join());
      r.run(STEP_MS);
    }
    expect(seen).toEqual(new Set(["true,false,false", "false,false,true"]));
    r.hal.deliver(r.gw.reliable({ alarmAck: { alarmSeq: seq } }));
    r.run(10);
    expect(r.app.ind.state).toBe("acknowledged");
  });

  it("heartbeat at the interval the backend sets, carrying battery; bad Config refused with a reason", () => {
    const r = rig();
    r.app.start();
    r.hal.deliver(r.gw.reliable({ config: { version: 2, heartbeatS: 60 } }));
    r.run(10 * 60 * 1000 + 100);
    const hb = r.gw.with("heartbeat");
    expect(hb.length).toBeGreaterThanOrEqual(10);
    expect(hb.length).toBeLessThanOrEqual(11);
    expect(hb[hb.length - 1].heartbeat).toMatchObject({ intervalS: 60, batteryMv: 3900 });
    expect(hb[hb.length - 1].heartbeat.batteryPct).toBeGreaterThan(50);
    expect(hb[0].seq).toBe(0); // best effort
    // a handshake brings the next heartbeat forward, so supervision starts at once
    const n = r.gw.with("heartbeat").length;
    r.hal.deliver(r.gw.hello(77, 0));
    r.run(1000);
    expect(r.gw.with("heartbeat").length).toBe(n + 1);
    r.hal.deliver(r.gw.reliable({ config: { version: 3, heartbeatS: 5 } }));
    r.run(100);
    const bad = r.gw.distinct("configAck").find((e) => e.configAck.version === 3);
    expect(bad.configAck.ok).toBe(false);
    expect(bad.configAck.error).toBe("heartbeatS 5 < min 30");
    expect(r.app.cfg.heartbeatS).toBe(60);
  });

  it("battery low is queued while offline with a days-left estimate, and cleared when it recovers", () => {
    const r = rig({ board: "alarm-nrf52" });
    r.app.start();
    r.hal.setLinkUp(false);
    const b = r.board.battery;
    r.hal.analogs[r.board.pins.battery] = 2250 / (b.vref * b.divider * 1000);
    r.run(r.board.defaults.heartbeat_s * 1000 + 3000);
    expect(r.gw.with("battery").length).toBe(0);
    expect(r.app.outbox.depth()).toBe(1);
    r.hal.setLinkUp(true);
    r.run(100);
    const bat = r.gw.distinct("battery");
    expect(bat.length).toBe(1);
    expect(bat[0].battery.low).toBe(true);
    expect(bat[0].battery.millivolts).toBe(2250);
    expect(bat[0].battery.daysLeft).toBe(Math.floor((0.25 * b.capacity_mah) / (b.avg_current_ma * 24)));
    r.hal.analogs[r.board.pins.battery] = 2900 / (b.vref * b.divider * 1000);
    r.run(r.board.defaults.heartbeat_s * 1000 + 100);
    expect(r.gw.distinct("battery").map((e) => e.battery.low)).toEqual([true, false]);
  });

  it("reports the battery with a days-left estimate at the first heartbeat, after a handshake and daily (best effort)", () => {
    const r = rig();
    r.app.start();
    r.run(3000);
    const first = r.gw.with("battery");
    expect(first.length).toBe(1);
    expect(first[0].seq).toBe(0);
    expect(first[0].battery.daysLeft).toBeGreaterThan(10);
    expect(first[0].battery.low).toBe(false);
    r.run(23 * 3600 * 1000);
    expect(r.gw.with("battery").length).toBe(1);
    r.run(3600 * 1000);
    expect(r.gw.with("battery").length).toBe(2);
    r.hal.deliver(r.gw.hello(3, 0)); // a new session gets one at once
    r.run(1000);
    expect(r.gw.with("battery").length).toBe(3);
  });

  it("holding the button at power-on for 5 s enters maintenance without raising an alarm", () => {
    const r = rig({ buttonHeld: true });
    r.app.start();
    r.run(MAINTENANCE_HOLD_MS + 100);
    expect(r.hal.maintained).toBe(1);
    expect(r.app.ind.state).toBe("maintenance");
    r.hal.setPin(r.board.pins.button, r.board.pins.button_active_low);
    r.press();
    expect(r.gw.with("alarm").length).toBe(0);
    // a short hold at power-on does not
    const q = rig({ buttonHeld: true });
    q.app.start();
    q.run(1000);
    q.hal.setPin(q.board.pins.button, q.board.pins.button_active_low);
    q.run(MAINTENANCE_HOLD_MS);
    expect(q.hal.maintained).toBe(0);
  });

  it("out-of-memory flags become a fault; a full outbox is reported and the alarm still goes out live", () => {
    const r = rig({ autoAck: false });
    r.app.start();
    r.hal.flags = ["LOW_MEMORY"];
    r.run(3000);
    expect(r.gw.with("fault")[0].fault.code).toBe(FaultCode.FAULT_OUT_OF_MEMORY);
    // fill the outbox with alarms the gateway never acks
    const max = r.board.defaults.outbox_max;
    while (r.app.outbox.depth() < max) {
      r.app.raise(false, false);
    }
    r.gw.got.length = 0;
    expect(r.app.raise(false, false)).toBe(0);
    r.run(10);
    expect(r.app.ind.state).toBe("fault");
    expect(r.gw.with("fault").some((e) => e.fault.code === FaultCode.FAULT_OUTBOX_FULL)).toBe(true);
    expect(r.gw.with("alarm").some((e) => e.seq === 0)).toBe(true);
  });

  it("the six states have six distinct LED patterns", () => {
    const r = rig();
    const patterns: string[] = [];
    for (const s of ["idle", "sending", "received", "acknowledged", "no-response", "cancelled", "fault"]) {
      r.app.ind.set(s);
      const seq: string[] = [];
      for (let i = 0; i < 8; i++) {
        seq.push(r.leds().map((x) => (x ? 1 : 0)).join(""));
        r.hal.advance(STEP_MS);
      }
      patterns.push(seq.join(" "));
    }
    expect(new Set(patterns).size).toBe(patterns.length);
  });
});
