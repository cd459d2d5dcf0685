// Device events in words, for every place a person reads them: the gateway's readable lines, the demo's
// response centre and the example backend consumer. Enum values are named from protocol/varde.proto
// (FAULT_FORCED_OPENING → "forced opening"), so a code added to the schema is named without a change here.
// Works on envelopes decoded with numeric enums (protobuf, or JSON through mqtt/payload.ts decodePayload)
// and also when the enum arrives as its name (JSON read without decodePayload).
import { root } from "../protocol/schema.ts";

/** "FAULT_FORCED_OPENING" (or 3) → "forced opening", for the enum `enumName` of varde.proto. */
export function enumWords(enumName: string, value: number | string | undefined, prefix: string): string {
  const e = root.lookupEnum(`varde.v1.${enumName}`);
  const name = typeof value === "string" ? value : e.valuesById[value ?? 0];
  if (name === undefined) return `${enumName} ${value}`;
  return name.replace(new RegExp(`^${prefix}`), "").toLowerCase().replace(/_/g, " ");
}

const minutes = (s: number) => (Math.abs(s) >= 120 ? `${Math.round(s / 60)} min` : `${s} s`);

/** What happened, in a few words: "alarm", "TEST alarm", "alarm 3 cancelled", "dose taken (compartment 2, 75 s late)". */
export function describeEvent(type: string, env: any): string {
  switch (type) {
    case "alarm": {
      const a = env?.alarm ?? {};
      if (a.cancel) return `alarm ${a.alarmSeq ?? 0} cancelled by the wearer`;
      return `${a.test ? "TEST alarm" : "ALARM"}${a.hold ? " (button held)" : ""}`;
    }
    case "dose": {
      const d = env?.dose ?? {};
      const what = enumWords("DoseEventKind", d.kind, "DOSE_");
      const parts = [`compartment ${d.slot ?? 0}`];
      const delay = d.delayS ?? 0;
      if (what === "taken" || what === "dispensed") parts.push(delay === 0 ? "on time" : delay > 0 ? `${minutes(delay)} after the dose time` : `${minutes(-delay)} before the dose time`);
      const mode = enumWords("DoseMode", d.mode, "DOSE_MODE_");
      if (mode !== "normal") parts.push(`${mode} mode`);
      return `dose ${what} (${parts.join(", ")})`;
    }
    case "fault": {
      const f = env?.fault ?? {};
      return `fault: ${enumWords("FaultCode", f.code, "FAULT_")}${f.cleared ? " — cleared" : ""}${f.detail ? ` (detail ${f.detail})` : ""}`;
    }
    case "battery": {
      const b = env?.battery ?? {};
      return `battery ${b.percent ?? 0} % (${b.millivolts ?? 0} mV)${b.low ? " LOW" : ""}`;
    }
    case "supply": {
      const s = env?.supply ?? {};
      return s.refilled ? `refilled: ${s.remaining ?? 0} doses loaded` : `refill needed: ${s.remaining ?? 0} doses left (${s.hoursLeft ?? 0} h)`;
    }
    case "schedule_ack": {
      const a = env?.scheduleAck ?? {};
      return a.ok ? `schedule version ${a.version ?? 0} in use` : `schedule version ${a.version ?? 0} refused: ${a.error ?? ""}`;
    }
    case "config_ack": {
      const a = env?.configAck ?? {};
      return a.ok ? `configuration version ${a.version ?? 0} in use` : `configuration version ${a.version ?? 0} refused: ${a.error ?? ""}`;
    }
    case "device_lost":
      return "device lost (heartbeats missed)";
    case "device_back":
      return "device back";
    default:
      return type.replace(/_/g, " ");
  }
}
