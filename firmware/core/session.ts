// Session with the gateway (Espruino subset): answers Hello with DeviceInfo echoing the nonce (sealed
// with the device key, which proves freshness), takes Hello.gateway_time as a first time sync, applies
// TimeSync, and serves the commands every device kind shares (STATUS, MAINTENANCE, REBOOT).
// A new Hello at any time is a re-handshake: it is answered again and retransmission restarts at once.
// The device asks for a handshake (announce: DeviceInfo with nonce 0) at boot and on link up.
// Everything else (AlarmAck, Config, app commands) is passed to the app's handler.
import type { Hal } from "./hal.ts";
import type { Clock } from "./clock.ts";
import type { Link } from "./link.ts";
import { CommandKind } from "../../protocol/gen/codec.ts";
import { truncateUtf8, MAX_FIRMWARE_BYTES, MAX_BOARD_BYTES } from "../../protocol/caps.ts";

/** Facts about the device the session reports (from the app). */
export interface DeviceFacts {
  /** DeviceKind enum value */
  kind: number;
  firmware: string;
  board: string;
  configVersion(): number;
  scheduleVersion(): number;
  /** battery percent and millivolts for Status */
  battery(): { pct: number; mv: number };
  mains(): boolean;
  /** interpreter error flags seen since boot, as bits (see firmware/README.md) */
  errorBits(): number;
}

/** A time correction larger than this (seconds) is reported by the app as FAULT_CLOCK_JUMPED. */
export const CLOCK_JUMP_S = 60;

export class Session {
  hal: Hal;
  clock: Clock;
  link: Link;
  facts: DeviceFacts;
  startMs: number;
  /** handshakes answered since boot */
  handshakes: number;
  lastNonce: number;
  /** app handler for downlinks the session does not consume */
  onApp: (env: any) => void;
  /** called with the correction (s) when a time sync moved the clock by more than CLOCK_JUMP_S */
  onClockJump: (seconds: number) => void;
  /** called after a Hello was answered (e.g. to send a heartbeat so supervision starts at once) */
  onHello: () => void;

  constructor(hal: Hal, clock: Clock, link: Link, facts: DeviceFacts) {
    this.hal = hal;
    this.clock = clock;
    this.link = link;
    this.facts = facts;
    // the protocol's string caps (protocol/caps.ts) keep every frame within its size budget
    facts.firmware = truncateUtf8(facts.firmware, MAX_FIRMWARE_BYTES);
    facts.board = truncateUtf8(facts.board, MAX_BOARD_BYTES);
    this.startMs = clock.mono();
    this.handshakes = 0;
    this.lastNonce = 0;
    this.onApp = function () {};
    this.onClockJump = function () {};
    this.onHello = function () {};
    const self = this;
    link.onEnvelope = function (env: any) {
      self.handle(env);
    };
    link.onUp = function () {
      self.announce();
    };
  }

  uptimeS(): number {
    return Math.floor((this.clock.mono() - this.startMs) / 1000);
  }

  handle(env: any): void {
    if (env.hello) return this.hello(env.hello);
    if (env.timeSync) return this.timeSync(env.timeSync.unix, env.timeSync.millis);
    if (env.command) {
      const k = env.command.kind;
      if (k === CommandKind.COMMAND_STATUS) return this.status();
      // act after the ack of this downlink has gone out, or the gateway would resend it forever
      const hal = this.hal;
      if (k === CommandKind.COMMAND_MAINTENANCE) {
        hal.setTimeout(function () {
          hal.maintenance();
        }, 300);
        return;
      }
      if (k === CommandKind.COMMAND_REBOOT) {
        hal.setTimeout(function () {
          hal.reboot();
        }, 300);
        return;
      }
    }
    this.onApp(env);
  }

  /**
   * Asks for a session: an unsolicited DeviceInfo with nonce 0, which the gateway answers with a
   * fresh Hello (it cannot complete a handshake by itself). Sent at boot and when the link comes up.
   */
  announce(): void {
    this.info(0);
  }

  hello(h: any): void {
    this.handshakes++;
    this.lastNonce = h.nonce;
    if (this.clock.syncedAt === 0 && h.gatewayTime) this.timeSync(h.gatewayTime, 0);
    this.info(h.nonce);
    this.link.kick();
    this.onHello();
  }

  info(nonce: number): void {
    const f = this.facts;
    this.link.send({
      info: {
        nonce: nonce,
        kind: f.kind,
        firmware: f.firmware,
        board: f.board,
        outboxDepth: this.link.outbox.depth(),
        scheduleVersion: f.scheduleVersion(),
        configVersion: f.configVersion(),
        lastDownlink: this.link.lastDownlink,
        seq: this.link.outbox.nextSeq,
      },
    });
  }

  timeSync(unix: number, millis: number): void {
    const err = this.clock.apply(unix, millis);
    if (err > CLOCK_JUMP_S || err < -CLOCK_JUMP_S) this.onClockJump(err);
  }

  status(): void {
    const f = this.facts;
    const b = f.battery();
    const m = this.hal.memory();
    this.link.send({
      status: {
        firmware: f.firmware,
        board: f.board,
        scheduleVersion: f.scheduleVersion(),
        outboxDepth: this.link.outbox.depth(),
        batteryPct: b.pct,
        batteryMv: b.mv,
        clockOffsetS: this.clock.lastError,
        errorFlags: f.errorBits(),
        uptimeS: this.uptimeS(),
        freeVars: m.free,
        configVersion: f.configVersion(),
        mains: f.mains(),
      },
    });
  }
}
