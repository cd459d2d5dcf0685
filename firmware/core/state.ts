// Small persistent device state (Espruino subset): one JSON file "varde.st", rewritten on change only
// (downlinks and alarms are rare, so flash wear stays low; events go to the outbox log, never here).
// Keys are short (each costs RAM): dl last applied downlink seq, cf backend config, al open alarm,
// bl battery low. Unreadable state falls back to the board's defaults.
import { fileJson, fileWrite } from "../hal/hal.ts";

const FILE = "varde.st";
let st: any = null;

export function stGet(key: string, def: any): any {
  if (!st) st = fileJson(FILE) || {};
  return key in st ? st[key] : def;
}

export function stSet(key: string, value: any): void {
  if (!st) st = fileJson(FILE) || {};
  st[key] = value;
  fileWrite(FILE, JSON.stringify(st));
}
