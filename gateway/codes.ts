// National codes attached to each backend event (BackendEvent.codes), so integrators need no mapping.
// Contract 2 (CHANGELOG.md): every code carries its full code-system URL and the display text of that
// system's current version, because the same code text means different things across systems and
// across versions of one system under an unchanged URL ("1.1" is "Ikke utlevert" in the alert system
// and "medisin utlevert uassistert" in the dispense-event system; the alert codes were renumbered from
// 3.x to 1.x in 2021). A code without its system URL is ambiguous.
//
//  * VKP alert codes, system VKP_ALERT_SYSTEM (vkp-alert-code-v090): 1.x medication-dispenser alerts,
//    4.13 button press. The 1.x codes name the medication dispenser in their definitions, so they are
//    given only for dispenser events (an alarm button's low battery or lost contact has no VKP code).
//  * VKP dispense-event codes, system VKP_DISPENSE_SYSTEM (vkp-medicationdispense-events-v090):
//    1.1 unassisted, 1.2 assisted, 1 dispensed, 2 travel pre-dispense.
//  * SCAIP status codes (`stc`), system "SCAIP": 0010 manual alarm, 0016 battery low, 0081 pill not
//    taken, 0082 reminder, 0083 pill taken, 0085 power fail, 0123 radio test missing, 0125 tamper.
// At most one VKP code per event. The code lists are data in backend/fhir/codes/ (generated from the
// VKP-R4 files, source and commit noted there); codes.test.ts checks every code below against them
// (exists, display equal, system right) and every FaultCode / DoseEventKind / DoseMode of varde.proto.
//
// Decisions against the list's definitions (docs/backend-contract.md has the table):
//  * missed at the late limit -> 1.1 Ikke utlevert; when the carousel was empty (remaining 0) ->
//    1.2 Utlevering forhindret av medisinmangel.
//  * not collected (dispensed, not taken out of the tray in time) -> 1.3 Mangler utleveringsbekreftelse.
//  * jam -> 1.8 Rull sitter fast (the carousel is the device's "roll"); lid opened outside a refill ->
//    1.21 Dispenser åpen; forced opening -> 1.22 Innbrudd; mains lost -> 1.19 Ikke tilkoblet strøm;
//    battery low -> 1.17 Batteri lavt; no contact -> 1.20 Ingen kontakt.
//  * refill warning -> 1.12 Snart tomt for medisin, or 1.13 Tomt for medisin when no dose is left;
//    refill confirmed (new carousel loaded by staff) -> 1.16 Rull behandlet.
//  * every other fault that stops or threatens dispensing (clock not set, storage nearly full, outbox
//    full, out of memory, slot sensor, internal error, dose released into the tray by a power cut,
//    unspecified or newer than this gateway) -> 1.5 Teknisk feil.
//  * button press (test alarm too: it travels the whole chain, flagged `test`) -> 4.13 Knappetrykk.
//  * no code, deliberately, rather than one that would page care staff for the wrong reason: a cleared
//    fault, a cancelled alarm, device_back (the condition has ended); FAULT_CLOCK_JUMPED (the clock was
//    corrected; an affected dose carries its own code); FAULT_ACK_TIMEOUT (the alarm itself carries
//    4.13 / 0010; no national code describes the response centre's silence); a reminder (SCAIP 0082
//    only). 1.18 Batteri tomt is never given: a device whose battery is empty has switched off and
//    says nothing; the gateway then reports 1.20 Ingen kontakt.
import { enumValues } from "../protocol/schema.ts";

export interface Code {
  /** code-system URL (VKP) or "SCAIP" */
  system: string;
  code: string;
  /** display text of the system's current version */
  display: string;
}

export const VKP_ALERT_SYSTEM = "http://ehelse.no/fhir/CodeSystem/vkp-alert-code-v090";
export const VKP_DISPENSE_SYSTEM = "http://ehelse.no/fhir/CodeSystem/vkp-medicationdispense-events-v090";
export const SCAIP_SYSTEM = "SCAIP";

const alert = (code: string, display: string): Code => ({ system: VKP_ALERT_SYSTEM, code, display });
const dispense = (code: string, display: string): Code => ({ system: VKP_DISPENSE_SYSTEM, code, display });
const scaip = (code: string, display: string): Code => ({ system: SCAIP_SYSTEM, code, display });

/** Every VKP alert code the mapping gives. */
export const ALERT = {
  notDispensed: alert("1.1", "Ikke utlevert"),
  preventedByShortage: alert("1.2", "Utlevering forhindret av medisinmangel"),
  noConfirmation: alert("1.3", "Mangler utleveringsbekreftelse"),
  technicalError: alert("1.5", "Teknisk feil"),
  rollStuck: alert("1.8", "Rull sitter fast"),
  soonEmpty: alert("1.12", "Snart tomt for medisin"),
  empty: alert("1.13", "Tomt for medisin"),
  rollHandled: alert("1.16", "Rull behandlet"),
  batteryLow: alert("1.17", "Batteri lavt"),
  mainsLost: alert("1.19", "Ikke tilkoblet strøm"),
  noContact: alert("1.20", "Ingen kontakt"),
  open: alert("1.21", "Dispenser åpen"),
  breakIn: alert("1.22", "Innbrudd"),
  buttonPress: alert("4.13", "Knappetrykk"),
} as const;

