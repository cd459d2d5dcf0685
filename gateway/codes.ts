// National codes attached to each backend event (BackendEvent.codes), so integrators need no mapping:
//  * VKP — Norway's welfare-technology hub (FHIR R4, HL7Norway/Velferdsteknologi VKP-R4 code systems):
//    1 dispensed (1.1 unassisted, 1.2 assisted), 2 travel pre-dispense, 3.3 no confirmation at planned
//    time, 3.4 technical error, 3.9 unplugged, 3.10 no contact, 3.11 open, 3.12 forced opening,
//    3.14 jammed, 3.17 battery, 3.25 refill needed, 4.13 button press.
//  * SCAIP — status code `stc`: 0010 manual alarm, 0016 battery low, 0081 pill not taken,
//    0082 reminder, 0083 pill taken, 0085 power fail, 0123 radio test missing, 0125 tamper.
// Sources: the VKP code lists and SCAIP status codes (docs/design.md "National codes", docs/backend-contract.md). Events with no matching national code carry none —
// deliberately, rather than a code that would page care staff for the wrong reason:
//  * a cleared fault, a cancelled alarm, a refill confirmed, device_back: the condition has ended;
//  * FAULT_CLOCK_JUMPED: the device's clock was corrected (a dose it affected is reported by its own
//    dose event, with its code);
//  * FAULT_ACK_TIMEOUT: no responder acknowledged an alarm in time — the alarm itself already carries
//    VKP 4.13 / SCAIP 0010, and no national code describes the response centre's silence.
// Every other fault stops or threatens the device's service: VKP 3.4 technical error (plus the specific
// code where one exists). codes.test.ts checks every FaultCode / DoseEventKind / DoseMode of varde.proto.

export interface Code {
  system: "VKP" | "SCAIP";
  code: string;
  display: string;
}

const vkp = (code: string, display: string): Code => ({ system: "VKP", code, display });
const scaip = (code: string, display: string): Code => ({ system: "SCAIP", code, display });

// Enum values from protocol/varde.proto (DoseEventKind, DoseMode, FaultCode).
const DOSE_TAKEN = 0, DOSE_MISSED = 1, DOSE_NOT_COLLECTED = 2, DOSE_REMINDER = 3, DOSE_DISPENSED = 4;
const MODE_ASSISTED = 1, MODE_TRAVEL = 2;
const F = { JAM: 1, LID: 2, FORCED: 3, MAINS: 4, BATTERY: 5, CLOCK_JUMPED: 7, ACK_TIMEOUT: 13 };

/** Codes for an event given its type and decoded device envelope (gateway-made events: type only). */
export function nationalCodes(type: string, env: any): Code[] {
  switch (type) {
    case "alarm": {
      const a = env.alarm ?? {};
      if (a.cancel) return [];
      return [vkp("4.13", "button press"), scaip("0010", "manual alarm")];
    }
    case "dose": {
      const d = env.dose ?? {};
      const kind = d.kind ?? DOSE_TAKEN;
      const mode = d.mode ?? 0;
      if (kind === DOSE_TAKEN) {
        const v = mode === MODE_TRAVEL ? vkp("2", "travel pre-dispense") : mode === MODE_ASSISTED ? vkp("1.2", "dispensed, assisted") : vkp("1.1", "dispensed, unassisted");
        return [v, scaip("0083", "pill taken")];
      }
      if (kind === DOSE_MISSED || kind === DOSE_NOT_COLLECTED) return [vkp("3.3", "no confirmation at planned time"), scaip("0081", "pill not taken")];
      if (kind === DOSE_REMINDER) return [scaip("0082", "reminder")];
      // the firmware reports DISPENSED for travel mode only (a dose handed out ahead, not taken at home)
      if (kind === DOSE_DISPENSED) return [mode === MODE_TRAVEL ? vkp("2", "travel pre-dispense") : vkp("1", "dispensed")];
      return [];
    }
    case "fault": {
      const f = env.fault ?? {};
      if (f.cleared) return [];
      switch (f.code ?? 0) {
        case F.JAM: return [vkp("3.14", "jammed"), vkp("3.4", "technical error")];
        case F.LID: return [vkp("3.11", "open"), scaip("0125", "tamper")];
        case F.FORCED: return [vkp("3.12", "forced opening"), scaip("0125", "tamper")];
        case F.MAINS: return [vkp("3.9", "unplugged"), scaip("0085", "power fail")];
        case F.BATTERY: return [vkp("3.17", "battery"), scaip("0016", "battery low")];
        case F.CLOCK_JUMPED:
        case F.ACK_TIMEOUT:
          return [];
        // clock not set, storage nearly full, outbox full, out of memory, slot sensor, internal error,
        // dose released (a missed dose fell into the tray in a power cut: staff must remove it and
        // confirm a refill; the miss itself already carried VKP 3.3 / SCAIP 0081), and codes this
        // gateway does not know yet
        default: return [vkp("3.4", "technical error")];
      }
    }
    case "battery":
      return env.battery?.low ? [vkp("3.17", "battery"), scaip("0016", "battery low")] : [];
    case "supply":
      return env.supply?.refilled ? [] : [vkp("3.25", "refill needed")];
    case "device_lost":
      return [vkp("3.10", "no contact"), scaip("0123", "radio test missing")];
    default:
      return [];
  }
}
