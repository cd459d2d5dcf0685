// The device end of the device link (Espruino subset): codec + framing + MAC over the Hal's byte link.
//
// Uplink: reliable messages go into the flash outbox first (Outbox.add), then are sent oldest first,
// one at a time, until the gateway answers with a frame whose Envelope.ack equals the seq. Each
// retransmit waits an exponential backoff (min * 2^n, capped at max) with "equal jitter" (half fixed,
// half random), forever. A Hello, a link coming up or an ack restarts at once. A record written
// before this boot, or whose event is older than LATE_AFTER_S, is sent with late = true (its original
// time and boot are kept, so the gateway's (boot, seq) dedup still holds). An event stamped before
// the first time sync of this boot (clock not set) is sent with its time corrected by Clock.fix.
// Best-effort messages (heartbeat, Status, acks) are sent once with seq 0.
//
// Downlink: frames are opened with the device key; a frame that fails is tried with the all-zero key
// and accepted only when it is a Hello (docs/architecture.md). A reliable downlink (seq != 0) is
// applied once: a seq at or below the last applied one is only re-acked. Order: apply, persist the
// seq, then ack, so a reboot before the ack makes the gateway resend and the seq check drops it.
import { encodeFrame, FrameParser, MAX_FRAME } from "../../protocol/framing.ts";

/** the frame parser's buffer: a whole frame + one data chunk (BLE: 50 bytes) */
const PARSER_BYTES = MAX_FRAME + 64;
import { seal, open } from "../../protocol/mac.ts";
import { encodeEnvelope, decodeEnvelope } from "../../protocol/gen/codec.ts";
import type { Hal } from "./hal.ts";
import { CLOCK_VALID_FROM } from "./clock.ts";
import type { Clock } from "./clock.ts";
import type { State } from "./state.ts";
import { Outbox, fromHex } from "./outbox.ts";

/** A reliable event sent later than this after it happened is flagged late. */
export const LATE_AFTER_S = 60;

const ZERO_KEY = new Uint8Array(32);
/** Envelope fields that are not a body (oneof member). */
const HEADER_FIELDS = { device: 1, boot: 1, seq: 1, ack: 1, time: 1, late: 1 };

export interface Identity {
  id: number;
  key: Uint8Array;
  kind: string;
}

/** Reads Storage "varde.id" ({"id":n,"key":"<64 hex>","kind":"alarm"}); null when absent or invalid. */
export function loadIdentity(hal: Hal): Identity | null {
  const t = hal.readFile("varde.id");
  if (!t) return null;
  let j: any;
  try {
    j = JSON.parse(t);
  } catch (e) {
    return null;
  }
  if (!j || typeof j.id !== "number" || typeof j.key !== "string" || j.key.length !== 64) return null;
  return { id: j.id, key: fromHex(j.key), kind: j.kind || "" };
}

export class Link {
  hal: Hal;
  ident: Identity;
  clock: Clock;
  outbox: Outbox;
  state: State;
  /** random per boot, never 0 */
  boot: number;
  parser: FrameParser;
  minMs: number;
  maxMs: number;
  attempt: number;
  timer: any;
  /** last applied gateway downlink seq (persisted) */
  lastDownlink: number;
  /** called with every downlink Envelope that carries a body (after dedup) */
  onEnvelope: (env: any) => void;
  /** called when the gateway acked a reliable record of ours */
  onAcked: (seq: number) => void;
  /** called when the link came up (after retransmission restarted) */
  onUp: () => void;
  /** hal.sha256 bound to the hal (mac.ts calls it as a plain function) */
  sha: (d: Uint8Array) => Uint8Array;
  /** counters for Status / tests */
  txFrames: number;
  retries: number;
  badMac: number;
  badFrames: number;

  constructor(hal: Hal, ident: Identity, clock: Clock, outbox: Outbox, state: State, backoffMinS: number, backoffMaxS: number) {
    this.hal = hal;
    this.ident = ident;
    this.clock = clock;
    this.outbox = outbox;
    this.state = state;
    this.boot = 1 + Math.floor(hal.random() * 4294967294);
    this.minMs = backoffMinS * 1000;
    this.maxMs = backoffMaxS * 1000;
    this.attempt = 0;
    this.timer = null;
    this.lastDownlink = state.get("dl", 0);
    this.onEnvelope = function () {};
    this.onAcked = function () {};
    this.onUp = function () {};
    this.txFrames = 0;
    this.retries = 0;
    this.badMac = 0;
    this.badFrames = 0;
    this.sha = function (d: Uint8Array) {
      return hal.sha256(d);
    };
    const self = this;
    // one frame plus a chunk of bytes: a bigger buffer would only cost JsVars (protocol/framing.ts)
    this.parser = new FrameParser(
      function (body: Uint8Array) {
        self.onFrame(body);
      },
      undefined,
      PARSER_BYTES,
    );
    this.parser.onNoise = function () {};
    hal.onLinkData(function (bytes: Uint8Array) {
      self.parser.push(bytes);
    });
    hal.onLinkState(function (up: boolean) {
      if (up) {
        self.kick();
        self.onUp();
      } else self.parser.reset();
    });
  }

