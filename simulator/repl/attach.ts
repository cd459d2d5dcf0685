// Binds the Espruino console emulation (console.ts) to a simulated device, so that whatever is on the
// device's console serial (Serial1 on the data port by default, until the firmware moves the console
// to LoopbackA, and again after maintenance) behaves like a real Espruino REPL:
//
//   const repl = new SimRepl();
//   const dev = new SimDevice({ board, clock, link, providers: [repl.provider] });
//   repl.attach(dev);
//
// Input: SimDevice hands over the bytes that arrive on the console device (setConsoleInputHandler).
// Output: the REPL's echo, "=value" and prompt are written to the console serial device, exactly where
// the firmware's own print() output goes. One EspruinoConsole per interpreter run: a reboot or power
// cut starts a fresh console (input half-typed before is lost, as on hardware).
//
// REPL-only Espruino globals the simulator core does not define, provided here through a GlobalProvider:
//   load()   restart the interpreter and run the boot code (.bootcde): E.reboot() in the simulator
//   reset()  a fresh interpreter without the boot code (SimDevice.reset), then the banner and prompt;
//            it runs after the current line, as on Espruino (the CLI pauses after sending it)
//   echo(on) console echo on/off
// and process.env.MODULES (the built-in module list; without it the tools try to download "Storage").
// atob/btoa, which the tools' Storage uploads use, come from the core.
import type { SimDevice } from "../device.ts";
import type { EspruinoRuntime, GlobalProvider } from "../espruino/runtime.ts";
import { EspruinoConsole } from "./console.ts";

export const BUILTIN_MODULES = "Storage,crypto,Flash,heatshrink";

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

function consoleSerial(rt: EspruinoRuntime): { write(s: string): void } | undefined {
  const dev = rt.realm.global[rt.consoleName] as { write?: (s: string) => void } | undefined;
  return dev && typeof dev.write === "function" ? (dev as { write(s: string): void }) : undefined;
}

export class SimRepl {
  private con: EspruinoConsole | null = null;
  private rt: EspruinoRuntime | null = null;
  private dev: SimDevice | null = null;
  /** print the Espruino banner when a REPL starts after a reset() */
  banner = true;

  /** Add to SimDeviceOptions.providers: the REPL globals, per interpreter run. */
  readonly provider: GlobalProvider = (rt) => {
    const r = rt.realm;
    const env = (r.global.process as { env?: Record<string, unknown> } | undefined)?.env;
    if (env && !env.MODULES) env.MODULES = BUILTIN_MODULES;
    return {
      globals: {
        load: r.fn(() => {
          (r.global.E as { reboot(): void }).reboot();
        }),
        reset: r.fn(() => {
          rt.later(0, () => {
            const dev = this.dev;
            if (!dev) return;
            dev.reset();
            if (dev.runtime && this.banner) this.consoleFor(dev.runtime).banner(String(env?.VERSION ?? "2v29"));
          });
        }),
        echo: r.fn((on: unknown) => this.consoleFor(rt).setEcho(!!on)),
      },
      onKill: () => {
        if (this.rt === rt) {
          this.con?.close();
          this.con = null;
          this.rt = null;
        }
      },
    };
  };

  /** Routes the device's console input to the REPL. */
  attach(dev: SimDevice): void {
    this.dev = dev;
    dev.setConsoleInputHandler((bytes, rt) => this.consoleFor(rt).input(latin1(bytes)));
  }

  private consoleFor(rt: EspruinoRuntime): EspruinoConsole {
    if (this.con && this.rt === rt) return this.con;
    this.con?.close();
    this.rt = rt;
    this.con = new EspruinoConsole(
      { evaluate: (code) => rt.evaluate(code) },
      (s) => consoleSerial(rt)?.write(s),
      (fn) => void rt.later(0, fn),
    );
    return this.con;
  }
}
