// Small persistent device state (JSON in one Storage file, default "varde.st"): last applied gateway
// downlink seq, backend config, flags. Rewritten on change only (downlinks are rare), so flash wear
// stays low; events never go here (they go to the outbox log).
import type { Hal } from "./hal.ts";

export class State {
  hal: Hal;
  name: string;
  data: any;

  constructor(hal: Hal, name?: string) {
    this.hal = hal;
    this.name = name || "varde.st";
    this.data = {};
    const t = hal.readFile(this.name);
    if (t) {
      try {
        this.data = JSON.parse(t) || {};
      } catch (e) {
        this.data = {}; // unreadable state: fall back to board defaults
      }
    }
  }

  get(key: string, def: any): any {
    return key in this.data ? this.data[key] : def;
  }

  set(key: string, value: any): void {
    this.data[key] = value;
    this.hal.writeFile(this.name, JSON.stringify(this.data));
  }
}
