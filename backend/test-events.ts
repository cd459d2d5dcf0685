// BackendEvents as a gateway publishes them (for the backend's tests and the latency bench): the
// envelope, the event id "<device>:<boot>:<seq>" and the national codes the gateway attaches.
import { nationalCodes } from "../gateway/codes.ts";
import type { BackendEvent } from "../gateway/mqtt/topics.ts";

export function makeEvent(o: { gateway: string; device: number; boot: number; seq: number; type: string; body: Record<string, any>; time?: number; kind?: number; test?: boolean; scheduled?: number; label?: string }): BackendEvent {
  const time = o.time ?? Math.floor(Date.now() / 1000);
  const envelope = { device: o.device, boot: o.boot, seq: o.seq, time, ...o.body };
  return {
    eventId: `${o.device}:${o.boot}:${o.seq}`, gateway: o.gateway, device: o.device, kind: o.kind ?? (o.type === "dose" || o.type === "supply" ? 2 : 1), type: o.type,
    time, received: time, late: false, historical: false, codes: nationalCodes(o.type, envelope), envelope, label: o.label ?? `device ${o.device}`,
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
