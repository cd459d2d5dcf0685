// A stored event as the backend sees it: the BackendEvent of the contract (docs/backend-contract.md),
// with the device's registry entry (kind, label), the national codes (codes.ts) and the flags.
// The envelope is read from the one the session decoded when the frame came in (decoded once; events read
// back from disk after a restart are decoded here); the protobuf payload carries the device's envelope
// bytes as received (event-encode.ts), the JSON one its canonical decoding.
import type { StoredEvent } from "../store/store.ts";
import type { Registry } from "../registry.ts";
import type { BackendEvent } from "./topics.ts";
import type { BackendEventBytes } from "./event-encode.ts";
import { decodeEnvelope } from "../wire.ts";
import { nationalCodes } from "../codes.ts";

const KIND: Record<string, number> = { alarm: 1, dispenser: 2 };

export interface EventMapContext {
  gateway: string;
  registry: Registry;
  /** an event published this long after it was received is flagged historical */
  historicalAfterS: number;
  /** wall time, Unix s (for events read from disk) */
  nowS: number;
  /** monotonic ms (for events accepted by this process: clock steps do not make them historical) */
  monotonicMs: number;
}

/**
 * The BackendEvent of a stored event. `raw`: the envelope as its bytes (for the protobuf encoder in
 * event-encode.ts); otherwise the envelope decoded by the canonical decoder (for JSON and for tests).
 */
export function backendEvent(ev: StoredEvent, ctx: EventMapContext): BackendEvent;
export function backendEvent(ev: StoredEvent, ctx: EventMapContext, raw: true): BackendEventBytes;
export function backendEvent(ev: StoredEvent, ctx: EventMapContext, raw = false): BackendEvent | BackendEventBytes {
  const env = ev.env ?? (ev.env = decodeEnvelope(ev.payload));
  const entry = ctx.registry.byId.get(ev.device);
  const kind = entry ? KIND[entry.kind] : 0;
  const waitedS = ev.acceptedAt !== undefined ? (ctx.monotonicMs - ev.acceptedAt) / 1000 : ctx.nowS - ev.received;
  return {
    eventId: ev.eventId,
    gateway: ctx.gateway,
    device: ev.device,
    kind,
    type: ev.type,
    time: ev.time,
    received: ev.received,
    late: !!env.late,
    historical: ev.historical || waitedS > ctx.historicalAfterS,
    codes: nationalCodes(ev.type, env, kind),
    envelope: raw ? ev.payload : decodeEnvelope(ev.payload),
    label: entry?.label ?? "",
    test: !!env.alarm?.test,
    scheduled: scheduledTime(ev.type, env),
  };
}

/**
 * A dose event's scheduled time: the device sends only the delay (DoseEvent.delay_s = Envelope.time -
 * scheduled) so a framed dose fits one BLE notification; the backend gets the time itself. 0 otherwise.
 */
export function scheduledTime(type: string, env: any): number {
  if (type !== "dose" || !env.dose) return 0;
  const t = (env.time ?? 0) - (env.dose.delayS ?? 0);
  return t > 0 ? t : 0;
}
