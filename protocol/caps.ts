// Value caps for the device link (Espruino subset: the firmware imports this file). They make the
// worst-case frame sizes finite; protocol/size-caps.ts proves those sizes fit when the schema is built:
// a framed, authenticated alarm or dose event in one 50-byte nRF52832 BLE notification, and every
// Envelope in one frame (MAX_BODY). The firmware truncates strings with truncateUtf8 and keeps numbers
// inside these caps; the gateway may treat values beyond them as a device bug.

/** One BLE notification on an nRF52832 Espruino board (MTU 53 - 3). */
export const BLE_NOTIFY_MAX = 50;

/**
 * Largest frame the gateway sends an alarm button (Hello, TimeSync, AlarmAck, Config, Command, acks):
 * the button's receive buffer is this plus one BLE chunk (firmware/core/link.ts), far below MAX_FRAME,
 * because every byte of buffer is RAM on a 2,630-JsVar nRF52. size-caps.ts proves the worst case fits.
 */
export const ALARM_RX_FRAME_MAX = 80;

/** String caps, in UTF-8 bytes. */
export const MAX_FIRMWARE_BYTES = 16; // DeviceInfo.firmware, Status.firmware
export const MAX_BOARD_BYTES = 24; // DeviceInfo.board, Status.board
export const MAX_ERROR_BYTES = 32; // ScheduleAck.error, ConfigAck.error
export const MAX_RESPONDER_BYTES = 16; // AlarmAck.responder

/** Schedule.doses: at most this many dose times. */
export const MAX_DOSES = 12;

/** Reliable seqs (Envelope.seq, Envelope.ack, Alarm.alarm_seq, ...) stay below 2^28: 4 varint bytes.
 *  At one reliable message a minute that is 510 years. */
export const SEQ_MAX = 268435455;
/** |DoseEvent.delay_s| <= 2^20-1 s (12 days; travel mode dispenses at most a carousel ahead). */
export const DELAY_MAX_S = 1048575;
/** DoseEvent.slot and DoseEvent.remaining: a carousel has at most 127 compartments. */
export const SLOT_MAX = 127;
export const REMAINING_MAX = 127;

/** Numeric caps by "Message.field" (camelCase), used by the size check. */
export const NUMERIC_CAPS: { [field: string]: number } = {
  "Envelope.seq": SEQ_MAX,
  "Envelope.ack": SEQ_MAX,
  "Alarm.alarmSeq": SEQ_MAX,
  "AlarmAck.alarmSeq": SEQ_MAX,
  "DeviceInfo.lastDownlink": SEQ_MAX,
  "DeviceInfo.seq": SEQ_MAX,
  "DoseEvent.delayS": DELAY_MAX_S,
  "DoseEvent.slot": SLOT_MAX,
  "DoseEvent.remaining": REMAINING_MAX,
};

/** String caps by "Message.field", in UTF-8 bytes. */
export const STRING_CAPS: { [field: string]: number } = {
  "DeviceInfo.firmware": MAX_FIRMWARE_BYTES,
  "Status.firmware": MAX_FIRMWARE_BYTES,
  "DeviceInfo.board": MAX_BOARD_BYTES,
  "Status.board": MAX_BOARD_BYTES,
  "ScheduleAck.error": MAX_ERROR_BYTES,
  "ConfigAck.error": MAX_ERROR_BYTES,
  "AlarmAck.responder": MAX_RESPONDER_BYTES,
};

/** Repeated-field caps by "Message.field" (element count). */
export const REPEATED_CAPS: { [field: string]: number } = {
  "Schedule.doses": MAX_DOSES,
};

/** The longest prefix of s whose UTF-8 encoding has at most maxBytes bytes (never splits a character). */
export function truncateUtf8(s: string, maxBytes: number): string {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let w = c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
    let step = 1;
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        w = 4;
        step = 2;
      }
    }
    if (n + w > maxBytes) return s.substring(0, i);
    n += w;
    i += step - 1;
  }
  return s;
}
