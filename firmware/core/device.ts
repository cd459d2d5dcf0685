// The device core's entry and session (Espruino subset): startDevice(port) loads the identity and the
// flash outbox, opens the link, and from then on answers Hello with DeviceInfo echoing the nonce (sealed
// with the device key, which proves freshness), takes Hello.gateway_time as a first time sync, applies
// TimeSync, and serves the commands every device kind shares (STATUS, MAINTENANCE, REBOOT). Everything
// else goes to the app's port (core/port.ts). A new Hello at any time is a re-handshake: it is answered
// again and retransmission restarts at once. The device asks for a handshake (announce: DeviceInfo with
// nonce 0) at boot and when a BLE link comes up. Heartbeat, Status and the interpreter's health (error
// flags -> FAULT_OUT_OF_MEMORY) are the same for every app, so they live here too.
import { later, reboot, maintenance, memFree, errFlags } from "../hal/hal.ts";
import { pbBeg, pbEnd, pv, pr, prEnd } from "../../protocol/pb.ts";
import { Envelope, Hello, TimeSync, Command, CommandKind, DeviceInfo, Heartbeat, Status, Fault, FaultCode } from "../../protocol/gen/fields.ts";
import { loadIdentity, linkOpen, kick, bodyStart, sendBody, lastDown, fault } from "./link.ts";
import { obLoad, obDepth, obNext, obFull, obClearFull, CLS_CRITICAL } from "./outbox.ts";
import { mono, clockApply, syncedAt, clockErr } from "./clock.ts";
import type { AppPort } from "./port.ts";

/** A time correction larger than this (seconds) is reported by the app as FAULT_CLOCK_JUMPED. */
export const CLOCK_JUMP_S = 60;

let app: AppPort;
let startMs = 0;
/** handshakes answered since boot */
export let handshakes = 0;
/** interpreter error flags seen since boot, as Status.error_flags bits (firmware/README.md) */
export let errorBits = 0;

/**
 * Starts the device: identity (Storage varde.id), flash outbox, link, first announce. false when the
 * device has no identity (the app then leaves the console on the data port for provisioning).
 */
export function startDevice(port: AppPort): boolean {
  if (!loadIdentity()) return false;
  app = port;
  obLoad();
  startMs = mono();
  linkOpen(port, down, announce);
  kick();
  announce();
  return true;
}

export function uptimeS(): number {
  return Math.floor((mono() - startMs) / 1000);
}

function down(p: Uint8Array, n: number): void {
  let s = pr(p, 0, n, Envelope.hello);
  let e = prEnd;
  if (s >= 0) return hello(pr(p, s, e, Hello.nonce), pr(p, s, e, Hello.gatewayTime));
  s = pr(p, 0, n, Envelope.timeSync);
  e = prEnd;
  if (s >= 0) return sync(pr(p, s, e, TimeSync.unix), pr(p, s, e, TimeSync.millis));
  s = pr(p, 0, n, Envelope.command);
  if (s >= 0) {
    const k = pr(p, s, prEnd, Command.kind);
    if (k === CommandKind.COMMAND_STATUS) return status();
    // act after the ack of this downlink has gone out, or the gateway would resend it forever
    if (k === CommandKind.COMMAND_MAINTENANCE) return void later(maintenance, 300);
    if (k === CommandKind.COMMAND_REBOOT) return void later(reboot, 300);
  }
  app.down(p, n);
}

function hello(nonce: number, gatewayTime: number): void {
  handshakes++;
  if (syncedAt === 0 && gatewayTime) sync(gatewayTime, 0);
  info(nonce);
  kick();
  app.hello();
}

function sync(unixS: number, millis: number): void {
  app.synced(clockApply(unixS, millis));
}

/**
 * Asks for a session: an unsolicited DeviceInfo with nonce 0, which the gateway answers with a fresh
 * Hello (it cannot complete a handshake by itself). Sent at boot and when a BLE link comes up.
 */
export function announce(): void {
  info(0);
}

function info(nonce: number): void {
  bodyStart();
  pbBeg(Envelope.info);
  pv(DeviceInfo.nonce, nonce);
  pv(DeviceInfo.kind, app.kind);
  pv(DeviceInfo.firmware, FIRMWARE_VERSION);
  pv(DeviceInfo.board, BOARD.id);
  pv(DeviceInfo.outboxDepth, obDepth());
  pv(DeviceInfo.scheduleVersion, app.schedVer());
  pv(DeviceInfo.configVersion, app.cfgVer());
  pv(DeviceInfo.lastDownlink, lastDown);
  pv(DeviceInfo.seq, obNext);
  pbEnd();
  sendBody();
}

/** Battery percent from millivolts and the board's battery model. */
export function battPct(mv: number): number {
  const p = Math.round(((mv - BOARD.battery.empty_mv) * 100) / (BOARD.battery.full_mv - BOARD.battery.empty_mv));
  return p < 0 ? 0 : p > 100 ? 100 : p;
}

/** Sends a Heartbeat (best effort) announcing the interval the device uses; checks health. */
export function heartbeat(intervalS: number): void {
  const mv = app.battMv();
  bodyStart();
  pbBeg(Envelope.heartbeat);
  pv(Heartbeat.batteryPct, battPct(mv));
  pv(Heartbeat.batteryMv, mv);
  pv(Heartbeat.outboxDepth, obDepth());
  pv(Heartbeat.intervalS, intervalS);
  pv(Heartbeat.mains, app.mains());
  pv(Heartbeat.uptimeS, uptimeS());
  pbEnd();
  sendBody();
  health();
}

function status(): void {
  const mv = app.battMv();
  bodyStart();
  pbBeg(Envelope.status);
  pv(Status.firmware, FIRMWARE_VERSION);
  pv(Status.board, BOARD.id);
  pv(Status.scheduleVersion, app.schedVer());
  pv(Status.outboxDepth, obDepth());
  pv(Status.batteryPct, battPct(mv));
  pv(Status.batteryMv, mv);
  pv(Status.clockOffsetS, clockErr);
  pv(Status.errorFlags, errorBits);
  pv(Status.uptimeS, uptimeS());
  pv(Status.freeVars, memFree());
  pv(Status.configVersion, app.cfgVer());
  pv(Status.mains, app.mains());
  pbEnd();
  sendBody();
}

/**
 * Interpreter error flags become Status bits (FIFO_FULL 1, BUFFER_FULL 2, CALLBACK 4, LOW_MEMORY 8,
 * MEMORY 16, MEMORY_BUSY 32, UART_OVERFLOW 64) and, for memory, FAULT_OUT_OF_MEMORY; a full outbox
 * becomes FAULT_OUTBOX_FULL (best effort: the outbox has no room for it).
 */
export function health(): void {
  const f = errFlags();
  let bits = 0;
  for (let i = 0; i < f.length; i++) {
    const b = ["FIFO_FULL", "BUFFER_FULL", "CALLBACK", "LOW_MEMORY", "MEMORY", "MEMORY_BUSY", "UART_OVERFLOW"].indexOf(f[i]);
    if (b >= 0) bits |= 1 << b;
  }
  errorBits |= bits;
  if (bits & 24) fault(FaultCode.FAULT_OUT_OF_MEMORY, bits, false, CLS_CRITICAL);
  if (obFull) reportFull();
}

/** FAULT_OUTBOX_FULL, best effort, now. */
export function reportFull(): void {
  obClearFull();
  bodyStart();
  pbBeg(Envelope.fault);
  pv(Fault.code, FaultCode.FAULT_OUTBOX_FULL);
  pv(Fault.detail, obDepth());
  pbEnd();
  sendBody();
}
