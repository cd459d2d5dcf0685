// The demo's medication dispenser: the real dispenser bundle in the simulator with its carousel, tray and
// slot sensor (simulator/peripherals/dispenser.ts), on a real pseudo-terminal pair to the real gateway,
// and a dose cycle a newcomer can watch within about a minute:
//   a nurse sends two doses (command set-schedule through the broker): the first is reminded and taken,
//   the second is reminded and missed.
// The dispenser's clock is a PacedClock (paced-clock.ts): it fast-forwards through the minutes between
// the moments that matter and runs at real time around them, so each event, the carousel turning and the
// gateway's acknowledgements go at their real pace. Its events therefore carry the dispenser's own time,
// ahead of the wall clock by what was skipped (the transcript says so).
//
// Timeline, in the dispenser's time (schedule: window opens 10 min early, missed 3 min late, reminders
// every minute, not collected after 2 min):
//   A = a whole minute ~12 min ahead   window A-10 → green LED; A+1 min: reminder (DOSE_REMINDER)
//   A+1 min 5 s: the patient presses; the carousel turns one compartment into the tray; 3 s later the
//                patient takes the dose out (DOSE_TAKEN)
//   B = A+14 min                       B+1 min: reminder; nobody comes; B+3 min: DOSE_MISSED, and the
//                carousel turns past the missed compartment so the next dose is not blocked.
// Why the window opens exactly 10 min early: the firmware re-checks its dose cycle every 10 minutes and
// does not schedule a wake-up at the dose time itself while the window is open, so reminders start at
// the first re-check at or after it. With a 10 min window that re-check falls on the dose time. If it
// does not (another wake-up moved it), the cycle keeps fast-forwarding, slower, until the reminder comes.
import * as fs from "node:fs";
import type { Board } from "../../hardware/boards.ts";
import { SimDevice, openPtyPair, type PtyPair } from "../../simulator/index.ts";
import { DispenserHw } from "../../simulator/peripherals/dispenser.ts";
import { clockTime } from "../output/printer.ts";
import { PacedClock } from "./paced-clock.ts";
import type { ResponseCentre, ReceivedEvent } from "./response-centre.ts";

const MIN = 60_000;
const DOSE_TAKEN = 0;
const DOSE_MISSED = 1;
const DOSE_REMINDER = 3;

export interface DemoDispenser {
  dev: SimDevice;
  hw: DispenserHw;
  paced: PacedClock;
  pty: PtyPair;
  transportToml: string;
  close(): Promise<void>;
}

export async function startDispenser(o: { board: Board; dir: string; id: number; key: string; code: string; consoleLog: string; say: (who: string, text: string) => void }): Promise<DemoDispenser> {
  const paced = new PacedClock("varde-demo-dispenser");
  const pty = await openPtyPair(o.dir, "dispenser-pty-");
  const dev = new SimDevice({ board: o.board, clock: paced.clock, link: pty.device, rtc: "keep", name: `dispenser-${o.id}` });
  const hw = new DispenserHw({ clock: paced.clock, pins: dev.pins, board: o.board });
  dev.flash.write("varde.id", Buffer.from(JSON.stringify({ id: o.id, key: o.key, kind: "dispenser" })));
  dev.install(o.code);
  fs.writeFileSync(o.consoleLog, ""); // there even when the firmware prints nothing (it keeps its console quiet)
  dev.onOutput((text) => fs.appendFileSync(o.consoleLog, text));
  narrate(dev, paced, o.say);
  return {
    dev,
    hw,
    paced,
    pty,
    transportToml: `[[transport]]\ntype = "serial"\npath = "${pty.hostPath}"\nbaud = ${o.board.data.baud ?? 115200}\n`,
    close: async () => {
      paced.stop();
      if (dev.powered) dev.powerOff();
      await pty.close();
    },
  };
}

/** LED and buzzer changes in words (firmware/dispenser/README.md "LEDs and buzzer"). */
function narrate(dev: SimDevice, paced: PacedClock, say: (who: string, text: string) => void): void {
  const red = dev.led("led_red");
  const green = dev.led("led_green");
  let last = "";
  const show = () => {
    const s = green.on && red.on ? "green + red — reminder: the dose is due" : green.on ? "green — a dose is ready: press the button, or take it out of the tray" : red.on ? "red — cannot dispense" : "off";
    if (s === last) return;
    last = s;
    say("dispenser", `LED: ${s}  [dispenser clock ${clockTime(paced.clock.now())}]`);
  };
  // one render writes several LEDs at the same instant: read them once it is done
  for (const led of [red, green]) led.onChange(() => paced.clock.schedule(0, show));
  let beeps = 0;
  dev.buzzer().onChange((c) => {
    if (!c.state.on) return;
    if (beeps++ === 0)
      paced.clock.schedule(3000, () => {
        say("dispenser", `buzzer: ${beeps} beep${beeps > 1 ? "s" : ""}`);
        beeps = 0;
      });
  });
}

