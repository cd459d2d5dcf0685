// The device end of the device link (Espruino subset): identity, Envelope header, MAC, framing, the
// reliable uplink over the flash outbox, and downlink authentication and dedup.
//
// Messages are written straight into one frame buffer (tx) with protocol/pb.ts:
//   bodyStart(); pbBeg(Envelope.alarm); pv(Alarm.test, 1); pbEnd();   then one of
//   queue(cls, time)   reliable: the body goes to the flash outbox and is sent until acked (0: refused)
//   sendBody()         best effort: sent now, once, with seq 0 (dropped while the link is down)
// Uplink: reliable records go out one in flight, critical (alarms, faults, doses) oldest first, then
// telemetry, until the gateway answers with Envelope.ack = the seq. Each retransmit waits an exponential
// backoff (backoff_min_s * 2^n, capped at backoff_max_s) with "equal jitter", forever. A Hello, a link
// coming up or an ack restarts at once. A record written before this boot, or whose event is older than
// LATE_AFTER_S, is sent with late = true (its original boot and time are kept, so the gateway's
// (boot, seq) dedup holds); an event stamped before the first time sync of this boot is sent with its
// time corrected by that sync (clockFix).
// Downlink: a frame is opened with the device key; one that fails is tried with the all-zero key and
// accepted only when it is a Hello (docs/architecture.md). A reliable downlink (seq != 0) is applied
// once: a seq at or below the last applied one is only re-acked. Order: apply, persist the seq, then
// ack, so a reboot before the ack makes the gateway resend and the seq check drops it.
import { linkStart, linkSend, linkUp, later, cancel, random, sha256, fileJson, log } from "../hal/hal.ts";
import { FrameParser, crc16, MAX_FRAME } from "../../protocol/framing.ts";
import { hmacSha256, open, MAC_LEN } from "../../protocol/mac.ts";
import { pbOut, pbPos, pbBeg, pbEnd, pv, pr } from "../../protocol/pb.ts";
import { Envelope, Fault, FaultCode } from "../../protocol/gen/fields.ts";
import { ALARM_RX_FRAME_MAX } from "../../protocol/caps.ts";
import { obAdd, obHead, obRead, obAck, obFirst, CLS_TELEMETRY } from "./outbox.ts";
import { unix, clockFix, CLOCK_VALID_FROM } from "./clock.ts";
import { stGet, stSet } from "./state.ts";
import type { AppPort } from "./port.ts";

/** A reliable event sent later than this after it happened is flagged late. */
export const LATE_AFTER_S = 60;
/** Where a body is written before it is queued: after the longest Envelope header (31 bytes) + 3. */
const BODY = 40;
/** An alarm button only sends and receives small frames; a dispenser gets whole schedules. */
const tx = new Uint8Array(BOARD.kind === "alarm" ? 160 : MAX_FRAME);
export let devId = 0;
let key: Uint8Array;
/** random per boot, never 0 */
export let boot = 0;
/** last applied gateway downlink seq (persisted) */
export let lastDown = 0;
let app: AppPort;
let parser: FrameParser;
let timer: any = null;
let attempt = 0;
/** counters for Status and tests */
export let txFrames = 0;
export let retries = 0;
export let badMac = 0;
export let badFrames = 0;
/** handler of the downlinks the core consumes itself (session.ts), then the app's */
let onDown: (p: Uint8Array, n: number) => void;
/** called when a BLE link came up (the session announces itself) */
let onUp: () => void;

/** Reads Storage "varde.id" ({id, key: 64 hex, kind}); false when absent or invalid. */
export function loadIdentity(): boolean {
  const j = fileJson("varde.id");
  if (!j || typeof j.id !== "number" || typeof j.key !== "string" || j.key.length !== 64) return false;
  devId = j.id;
  key = new Uint8Array(32);
  for (let i = 0; i < 32; i++) key[i] = parseInt(j.key.substr(i * 2, 2), 16);
  return true;
}

/** Opens the data port and starts the link (identity loaded). down: the session's downlink handler. */
export function linkOpen(port: AppPort, down: (p: Uint8Array, n: number) => void, up: () => void): void {
  app = port;
  onDown = down;
  boot = 1 + Math.floor(random() * 4294967294);
  lastDown = stGet("dl", 0);
  // the receive buffer: the largest frame the peer sends plus one chunk (protocol/framing.ts)
  parser = new FrameParser(onFrame, null, BOARD.kind === "alarm" ? ALARM_RX_FRAME_MAX + 64 : MAX_FRAME + 64, true);
  onUp = up;
  linkStart(rx, linkChange);
}

function rx(b: Uint8Array): void {
  parser.push(b);
}

function linkChange(isUp: boolean): void {
  if (!isUp) return parser.reset();
  kick();
  onUp();
}

/** Starts a body (a oneof member of Envelope) to be queued or sent. */
export function bodyStart(): void {
  pbOut(tx, BODY);
}

/**
 * Queues the body just written as a reliable record with its event time (default now). Returns its
 * seq, or 0 when the outbox refused it (full). Sending starts at once when nothing else is in flight.
 */