  /** Seals, frames and writes one Envelope (plain object); returns the frame length. */
  writeEnvelope(env: any): number {
    return this.writePayload(encodeEnvelope(env));
  }

  writePayload(payload: Uint8Array): number {
    const frame = encodeFrame(seal(this.sha, this.ident.key, payload));
    this.txFrames++;
    this.hal.linkWrite(frame);
    return frame.length;
  }

  /** Common envelope fields for a message we send now. */
  envelope(body: any, time?: number): any {
    const e = body;
    e.device = this.ident.id;
    e.boot = this.boot;
    e.time = time === undefined ? this.clock.unix() : time;
    return e;
  }

  /**
   * Queues a reliable message: env holds one body member (e.g. {alarm: {...}}), optionally `time`.
   * Returns its seq, or 0 when the outbox refused it (full). Sending starts at once when idle.
   */
  sendReliable(env: any, cls: number): number {
    const self = this;
    const e = this.envelope(env, env.time);
    const seq = this.outbox.add(cls, function (s: number) {
      e.seq = s;
      return encodeEnvelope(e);
    });
    if (seq && this.outbox.head() && this.outbox.head()!.seq === seq) this.kick();
    return seq;
  }

  /** Sends a best-effort message once (seq 0) if the link is up. */
  send(env: any): void {
    if (!this.hal.linkUp()) return;
    this.writeEnvelope(this.envelope(env));
  }

  /** Sends the head of the outbox now and restarts the backoff. */
  kick(): void {
    this.attempt = 0;
    this.transmit();
  }

  backoff(n: number): number {
    let d = this.minMs * Math.pow(2, n > 20 ? 20 : n);
    if (d > this.maxMs) d = this.maxMs;
    return d / 2 + this.hal.random() * (d / 2);
  }

  transmit(): void {
    if (this.timer !== null) this.hal.clearTimeout(this.timer);
    this.timer = null;
    const h = this.outbox.head();
    if (!h || !this.hal.linkUp()) return;
    let payload = fromHex(h.hex);
    const env = decodeEnvelope(payload);
    let change = false;
    if (env.time < CLOCK_VALID_FROM && !h.old && this.clock.fix) {
      // stamped before the first time sync of this boot: now we know the real time
      env.time += this.clock.fix;
      change = true;
    }
    if (h.old || this.clock.unix() - env.time > LATE_AFTER_S) {
      env.late = true;
      change = true;
    }
    if (change) payload = encodeEnvelope(env);
    if (this.attempt > 0) this.retries++;
    this.writePayload(payload);
    const self = this;
    this.timer = this.hal.setTimeout(function () {
      self.timer = null;
      self.transmit();
    }, this.backoff(this.attempt++));
  }

  onFrame(body: Uint8Array): void {
    let env: any;
    try {
      let payload = open(this.sha, this.ident.key, body);
      let zero = false;
      if (!payload) {
        payload = open(this.sha, ZERO_KEY, body);
        zero = true;
      }
      if (!payload) {
        this.badMac++;
        return;
      }
      env = decodeEnvelope(payload);
      if (zero && !env.hello) {
        this.badMac++;
        return;
      }
    } catch (e) {
      this.badFrames++;
      return;
    }
    if (env.device && env.device !== this.ident.id) return; // for another device on a shared medium
    if (env.ack) {
      const wasHead = this.outbox.head() !== undefined && this.outbox.head()!.seq === env.ack;
      if (this.outbox.ack(env.ack)) {
        this.onAcked(env.ack);
        if (wasHead) this.kick();
      }
    }
    let hasBody = false;
    const keys = Object.keys(env);
    for (let i = 0; i < keys.length; i++) if (!(keys[i] in HEADER_FIELDS)) hasBody = true;
    if (env.seq) {
      if (env.seq > this.lastDownlink) {
        if (hasBody) this.onEnvelope(env);
        this.lastDownlink = env.seq;
        this.state.set("dl", env.seq);
      }
      this.send({ ack: env.seq });
      return;
    }
    if (hasBody) this.onEnvelope(env);
  }
}