/** Every VKP dispense-event code the mapping gives. */
export const DISPENSE = {
  dispensed: dispense("1", "medisin utlevert"),
  unassisted: dispense("1.1", "medisin utlevert uassistert"),
  assisted: dispense("1.2", "medisin utlevert assistert"),
  travel: dispense("2", "medisin utlevert reise"),
} as const;

/** Every SCAIP status code the mapping gives. */
export const SCAIP = {
  manualAlarm: scaip("0010", "manual alarm"),
  batteryLow: scaip("0016", "battery low"),
  pillNotTaken: scaip("0081", "pill not taken"),
  reminder: scaip("0082", "reminder"),
  pillTaken: scaip("0083", "pill taken"),
  powerFail: scaip("0085", "power fail"),
  radioTestMissing: scaip("0123", "radio test missing"),
  tamper: scaip("0125", "tamper"),
} as const;

/** "VKP alert 1.1", "VKP dispense 1.1" or "SCAIP 0010": a short label for logs and consoles. */
export function codeLabel(c: Code): string {
  if (c.system === VKP_ALERT_SYSTEM) return `VKP alert ${c.code}`;
  if (c.system === VKP_DISPENSE_SYSTEM) return `VKP dispense ${c.code}`;
  return `${c.system} ${c.code}`;
}

// Enum values from protocol/varde.proto, its only source (DeviceKind, DoseEventKind, DoseMode, FaultCode).
const KIND_DISPENSER = enumValues("DeviceKind").DEVICE_KIND_DISPENSER;
const { DOSE_TAKEN, DOSE_MISSED, DOSE_NOT_COLLECTED, DOSE_REMINDER, DOSE_DISPENSED } = enumValues("DoseEventKind");
const MODE_ASSISTED = enumValues("DoseMode").DOSE_MODE_ASSISTED;
const MODE_TRAVEL = enumValues("DoseMode").DOSE_MODE_TRAVEL;
const FC = enumValues("FaultCode");
const F = {
  JAM: FC.FAULT_MOTOR_JAM, LID: FC.FAULT_LID_OPENED, FORCED: FC.FAULT_FORCED_OPENING, MAINS: FC.FAULT_MAINS_LOST,
  BATTERY: FC.FAULT_BATTERY_LOW, CLOCK_JUMPED: FC.FAULT_CLOCK_JUMPED, ACK_TIMEOUT: FC.FAULT_ACK_TIMEOUT,
};

/**
 * Codes for an event given its type, its decoded device envelope (gateway-made events: type only) and
 * the device's kind (DeviceKind: 1 alarm button, 2 dispenser, 0 unknown to the registry).
 */
export function nationalCodes(type: string, env: any, kind: number): Code[] {
  const disp = kind === KIND_DISPENSER;
  const onlyDispenser = (c: Code): Code[] => (disp ? [c] : []);
  switch (type) {
    case "alarm": {
      const a = env.alarm ?? {};
      if (a.cancel) return [];
      return [ALERT.buttonPress, SCAIP.manualAlarm];
    }
    case "dose": {
      const d = env.dose ?? {};
      const k = d.kind ?? DOSE_TAKEN;
      const mode = d.mode ?? 0;
      if (k === DOSE_TAKEN) {
        const v = mode === MODE_TRAVEL ? DISPENSE.travel : mode === MODE_ASSISTED ? DISPENSE.assisted : DISPENSE.unassisted;
        return [v, SCAIP.pillTaken];
      }
      if (k === DOSE_MISSED) return [(d.remaining ?? 0) === 0 ? ALERT.preventedByShortage : ALERT.notDispensed, SCAIP.pillNotTaken];
      if (k === DOSE_NOT_COLLECTED) return [ALERT.noConfirmation, SCAIP.pillNotTaken];
      if (k === DOSE_REMINDER) return [SCAIP.reminder];
      // the firmware reports DISPENSED for travel mode only (a dose handed out ahead, not taken at home)
      if (k === DOSE_DISPENSED) return [mode === MODE_TRAVEL ? DISPENSE.travel : DISPENSE.dispensed];
      return [];
    }
    case "fault": {
      const f = env.fault ?? {};
      if (f.cleared) return [];
      switch (f.code ?? 0) {
        case F.JAM: return onlyDispenser(ALERT.rollStuck);
        case F.LID: return [...onlyDispenser(ALERT.open), SCAIP.tamper];
        case F.FORCED: return [...onlyDispenser(ALERT.breakIn), SCAIP.tamper];
        case F.MAINS: return [...onlyDispenser(ALERT.mainsLost), SCAIP.powerFail];
        case F.BATTERY: return [...onlyDispenser(ALERT.batteryLow), SCAIP.batteryLow];
        case F.CLOCK_JUMPED:
        case F.ACK_TIMEOUT:
          return [];
        default: return onlyDispenser(ALERT.technicalError);
      }
    }
    case "battery":
      return env.battery?.low ? [...onlyDispenser(ALERT.batteryLow), SCAIP.batteryLow] : [];
    case "supply": {
      const s = env.supply ?? {};
      if (s.refilled) return onlyDispenser(ALERT.rollHandled);
      return onlyDispenser((s.remaining ?? 0) === 0 ? ALERT.empty : ALERT.soonEmpty);
    }
    case "device_lost":
      return [...onlyDispenser(ALERT.noContact), SCAIP.radioTestMissing];
    default:
      return [];
  }
}
