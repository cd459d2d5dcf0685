// The hardware interface every firmware app is written against (Espruino subset, types only).
// firmware/espruino/hal.ts implements it with Espruino globals; tests use firmware/core/fake-hal.ts.
// Nothing in firmware/core or an app may touch an Espruino global directly: only through a Hal.
//
// Units: time in milliseconds of a monotonic device clock (Espruino: getTime() * 1000); pins are
// Espruino pin names from the board file ("D25"); storage names are <= 24 characters.

export interface Hal {
  /** device clock, milliseconds (monotonic, arbitrary origin until a time sync sets it) */
  now(): number;
  /** sets the device clock (Unix seconds, fractional allowed); used by time sync */
  setTime(unixS: number): void;
  setTimeout(fn: () => void, ms: number): any;
  clearTimeout(id: any): void;

  /** digital output: true = on / high */
  write(pin: string, on: boolean): void;
  /** digital input level */
  read(pin: string): boolean;
  /** analog input, 0..1 of the reference voltage */
  analog(pin: string): number;
  /**
   * Calls cb(level, timeMs) on every debounced edge of an input, until unwatch(id).
   * level is the raw pin level (the app applies active-low itself).
   */
  watch(pin: string, debounceMs: number, cb: (level: boolean, t: number) => void): any;
  unwatch(id: any): void;

  /** whole small file (JSON state, identity), undefined when missing */
  readFile(name: string): string | undefined;
  /** replaces a small file; false when flash is full */
  writeFile(name: string, data: string): boolean;
  /**
   * Appends text to an append-only log (Espruino StorageFile). Text must not contain "\xFF".
   * A power cut can leave a prefix of `data` written, never reorder bytes. false when flash is full.
   */
  appendLog(name: string, data: string): boolean;
  /** calls cb for every "\n"-separated line of a log (without the newline); returns the log length */
  readLog(name: string, cb: (line: string) => void): number;
  /** removes a file or log; missing is fine */
  erase(name: string): void;
  /** free bytes of flash storage */
  storageFree(): number;

  /** sends bytes to the gateway (serial or BLE; BLE chunks to the MTU) */
  linkWrite(bytes: Uint8Array): void;
  /** registers the receiver of bytes from the gateway (one receiver) */
  onLinkData(cb: (bytes: Uint8Array) => void): void;
  /** true when bytes written now can reach the gateway (serial: always; BLE: connected) */
  linkUp(): boolean;
  /** registers the receiver of link up/down changes */
  onLinkState(cb: (up: boolean) => void): void;

  /** SHA-256 of the bytes */
  sha256(data: Uint8Array): Uint8Array;
  /** random number in [0, 1) from the hardware RNG */
  random(): number;
  /** restarts the device (RAM lost, flash kept) */
  reboot(): void;
  /** JsVars free and total */
  memory(): { free: number; total: number };
  /** interpreter error flags since the last call (reading clears them), e.g. ["LOW_MEMORY"] */
  errorFlags(): string[];
  /** moves the console (REPL) back to the data port for a technician; frames stop until reboot */
  maintenance(): void;
  /** debug text (console; never the data port in production) */
  log(text: string): void;
}
