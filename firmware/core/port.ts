// The one port between the device core (firmware/core) and an app (alarm, dispenser). An app hands
// its port to startDevice() (core/device.ts) once; the core calls nothing else of the app, and the app
// reaches the core only through the functions core/ exports (link.ts, session.ts, outbox.ts, clock.ts,
// state.ts). Espruino subset: the port is one small object of references to top-level functions.
export interface AppPort {
  /** DeviceKind of the app (protocol/gen/fields.ts) */
  kind: number;
  /** A downlink the core did not consume (AlarmAck, Config, Schedule, app Commands), already
   *  authenticated and deduplicated: Envelope bytes p[0, n) (protocol/pb.ts pr() reads them). */
  down(p: Uint8Array, n: number): void;
  /** The gateway stored our reliable record `seq` (it left the flash outbox). */
  acked(seq: number): void;
  /** A handshake completed (after DeviceInfo went out and retransmission restarted). */
  hello(): void;
  /** A time sync was applied; err = device minus gateway seconds before it (FAULT_CLOCK_JUMPED). */
  synced(err: number): void;
  /** Versions the device reports in DeviceInfo/Status (0 = none). */
  cfgVer(): number;
  schedVer(): number;
  /** Battery millivolts and mains power, for Heartbeat/Status. */
  battMv(): number;
  mains(): boolean;
}
