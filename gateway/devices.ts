// The gateway's table of devices: whether each is online (ONE field: `online`; the published
// availability is derived from it), when it was last heard, its heartbeat interval, firmware, the link
// it is served on and its downlink in flight.
//
// Liveness: alive() is called only for FRESH authenticated frames (session.ts: on the device's
// handshaken link, current boot) and for completed handshakes. A captured frame replayed from another
// connection is authenticated but not fresh, so it cannot keep a dead device "online".
// Supervision measures silence on the clock's MONOTONIC time: a device is lost after heartbeat_s ×
// missed_heartbeats without a sign of life (checked every supervision tick), whatever NTP does to the
// wall clock meanwhile.
import type { Availability } from "./store/store.ts";
import type { GatewayClock } from "./clock.ts";
import type { Session } from "./session.ts";

export interface DeviceState {
  id: number;
  /** the link the device is served on: set by its latest handshake only */
  session: Session | null;
  /** null = not known since the gateway started and nothing was stored */
  online: boolean | null;
  /** monotonic ms of the last sign of life */
  lastSeenMono: number;
  /** wall ms of the last sign of life (for people and the availability payload) */
  lastSeenWall: number;
  heartbeatS: number;
  firmware: string;
  board: string;
  inflight: { seq: number; timer: unknown } | null;
  availability: Availability | null;
}

export interface DeviceTableHost {
  clock: GatewayClock;
  heartbeatS: number;
  missedHeartbeats: number;
  /** the persisted availability of a device (from the store), for the state at start */
  saved(id: number): Availability | null;
  /** online state changed: persist, publish, raise device_lost / device_back */
  changed(d: DeviceState, online: boolean, reason: string, wasLost: boolean): void;
  /** still supervised (provisioned) */
  supervised(id: number): boolean;
}

export class DeviceTable {
  readonly all = new Map<number, DeviceState>();
  private readonly startedMono: number;
  private readonly startedWall: number;

  constructor(private readonly host: DeviceTableHost) {
    this.startedMono = host.clock.monotonic();
    this.startedWall = host.clock.now();
  }

  get(id: number): DeviceState {
    let d = this.all.get(id);
    if (!d) {
      const a = this.host.saved(id);
      // a device remembered online is given one supervision window from the gateway's start to show up
      d = { id, session: null, online: a ? a.online : null, lastSeenMono: this.startedMono, lastSeenWall: a ? a.lastSeen * 1000 : this.startedWall, heartbeatS: this.host.heartbeatS, firmware: a?.firmware ?? "", board: a?.board ?? "", inflight: null, availability: a };
      this.all.set(id, d);
    }
    return d;
  }

  /** A fresh, authenticated sign of life. */
  alive(id: number, reason: string): DeviceState {
    const d = this.get(id);
    d.lastSeenMono = this.host.clock.monotonic();
    d.lastSeenWall = this.host.clock.now();
    if (d.online !== true) this.set(d, true, reason);
    return d;
  }

  private set(d: DeviceState, online: boolean, reason: string): void {
    const wasLost = d.online === false;
    d.online = online;
    d.availability = { online, time: Math.floor(this.host.clock.now() / 1000), reason, lastSeen: Math.floor(d.lastSeenWall / 1000), firmware: d.firmware, board: d.board };
    this.host.changed(d, online, reason, wasLost);
  }

  /** How many devices are online now (the varde_devices_online gauge and the birth read this). */
  onlineCount(): number {
    let n = 0;
    for (const d of this.all.values()) if (d.online === true) n++;
    return n;
  }

  /** Supervision tick: devices silent for longer than their window are lost. */
  supervise(): void {
    const now = this.host.clock.monotonic();
    for (const d of this.all.values()) {
      if (d.online === false || !this.host.supervised(d.id)) continue;
      if (now - d.lastSeenMono > d.heartbeatS * this.host.missedHeartbeats * 1000) this.set(d, false, "heartbeat_missed");
    }
  }

  /**
   * Supervision tick: a quarter of the configured heartbeat, clamped to 50 ms .. 1 s. A device is therefore
   * reported lost at most one tick after heartbeat_s × missed_heartbeats of silence.
   */
  tickMs(): number {
    return Math.max(50, Math.min(1000, (this.host.heartbeatS * 1000) / 4));
  }
}
