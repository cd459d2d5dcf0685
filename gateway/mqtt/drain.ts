// The outbox drain: events go to the broker in outbox order (store id), QoS 1, never retained, at most
// [mqtt] inflight at a time, and leave the outbox when
//   backend_ack = "application": an EventAck listing the event id arrives on varde/v1/<gw>/ack;
//   backend_ack = "puback":      the broker's PUBACK arrives (for backends that cannot ack; the broker
//                 then holds responsibility, which is weaker: a consumer that is down loses it unless it
//                 has a persistent session).
// Every event in flight waits in ONE correlator (correlator.ts) keyed by event id, with ack_timeout_s:
// the PUBACK extends the wait in application mode, the EventAck (or, in puback mode, the PUBACK)
// settles it. Without an answer in time the event is published again (same event id — consumers
// deduplicate); when the broker is away at that moment it waits for the next connect, where it goes
// out first. Publishes that had no PUBACK are sent again (DUP, same packet id) after the next CONNACK
// (fast-publish.ts, as MQTT.js does with its own).
// Nothing is read back from disk after an ack: the store counts the removal at once and deletes in its
// next group commit.
import type { Logger } from "pino";
import type { StoredEvent } from "../store/store.ts";
import type { Metrics } from "../metrics.ts";
import type { GatewayClock } from "../clock.ts";
import { Correlator, TimeoutError } from "../correlator.ts";

/** What the drain needs: the store's drain view, and a way to publish one event. */
export interface DrainPorts {
  next(limit: number): StoredEvent[];
  remove(eventIds: string[]): Array<{ eventId: string; type: string; received: number }>;
  /** publishes the event (QoS 1); `puback` runs when the broker acknowledged it, with an error when the client gave up */
  publish(ev: StoredEvent, puback: (err?: Error) => void): void;
  connected(): boolean;
}

export interface DrainOptions {
  inflight: number;
  backendAck: "application" | "puback";
  ackTimeoutS: number;
}

export class Drain {
  /** event id → the event, published and not yet acknowledged (or waiting to be published again) */
  private readonly inflight = new Map<string, StoredEvent>();
  private readonly acks: Correlator<void>;
  /** timed out while the broker was away: published first on the next connect */
  private readonly again: StoredEvent[] = [];
  private pumping = false;
  private stopped = false;
  private finished: string[] = [];
  private finishScheduled = false;

  constructor(
    private readonly ports: DrainPorts,
    private readonly opts: DrainOptions,
    clock: GatewayClock,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly onDelivered: (removed: Array<{ eventId: string; type: string; received: number }>) => void,
  ) {
    const what = opts.backendAck === "puback" ? "PUBACK" : "application ack";
    this.acks = new Correlator<void>(clock, opts.ackTimeoutS * 1000, (id) => `${what} for event ${id}`);
  }

  /** Events waiting for an acknowledgement (or a second try). */
  get size(): number {
    return this.inflight.size;
  }

  /** Fills the window with new events (and events to publish again) while connected. */
  pump(): void {
    if (this.pumping || this.stopped) return;
    this.pumping = true;
    try {
      while (this.again.length > 0 && this.ports.connected()) this.publish(this.again.shift()!);
      while (this.ports.connected() && this.inflight.size < this.opts.inflight) {
        const batch = this.ports.next(this.opts.inflight - this.inflight.size);
        if (batch.length === 0) break;
        for (const ev of batch) {
          this.inflight.set(ev.eventId, ev);
          this.publish(ev);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private publish(ev: StoredEvent): void {
    const id = ev.eventId;
    this.acks.waitCb(id, (e) => {
      if (!e) return this.finish(id);
      if (!(e instanceof TimeoutError) || this.stopped || !this.inflight.has(id)) return; // superseded or stopping
      this.logger.warn({ eventId: id }, `${e.message}; publishing it again`);
      this.metrics.inc("varde_events_republished_total");
      if (this.ports.connected()) this.publish(ev);
      else this.again.push(ev);
    });
    this.metrics.inc("varde_events_published_total");
    this.ports.publish(ev, (err) => {
      if (err) return; // the client gave up on it (connection closed): the timeout publishes it again
      if (this.opts.backendAck === "puback") this.acks.resolve(id, undefined);
      else this.acks.extend(id); // the broker has it; now wait for the backend's application ack
    });
  }

  /** The backend's EventAck (application mode): these events are stored by the backend. */
  acked(eventIds: string[]): void {
    const unknown: string[] = [];
    for (const id of eventIds) if (!this.acks.resolve(id, undefined)) unknown.push(id);
    // acked without a wait here (published by this gateway before a restart, or acked twice): the store
    // removes them if it still has them
    if (unknown.length) this.done(unknown);
  }

  /** Acks come in bursts: their removals are handled together once the burst is read. */
  private finish(id: string): void {
    this.finished.push(id);
    if (this.finishScheduled) return;
    this.finishScheduled = true;
    setImmediate(() => {
      this.finishScheduled = false;
      const ids = this.finished;
      this.finished = [];
      this.done(ids);
    });
  }

  private done(ids: string[]): void {
    for (const id of ids) this.inflight.delete(id);
    const removed = this.ports.remove(ids);
    if (removed.length) this.onDelivered(removed);
    this.pump();
  }

  stop(): void {
    this.stopped = true;
    this.acks.clear("gateway stopping");
  }
}
