// Resolves a peripheral's pin from the board file: a role such as "button" or "led_red" (the key in
// the board's [pins] table) or a pin name "D5".
import type { Board } from "../../hardware/boards.ts";
import { pinNumber } from "../espruino/pins.ts";

export function rolePin(board: Board, role: string): number {
  const v = board.pins[role];
  if (typeof v === "string") return pinNumber(v);
  if (/^D\d+$/.test(role)) return pinNumber(role);
  const roles = Object.keys(board.pins).filter((k) => typeof board.pins[k] === "string");
  throw new Error(`${board.file}: no pin "${role}" in [pins] (known: ${roles.join(", ")}); add it to the board file or pass a pin name like "D5"`);
}
