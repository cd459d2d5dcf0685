// FHIR dateTime / instant text for the exporter: the device's time of an event with the time zone of
// Norway (Europe/Oslo, from the runtime's tz data), e.g. 2026-11-02T08:07:00+01:00, so a nurse reads the
// local wall time and a machine the exact instant.

const fmt = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Europe/Oslo", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
});

/** Unix seconds as a FHIR dateTime in Oslo local time with its UTC offset. */
export function osloDateTime(unixS: number): string {
  if (!Number.isFinite(unixS) || unixS <= 0) throw new Error(`not a Unix time: ${unixS}`);
  const ms = Math.floor(unixS) * 1000;
  const p = Object.fromEntries(fmt.formatToParts(ms).map((x) => [x.type, x.value]));
  const local = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
  const off = Math.round((local - ms) / 60000);
  const sign = off < 0 ? "-" : "+";
  const hh = String(Math.floor(Math.abs(off) / 60)).padStart(2, "0");
  const mm = String(Math.abs(off) % 60).padStart(2, "0");
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}${sign}${hh}:${mm}`;
}

/** Oslo wall time "HH:MM" of Unix seconds (for texts). */
export function osloClock(unixS: number): string {
  return osloDateTime(unixS).slice(11, 16);
}
