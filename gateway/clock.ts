// The gateway core's time source (StartOptions.clock / new Gateway(..., clock)). Every timestamp the core
// writes (event received, availability, Hello/TimeSync gateway time, downlink created, backend payload
// times) and every timer of its own (handshake retry, time sync, heartbeat supervision, downlink retry)
// goes through it, so a test can put the gateway on the same virtual time as simulated devices: a device
// that falls silent for 90 virtual seconds is then lost after 90 virtual seconds, not 90 real ones.
//
// Not on this clock: what only measures real I/O — the MQTT client (keepalive, reconnect), the backend's
// per-event ack timeout (a round trip to a real broker), SQLite's group-commit window, transports'
// reconnect polling, the metrics server, the registry file watch.
//
// Handles are opaque: whatever setTimeout/setInterval returned is what clearTimeout/clearInterval get.
export interface GatewayClock {
  /** Unix time in ms */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

type NodeTimer = ReturnType<typeof setTimeout>;

/** The wall clock. Intervals are unref'd: the core's periodic work never keeps a process alive by itself. */
export const realClock: GatewayClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeTimer),
  setInterval: (fn, ms) => setInterval(fn, ms).unref(),
  clearInterval: (h) => clearInterval(h as NodeTimer),
};
