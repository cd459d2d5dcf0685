import { describe, expect, it } from "vitest";
import { loadBoard } from "../../hardware/boards.ts";
import { VirtualClock } from "../clock.ts";
import { PinBank } from "../espruino/pins.ts";
import { DispenserHw } from "./dispenser.ts";

const board = loadBoard("dispenser-esp32");
const pin = (role: string) => Number(String(board.pins[role]).slice(1));

function rig() {
  const clock = new VirtualClock({ seed: 1 });
  const pins = new PinBank(() => clock.now());
  const hw = new DispenserHw({ clock, pins, board });
  return { clock, pins, hw, pos: () => pins.analog(pin("slot_sensor")) * 29 };
}

describe("dispenser peripherals", () => {
  it("the carousel turns one compartment per step_ms and empties only the compartment it rests at", () => {
    const { clock, pins, hw, pos } = rig();
    pins.write(pin("motor"), 1);
    clock.runFor(1500 * 2.5); // passes compartments 1 and 2 without stopping
    expect(pos()).toBeCloseTo(2.5, 1);
    expect(hw.emptied).toEqual([]);
    clock.runFor(1500 * 0.45);
    pins.write(pin("motor"), 0); // at ~2.95: within reach of 3, snaps onto it
    expect(pos()).toBe(3);
    expect(hw.emptied.map((e) => e.compartment)).toEqual([3]);
    expect(pins.level(pin("tray_sensor"))).toBe(1);
    hw.takeOut();
    expect(pins.level(pin("tray_sensor"))).toBe(0);
    pins.write(pin("motor"), 1); // a short nudge that stays at 3 does not empty it again
    clock.runFor(100);
    pins.write(pin("motor"), 0);
    expect(hw.emptied.length).toBe(1);
  });

  it("power lost aligned with a compartment empties it; trayMax records the most compartments in the tray at once", () => {
    const { clock, pins, hw, pos } = rig();
    pins.write(pin("motor"), 1);
    clock.runFor(1500 * 1.1);
    hw.powerLost(); // at ~1.1: the carousel rests within reach of 1
    expect(pos()).toBe(1);
    expect(hw.emptied.map((e) => e.compartment)).toEqual([1]);
    pins.write(pin("motor"), 1);
    clock.runFor(1500);
    pins.write(pin("motor"), 0); // a second compartment on top of the first
    expect(hw.tray).toBe(2);
    expect(hw.trayMax).toBe(2);
    hw.takeOut();
    expect(hw.trayMax).toBe(2);
  });

  it("jam: the motor runs, nothing moves; power loss stops the motor where it is", () => {
    const { clock, pins, hw, pos } = rig();
    hw.setJam(true);
    pins.write(pin("motor"), 1);
    clock.runFor(5000);
    expect(pos()).toBe(0);
    hw.setJam(false);
    clock.runFor(600);
    pins.powerOnReset(); // what a power cut does to the firmware's outputs
    expect(hw.motorOn).toBe(false);
    expect(pos()).toBeCloseTo(0.4, 1);
    expect(hw.emptied).toEqual([]);
  });

  it("lid, tamper and mains drive their pins; refill puts a full carousel at home", () => {
    const { pins, hw, pos } = rig();
    hw.setLid(true, true);
    expect([pins.level(pin("lid_switch")), pins.level(pin("tamper_switch"))]).toEqual([1, 1]);
    hw.setLid(false);
    expect([pins.level(pin("lid_switch")), pins.level(pin("tamper_switch"))]).toEqual([0, 0]);
    hw.setMains(false);
    expect(pins.level(pin("mains_sense"))).toBe(0);
    hw.refill(10);
    expect(pos()).toBe(0);
    expect(hw.loaded.filter(Boolean).length).toBe(10);
  });
});
