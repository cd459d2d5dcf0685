// Wires the dispenser app to the shared device core over any Hal: identity (Storage "varde.id"),
// flash outbox, link (reliable, in order, backoff forever; late flag on replays), session (Hello ->
// DeviceInfo, time sync), and the app. main.ts calls runDispenser() with the Espruino Hal; unit tests
// call it with firmware/core/fake-hal.ts. Espruino subset.
//
// Every event the app makes goes through the flash outbox (Link.sendReliable) with its own device
// time, so with no gateway the device keeps dosing and the events wait in flash; on reconnect they
// are replayed oldest first with their original time and late = true. Dose events, faults, supply
// and schedule acks are CLS_CRITICAL (never dropped); heartbeats are best effort.
import type { Hal } from "../core/hal.ts";
import { Clock } from "../core/clock.ts";
import { Link, loadIdentity } from "../core/link.ts";
import { Outbox, CLS_CRITICAL } from "../core/outbox.ts";
import { Session } from "../core/session.ts";
import { State } from "../core/state.ts";
import { DispenserApp } from "./app.ts";

/** DeviceKind.DEVICE_KIND_DISPENSER */
const KIND_DISPENSER = 2;

export interface Dispenser {
  app: DispenserApp;
  link: Link;
  session: Session;
  outbox: Outbox;
  clock: Clock;
}

export function runDispenser(hal: Hal, board: any, firmware: string): Dispenser | null {
  const ident = loadIdentity(hal);
  if (!ident) {
    hal.log("varde: no valid identity in Storage varde.id; provision the device (varde provision / varde flash)");
    return null;
  }
  const defs = board.defaults || {};
  const clock = new Clock(hal);
  const state = new State(hal);
  const outbox = new Outbox(hal, defs.outbox_max || 256, 16384);
  outbox.load();
  const link = new Link(hal, ident, clock, outbox, state, defs.backoff_min_s || 1, defs.backoff_max_s || 60);
  let app: DispenserApp | null = null;
  const session = new Session(hal, clock, link, {
    kind: KIND_DISPENSER,
    firmware: firmware,
    board: board.id || "",
    configVersion: function () {
      return 0;
    },
    scheduleVersion: function () {
      return app ? app.scheduleVersion() : 0;
    },
    battery: function () {
      const mv = app ? app.battMv : 0;
      const b = board.battery || { full_mv: 4150, empty_mv: 3300 };
      let pct = Math.round((100 * (mv - b.empty_mv)) / (b.full_mv - b.empty_mv));
      pct = pct < 0 ? 0 : pct > 100 ? 100 : pct;
      return { pct: pct, mv: mv };
    },
    mains: function () {
      return hal.read(board.pins.mains_sense);
    },
    errorBits: function () {
      return 0;
    },
  });
  const theApp = new DispenserApp(hal, board, {
    post: function (body: any, timeS: number, critical: boolean) {
      // a copy: the link adds envelope fields, the dose cycle keeps `body` in its journal
      const env: any = { time: timeS };
      const keys = Object.keys(body);
      for (let i = 0; i < keys.length; i++) env[keys[i]] = body[keys[i]];
      if (!critical) return link.send(env);
      const seq = link.sendReliable(env, CLS_CRITICAL);
      if (!seq && theApp) theApp.outboxFull();
    },
    appended: function () {
      return outbox.nextSeq;
    },
    depth: function () {
      return outbox.depth();
    },
    capacity: function () {
      return outbox.max;
    },
  }, function () {
    return clock.mono();
  });
  app = theApp;
  // every time sync (Hello's gateway time or TimeSync) tells the app: first set, or a jump
  const applySync = session.timeSync;
  session.timeSync = function (unix: number, millis: number) {
    applySync.call(session, unix, millis);
    theApp.clockSynced(clock.lastError);
  };
  session.onApp = function (env: any) {
    // a downlink that throws must still be acked (by the link, after this returns), or the gateway
    // would resend it forever; a schedule that could not be applied is answered ok = false
    let reply: any = null;
    try {
      reply = theApp.downlink(env);
    } catch (e) {
      theApp.errors++;
      hal.log("dispenser: downlink failed: " + e);
      if (env.schedule) reply = { scheduleAck: { version: env.schedule.version || 0, ok: false, error: "internal error" } };
    }
    if (reply) link.sendReliable(reply, CLS_CRITICAL);
  };
  theApp.start();
  // heartbeat: at boot (tells the gateway a new boot id is here, so it shakes hands and syncs the
  // time) and then every heartbeat_s
  const every = defs.heartbeat_s || 300;
  const beat = function () {
    link.send(theApp.heartbeat(every));
    hal.setTimeout(beat, every * 1000);
  };
  beat();
  return { app: theApp, link: link, session: session, outbox: outbox, clock: clock };
}
