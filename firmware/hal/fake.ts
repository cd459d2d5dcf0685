// A stand-in for hal.ts in Node unit tests of firmware logic (vitest aliases ../hal/hal.ts to this file:
// vitest.config.ts). Flash with StorageFile semantics, a size limit and torn appends (a power cut in the
// middle of a write); virtual time; everything else recorded or inert. Not bundled, never on a device.

/** flash: name -> contents (files and logs share the space). Kept on globalThis: a test "reboots" by
 *  reloading the firmware modules (vi.resetModules), which reloads this one too, and flash must stay. */
interface FakeFlash {
  files: Record<string, string>;
  size: number;
  tearAt: number;
  powerCut: boolean;
  appends: number;
}
const g = globalThis as unknown as { __vardeFakeFlash?: FakeFlash };
export const fakeFlash: FakeFlash = (g.__vardeFakeFlash ??= {
  files: {} as Record<string, string>,
  /** bytes of flash (sum of file lengths) */
  size: 1 << 20,
  /** >= 0: the next logAppend writes only this many chars, then the power is cut */
  tearAt: -1,
  /** set by a torn append: the test must reboot (reload the module state) */
  powerCut: false,
  /** logAppend calls so far */
  appends: 0,
});

export let fakeNow = 1700000000000;
const timers: { at: number; fn: () => void; id: number }[] = [];
let nextId = 1;

/** Resets flash and time (a new device); keeps nothing. */
export function fakeReset(): void {
  fakeFlash.files = {};
  fakeFlash.size = 1 << 20;
  fakeFlash.tearAt = -1;
  fakeFlash.powerCut = false;
  fakeFlash.appends = 0;
  timers.length = 0;
}

/** Advances virtual time, running due timers in order. */
export function fakeAdvance(ms: number): void {
  const end = fakeNow + ms;
  for (;;) {
    timers.sort((a, b) => a.at - b.at);
    const t = timers[0];
    if (!t || t.at > end) break;
    timers.shift();
    fakeNow = t.at;
    t.fn();
  }
  fakeNow = end;
}

function used(): number {
  let n = 0;
  for (const k of Object.keys(fakeFlash.files)) n += fakeFlash.files[k].length;
  return n;
}

export function now(): number {
  return fakeNow;
}
export function setClock(unixS: number): void {
  fakeNow = unixS * 1000;
}
export function later(fn: () => void, ms: number): any {
  const id = nextId++;
  timers.push({ at: fakeNow + ms, fn, id });
  return id;
}
export function cancel(id: any): void {
  const i = timers.findIndex((t) => t.id === id);
  if (i >= 0) timers.splice(i, 1);
}
export function pinOut(_pin: string, _on: boolean): void {}
export function pinIn(_pin: string): boolean {
  return false;
}
export function adc(_pin: string): number {
  return 0;
}
export function watch(_pin: string, _mode: string, _debounce: number, _cb: (level: boolean, t: number) => void): void {}
export function fileRead(name: string): string | undefined {
  return fakeFlash.files[name];
}
export function fileJson(name: string): any {
  const t = fakeFlash.files[name];
  try {
    return t === undefined ? undefined : JSON.parse(t);
  } catch {
    return undefined;
  }
}
export function fileWrite(name: string, data: string): boolean {
  if (used() - (fakeFlash.files[name]?.length ?? 0) + data.length > fakeFlash.size) return false;
  fakeFlash.files[name] = data;
  return true;
}
export function logAppend(name: string, data: string): boolean {
  fakeFlash.appends++;
  if (fakeFlash.powerCut) throw new Error("fake hal: no power (the test must reboot after a cut)");
  if (used() + data.length > fakeFlash.size) return false;
  if (fakeFlash.tearAt >= data.length) fakeFlash.tearAt = -1; // the cut comes after this write: it lands whole
  if (fakeFlash.tearAt >= 0) {
    fakeFlash.files[name] = (fakeFlash.files[name] ?? "") + data.substr(0, fakeFlash.tearAt);
    fakeFlash.tearAt = -1;
    fakeFlash.powerCut = true;
    throw new Error("fake hal: power cut during a flash write");
  }
  fakeFlash.files[name] = (fakeFlash.files[name] ?? "") + data;
  return true;
}
export function logLines(name: string, cb: (line: string) => void): number {
  const t = fakeFlash.files[name];
  if (t === undefined) throw new Error("no such StorageFile");
  const lines = t.split("\n");
  for (const l of lines) cb(l);
  return t.length;
}
export function fileErase(name: string): void {
  delete fakeFlash.files[name];
}
export function flashFree(): number {
  return fakeFlash.size - used();
}
export function linkStart(_d: (b: Uint8Array) => void, _s: (up: boolean) => void): void {}
export function linkSend(_b: Uint8Array): void {}
export function linkUp(): boolean {
  return true;
}
export function maintenance(): void {}
export function sha256(_d: Uint8Array): Uint8Array {
  throw new Error("fake hal: no SHA-256 here");
}
export function random(): number {
  return 0.5;
}
export function reboot(): void {}
export function memFree(): number {
  return 1000;
}
export function errFlags(): string[] {
  return [];
}
export function log(_t: string): void {}
