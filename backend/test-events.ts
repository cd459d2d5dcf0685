// BackendEvents as a gateway publishes them (for the backend's tests and the latency bench): the
// envelope, the event id "<device>:<boot>:<seq>" and the national codes the gateway attaches.
import { nationalCodes } from "../gateway/codes.ts";
import type { BackendEvent } from "../gateway/mqtt/topics.ts";

export function makeEvent(o: { gateway: string; device: number; boot: number; seq: number; type: string; body: Record<string, any>; time?: number; kind?: number; test?: boolean; scheduled?: number; label?: string }): BackendEvent {
  const time = o.time ?? Math.floor(Date.now() / 1000);
  const envelope = { device: o.device, boot: o.boot, seq: o.seq, time, ...o.body };
  return {
    eventId: `${o.device}:${o.boot}:${o.seq}`, gateway: o.gateway, device: o.device, kind: o.kind ?? (o.type === "dose" || o.type === "supply" ? 2 : 1), type: o.type,
    time, received: time, late: false, historical: false, codes: nationalCodes(o.type, envelope, o.kind ?? (o.type === "dose" || o.type === "supply" ? 2 : 1)), envelope, label: o.label ?? `device ${o.device}`,
    test: !!o.test, scheduled: o.scheduled ?? (o.type === "dose" ? time - (o.body.dose?.delayS ?? 0) : 0),
  };
}

import { parsePatients, withCheckDigits, type PatientRegistry } from "./patients.ts";

/** A valid synthetic national id (Tenor style, month + 80) for test person number n. */
export function syntheticId(n: number): string {
  for (let k = 0; k < 1000; k++) {
    const nine = `${String(1 + (n % 28)).padStart(2, "0")}81${String(50 + (n % 40)).padStart(2, "0")}${String((n * 37 + k) % 1000).padStart(3, "0")}`;
    const id = withCheckDigits(nine);
    if (id) return id;
  }
  throw new Error("no synthetic id");
}

/** A patient registry for tests (allow_synthetic). */
export function testPatients(list: Array<{ id: string; name: string; team: string; devices: number[] }>): PatientRegistry {
  const toml = ["allow_synthetic = true", ...list.map((p, i) => `[[patient]]\nid = ${JSON.stringify(p.id)}\nname = ${JSON.stringify(p.name)}\nnational_id = "${syntheticId(i + 1)}"\nteam = ${JSON.stringify(p.team)}\ndevices = [${p.devices.join(", ")}]`)].join("\n");
  return parsePatients("test patients", toml);
}

/**
 * Weeks of dose history for a dispenser, as its gateway would publish it (three doses a day: mostly
 * taken, some late, some with staff present, some missed) — for the console's screenshots and the
 * demo. Seeded, so the same call gives the same history. Returns the events; publish them with
 * publishEvents() (which waits for the backend's acks).
 */
export function doseHistory(o: { gateway: string; device: number; boot: number; weeks: number; endS: number; seed?: number }): BackendEvent[] {
  let x = o.seed ?? 12345;
  const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0), x / 2 ** 32);
  const out: BackendEvent[] = [];
  const day0 = Math.floor(o.endS / 86400) * 86400 - o.weeks * 7 * 86400;
  let seq = 1;
  let remaining = 28;
  for (let d = 0; d < o.weeks * 7; d++) {
    for (const h of [7, 13, 19]) {
      const scheduled = day0 + d * 86400 + h * 3600;
      if (scheduled > o.endS - 3600) continue;
      const r = rnd();
      const kind = r < 0.08 ? 1 : r < 0.1 ? 2 : 0; // missed, not collected, taken
      const mode = kind === 0 && rnd() < 0.06 ? 1 : 0;
      const delayS = kind === 0 ? Math.floor(rnd() * 1200) : kind === 1 ? 3600 : 1800;
      remaining = kind === 0 ? (remaining > 1 ? remaining - 1 : 28) : remaining;
      out.push(makeEvent({ gateway: o.gateway, device: o.device, boot: o.boot, seq: seq++, type: "dose", time: scheduled + delayS, scheduled, body: { dose: { kind, mode, delayS, slot: seq % 28, remaining } } }));
    }
  }
  return out;
}

/** Publishes events as gateway(s) do (QoS 1) and resolves when the backend has acked every one. */
export async function publishEvents(brokerUrl: string, events: BackendEvent[], timeoutMs = 30_000): Promise<void> {
  const { default: mqtt } = await import("mqtt");
  const { filter, topic } = await import("../gateway/mqtt/topics.ts");
  const { decodePayload, encodePayload } = await import("../gateway/mqtt/payload.ts");
  const c = await mqtt.connectAsync(brokerUrl, { protocolVersion: 5, clientId: `history-${Math.random().toString(36).slice(2, 8)}` });
  try {
    const want = new Set(events.map((e) => e.eventId));
    c.on("message", (_t, p) => decodePayload("EventAck", new Uint8Array(p)).eventIds.forEach((id: string) => want.delete(id)));
    await c.subscribeAsync([...new Set(events.map((e) => filter("ack", e.gateway)))], { qos: 1 });
    const end = Date.now() + timeoutMs;
    while (want.size) {
      if (Date.now() > end) throw new Error(`publishEvents: ${want.size} events not acked by the backend within ${timeoutMs} ms`);
      for (const e of events.filter((ev) => want.has(ev.eventId))) await c.publishAsync(topic("event", { gateway: e.gateway, device: e.device, type: e.type }), encodePayload("protobuf", "BackendEvent", e), { qos: 1 });
      const wait = Date.now() + 3000;
      while (want.size && Date.now() < wait) await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await c.endAsync();
  }
}