export function queue(cls: number, time?: number): number {
  const seq = obAdd(cls, boot, time === undefined ? unix() : time, tx, BODY, pbPos());
  if (seq && obHead() === seq) kick();
  return seq;
}

/** Writes the Envelope header at tx[3]; pbPos() is then where the body goes. */
function header(seq: number, ack: number, time: number, late: boolean, bootId: number): void {
  pbOut(tx, 3);
  pv(Envelope.device, devId);
  pv(Envelope.boot, bootId);
  pv(Envelope.seq, seq);
  pv(Envelope.ack, ack);
  pv(Envelope.time, time);
  pv(Envelope.late, late);
}

/** Sends the body just written now, best effort (seq 0). */
export function sendBody(): void {
  const e = pbPos();
  if (!linkUp()) return;
  header(0, 0, unix(), false, boot);
  const h = pbPos();
  // move the body down behind the header (a forward copy: the target lies before the source)
  for (let i = BODY; i < e; i++) tx[h + i - BODY] = tx[i];
  frame(h + e - BODY - 3);
}

/** Sends a frame that only acknowledges the gateway's reliable downlink `seq`. */
function sendAck(seq: number): void {
  if (!linkUp()) return;
  header(0, seq, unix(), false, boot);
  frame(pbPos() - 3);
}

/** Seals the payload tx[3, 3 + n) (MAC), frames it (marker, length, CRC) and writes it. */
function frame(n: number): void {
  const mac = hmacSha256(sha256, key, tx.subarray(3, 3 + n));
  for (let i = 0; i < MAC_LEN; i++) tx[3 + n + i] = mac[i];
  n += MAC_LEN;
  tx[0] = 0xf5;
  tx[1] = 0xa7;
  tx[2] = n;
  const c = crc16(tx, 2, 3 + n);
  tx[3 + n] = c >> 8;
  tx[4 + n] = c & 255;
  txFrames++;
  linkSend(tx.subarray(0, 5 + n));
}

/** Sends the head of the outbox now and restarts the backoff. */
export function kick(): void {
  attempt = 0;
  transmit();
}

function transmit(): void {
  cancel(timer);
  timer = null;
  const seq = obHead();
  if (!seq || !linkUp()) return;
  const r = obRead(seq);
  if (r) {
    const old = seq < obFirst;
    let time = parseInt(r[3], 10);
    // stamped before the first time sync of this boot: now the real time is known
    if (time < CLOCK_VALID_FROM && !old && clockFix) time += clockFix;
    header(seq, 0, time, old || unix() - time > LATE_AFTER_S, parseInt(r[2], 10));
    const h = pbPos();
    const hex = r[4];
    for (let i = 0; i < hex.length; i += 2) tx[h + i / 2] = parseInt(hex.substr(i, 2), 16);
    if (attempt > 0) retries++;
    frame(h + hex.length / 2 - 3);
  }
  let d = BOARD.defaults.backoff_min_s * 1000 * Math.pow(2, attempt > 20 ? 20 : attempt);
  if (d > BOARD.defaults.backoff_max_s * 1000) d = BOARD.defaults.backoff_max_s * 1000;
  attempt++;
  timer = later(transmit, d / 2 + random() * (d / 2));
}

function onFrame(body: Uint8Array): void {
  let p = open(sha256, key, body);
  let zero = false;
  if (!p) {
    p = open(sha256, new Uint8Array(32), body);
    zero = true;
  }
  if (!p) {
    badMac++;
    return;
  }
  const n = p.length;
  let seq = 0;
  try {
    if (zero && pr(p, 0, n, Envelope.hello) < 0) {
      badMac++;
      return;
    }
    const dev = pr(p, 0, n, Envelope.device);
    if (dev && dev !== devId) return; // for another device on a shared medium
    const ack = pr(p, 0, n, Envelope.ack);
    if (ack) {
      const wasHead = obHead() === ack;
      if (obAck(ack)) {
        app.acked(ack);
        if (wasHead) kick();
      }
    }
    seq = pr(p, 0, n, Envelope.seq);
  } catch (e) {
    badFrames++;
    return;
  }
  if (!seq) return guard(p, n);
  if (seq > lastDown) {
    guard(p, n);
    lastDown = seq;
    stSet("dl", seq);
  }
  sendAck(seq);
}

/** Errors caught in a handler (an exception, a malformed body) since boot */
export let errors = 0;

/** Runs the downlink handlers; an error is counted and reported, never propagated (the ack still goes). */
function guard(p: Uint8Array, n: number): void {
  try {
    onDown(p, n);
  } catch (e) {
    internalError(e);
  }
}

/** Counts an error caught in a handler and reports it (FAULT_INTERNAL_ERROR, detail = count). */
export function internalError(e: any): void {
  errors++;
  log("varde: " + e);
  fault(FaultCode.FAULT_INTERNAL_ERROR, errors, false, CLS_TELEMETRY);
}

/** Queues a Fault (reliable); returns its seq (0: refused). */
export function fault(code: number, detail: number, cleared: boolean, cls: number): number {
  bodyStart();
  pbBeg(Envelope.fault);
  pv(Fault.code, code);
  pv(Fault.cleared, cleared);
  pv(Fault.detail, detail);
  pbEnd();
  return queue(cls);
}
