// The LED reader against the firmware's patterns (firmware/alarm/indicator.ts: one render of all three
// LEDs every 250 ms), including the quick transitions that once read as "no acknowledgement in time"
// (issue 14 item 6: acknowledged about a second after the press). The end-to-end tests read the real
// bundle's LEDs with the same function (test/e2e, test/transports).
import { describe, expect, it } from "vitest";
import { LedStateSettler, alarmLedState, type AlarmLedState, type LedView } from "./alarm-indicator.ts";

const STEP = 250;

/** LED levels of a state at a step: the firmware's table. */
function levels(state: string, k: number): [boolean, boolean, boolean] {
  switch (state) {
    case "sending": return [k % 4 < 2, false, false];
    case "received": return [false, false, true];
    case "acknowledged": return [false, true, false];
    case "no-response": return [k % 2 === 0, false, k % 2 !== 0];
    case "cancelled": return [false, false, k % 2 === 0];
    case "maintenance": return [false, true, true];
    default: return [false, false, false];
  }
}

/** Plays states for the given durations and returns the settled states read every 50 ms (as the demo shows them). */
function play(timeline: Array<[string, number]>): AlarmLedState[] {
  const names = ["led_red", "led_green", "led_blue"];
  const hist: Record<string, Array<{ time: number; state: boolean }>> = { led_red: [], led_green: [], led_blue: [] };
  const on: Record<string, boolean> = { led_red: false, led_green: false, led_blue: false };
  let t = 1_000_000;
  const view: LedView = {
    clock: { now: () => t },
    led: (n) => ({ on: on[n], since: (ms) => hist[n].filter((c) => c.time >= ms) }),
  };
  const seen: AlarmLedState[] = [];
  const settler = new LedStateSettler();
  const sample = () => {
    const s = settler.push(t, alarmLedState(view));
    if (s) seen.push(s);
  };
  for (const [state, ms] of timeline) {
    // entering a state renders step 0 at once, then every STEP (indicator.ts set/nextFrame)
    for (let k = 0, at = 0; at < ms; k++, at += STEP) {
      const lv = levels(state, k);
      names.forEach((n, i) => {
        if (on[n] !== lv[i]) {
          on[n] = lv[i];
          hist[n].push({ time: t, state: lv[i] });
        }
      });
      for (let s = 0; s < STEP && at + s < ms; s += 50) {
        sample();
        t += 50;
      }
    }
  }
  sample();
  return seen;
}

describe("alarm LEDs as a person reads them", () => {
  it("press, received, acknowledged a second later: never 'no-response' on the way", () => {
    expect(play([["idle", 500], ["sending", 400], ["received", 900], ["acknowledged", 3000]])).toEqual(["idle", "sending", "received", "acknowledged"]);
    expect(play([["sending", 1200], ["received", 400], ["acknowledged", 2000]])).toEqual(["sending", "received", "acknowledged"]);
  });

  it("a cancel right after the press reads as cancelled, not no-response", () => {
    expect(play([["sending", 1100], ["cancelled", 3000], ["idle", 2000]])).toEqual(["sending", "cancelled", "idle"]);
  });

  it("no acknowledgement in time, then a late acknowledgement", () => {
    expect(play([["received", 1000], ["no-response", 3000], ["acknowledged", 2000]])).toEqual(["received", "no-response", "acknowledged"]);
  });

  it("maintenance", () => {
    expect(play([["maintenance", 1000]])).toEqual(["maintenance"]);
  });
});