export interface DoseCycleContext {
  dispenser: DemoDispenser;
  centre: ResponseCentre;
  device: number;
  /** schedule version to send (grows with each cycle) */
  version: number;
  /** fast-forward speed between the moments that matter */
  speed: number;
  say: (who: string, text: string) => void;
  /** waits for a condition in real time; throws naming what it waited for */
  waitFor: (cond: () => boolean, ms: number, what: string) => Promise<void>;
}

/** Minutes after local midnight in Norway, the unit of a Schedule (the firmware applies the same rule). */
export function osloMinute(ms: number): number {
  const [h, m] = new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Oslo", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(ms).split(":").map(Number);
  return h * 60 + m;
}

/** Runs one dose cycle: A reminded and taken, B reminded and missed. Resolves with the events the centre got. */
export async function runDoseCycle(c: DoseCycleContext): Promise<{ reminded: ReceivedEvent[]; taken: ReceivedEvent; missed: ReceivedEvent }> {
  const { dispenser: d, centre, say } = c;
  const clock = d.paced.clock;
  const from = centre.events.length;
  const doseEvent = (kind: number, scheduled: number) =>
    centre.events.slice(from).find((e) => e.event.type === "dose" && e.event.device === c.device && (e.event.envelope.dose.kind ?? 0) === kind && e.event.scheduled === scheduled / 1000);
  const A = Math.ceil((clock.now() + 11.5 * MIN) / MIN) * MIN;
  const B = A + 14 * MIN;
  const at = (ms: number) => clockTime(ms).slice(0, 5);
  say("nurse", `sends dispenser ${c.device} its schedule (command set-schedule, version ${c.version}): doses at ${at(A)} and ${at(B)}; window 10 min early, missed 3 min late, reminders every minute`);
  await centre.setSchedule(c.device, { version: c.version, doses: [{ minute: osloMinute(A) }, { minute: osloMinute(B) }], earlyMin: 10, lateMin: 3, collectMin: 2, remindEveryMin: 1 });
  await c.waitFor(() => centre.events.slice(from).some((e) => e.event.type === "schedule_ack" && e.event.envelope.scheduleAck?.version === c.version), 20_000, `dispenser ${c.device} to confirm schedule version ${c.version} (schedule_ack)`);

  // waits for a dose event: fast-forward to just before it is due, then real time; if it is not there
  // a few seconds later, on at a tenth of the speed until it comes (or `latest` passes)
  const expect = async (kind: number, scheduled: number, due: number, latest: number, what: string) => {
    if (clock.now() < due - 2000) {
      say("demo", `fast-forward ×${c.speed}: dispenser clock ${clockTime(clock.now())} → ${clockTime(due - 2000)} (${what} is due at ${clockTime(due)})`);
      await d.paced.fastForward(due - 2000, c.speed);
    }
    const seen = () => doseEvent(kind, scheduled) !== undefined;
    try {
      await c.waitFor(seen, 5000, what);
    } catch {
      // not there at its time (see the header): on, slower, until it comes or `latest` has passed
      let passed = false;
      void d.paced.fastForward(latest, Math.max(2, Math.round(c.speed / 10))).then(() => (passed = true));
      await c.waitFor(() => seen() || passed, 120_000, what);
      if (!seen()) await c.waitFor(seen, 5000, `${what} (the dispenser's clock is already past ${clockTime(latest)})`);
    }
    await d.paced.fastForward(clock.now(), 1); // back to real time at once
    return doseEvent(kind, scheduled)!;
  };

  const r1 = await expect(DOSE_REMINDER, A, A + MIN, A + 11 * MIN, `the reminder for the ${at(A)} dose`);
  await d.paced.fastForward(clock.now() + 5000, Math.min(c.speed, 5));
  say("patient", "presses the dispenser's button");
  d.dev.button().press(300);
  await c.waitFor(() => d.hw.tray > 0, 20_000, "the dose to drop into the tray (the carousel turns one compartment)");
  say("dispenser", `the carousel turned; compartment ${d.hw.emptied[d.hw.emptied.length - 1]?.compartment} is in the tray`);
  await d.paced.fastForward(clock.now() + 3000, 1); // three seconds later
  say("patient", "takes the dose out of the tray");
  d.hw.takeOut();
  await c.waitFor(() => doseEvent(DOSE_TAKEN, A) !== undefined, 20_000, `DOSE_TAKEN for the ${at(A)} dose at the broker`);
  const taken = doseEvent(DOSE_TAKEN, A)!;

  const r2 = await expect(DOSE_REMINDER, B, B + MIN, B + 3 * MIN, `the reminder for the ${at(B)} dose`);
  say("patient", `does not come to the dispenser (the ${at(B)} dose will be missed at ${at(B + 3 * MIN)})`);
  const missed = await expect(DOSE_MISSED, B, B + 3 * MIN, B + 4 * MIN, `DOSE_MISSED for the ${at(B)} dose`);
  return { reminded: [r1, r2], taken, missed };
}
