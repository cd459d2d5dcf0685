// An Espruino console (REPL) as the real interpreter presents it on its console port, so that the
// `espruino` CLI and a person in a terminal can drive a simulated device. What it reproduces, from
// Espruino's jsinteractive.c, because the CLI relies on it:
//  * Line editing: printable chars are appended (and echoed), BS/DEL deletes, CR or LF ends a line
//    (LF straight after CR is ignored). A line runs only when it is complete (brackets balanced, no open
//    string/comment); otherwise the newline stays in the input and more lines are awaited.
//  * 0x10 (DLE) as the first char of a line: that line is neither echoed nor followed by "=value"
//    (the CLI prefixes every line it sends with it).
//  * ESC LF ("Alt-Enter") inserts a newline without running the line (the CLI's code reformatter sends
//    it inside multi-line statements); ESC [ n d (the CLI's "line number" escape) and other CSI
//    sequences (cursor keys) are swallowed.
//  * Ctrl-C (0x03) clears a pending input line; on an empty line it prints nothing, so the CLI's
//    "Ctrl-C twice to exit" and its prompt recovery both work.
//  * A normal line: newline echo, program output, "=<value>" then the ">" prompt. An uncaught
//    exception prints "Uncaught <Error>: <message>" (the CLI's callers grep for "Uncaught").
//  * echo(0)/echo(1) switch echo globally (Espruino's echo()).
//  * Output is sent with LF expanded to CRLF; output printed while the prompt is on screen first erases
//    the prompt line, and the prompt comes back afterwards (what the CLI's prompt detection sees).
//  * DLE SOH starts a binary packet (packets.ts: EVAL, FILE_SEND/DATA, FILE_RECV), as on 2v25+.
//  * Flow control: input is queued and run a slice at a time; past HIGH_WATER queued chars XOFF (0x13)
//    is sent, and XON (0x11) once the queue has drained below LOW_WATER, as Espruino does on USB/BLE.
// The console evaluates through ConsoleHost, which the simulator glue (attach.ts) binds to the device's
// vm context, so code typed here runs exactly where the firmware runs.
import { isCompleteInput } from "./complete.ts";
import { PacketHandler } from "./packets.ts";
import { espruinoRepr } from "./repr.ts";

export interface ConsoleHost {
  /** Runs code at the global scope of the device; returns the completion value or throws. */
  evaluate(code: string): unknown;
}

export const HIGH_WATER = 4096;
export const LOW_WATER = 512;
/** chars of input handled per slice before yielding (lets XOFF reach the sender, like a real UART buffer) */
const SLICE = 2048;

export const XON = "\x11";
export const XOFF = "\x13";

type EscState = "none" | "esc" | "csi";

export class EspruinoConsole {
  private line = "";
  private echoOffForLine = false;
  private echoOn = true;
  private lastWasCR = false;
  private esc: EscState = "none";
  /** true while the prompt line is not on screen and must be re-drawn when idle */
  private promptRemoved = true;
  private queue = "";
  private xoff = false;
  private scheduled = false;
  private closed = false;
  private afterDle = false;
  private packets: PacketHandler;
  private inPacket = false;

  constructor(
    private host: ConsoleHost,
    private out: (bytes: string) => void,
    private schedule: (fn: () => void) => void = (fn) => setImmediate(fn),
  ) {
    this.packets = new PacketHandler((code) => this.host.evaluate(code), (b) => this.out(b));
  }

  /** Bytes from the port (a string of byte-chars). Queued and handled asynchronously, in order. */
  input(data: string): void {
    if (this.closed) return;
    this.queue += data;
    if (!this.xoff && this.queue.length > HIGH_WATER) {
      this.xoff = true;
      this.out(XOFF);
    }
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(() => this.drain());
    }
  }

  private drain(): void {
    this.scheduled = false;
    if (this.closed) return;
    this.step();
    if (this.queue.length) {
      this.scheduled = true;
      this.schedule(() => this.drain());
    }
  }

  private step(): void {
    const chunk = this.queue.slice(0, SLICE);
    this.queue = this.queue.slice(chunk.length);
    for (let i = 0; i < chunk.length && !this.closed; i++) this.handleChar(chunk[i]);
    if (this.xoff && this.queue.length < LOW_WATER) {
      this.xoff = false;
      this.out(XON);
    }
    this.returnPrompt();
  }

  /** Stops handling input (the console moved off this port, or the device lost power). */
  close(): void {
    this.closed = true;
    this.queue = "";
  }

  /** Program output (print, console.log, errors) while the console is on this port. */
  print(text: string): void {
    if (this.closed || text === "") return;
    this.removePrompt();
    this.out(text.replace(/\r?\n/g, "\r\n"));
    this.schedule(() => this.returnPrompt()); // output from a timer: the prompt comes back when idle
  }

  /** Prints the power-on banner and the prompt, as Espruino does after reset. */
  banner(version: string): void {
    this.print(
      "\n" +
        " ____                 _ \n" +
        "|  __|___ ___ ___ _ _|_|___ ___ \n" +
        "|  __|_ -| . |  _| | | |   | . |\n" +
        "|____|___|  _|_| |___|_|_|_|___|\n" +
        "         |_| espruino.com\n" +
        ` ${version} (c) 2025 G.Williams  [Varde simulator]\n\n`,
    );
    this.returnPrompt();
  }

  /** echo(0) / echo(1) */
  setEcho(on: boolean): void {
    this.echoOn = on;
  }

  private showInput(): boolean {
    return this.echoOn && !this.echoOffForLine;
  }

  private removePrompt(): void {
    if (this.promptRemoved) return;
    this.promptRemoved = true;
    if (this.echoOn) this.out("\r" + " ".repeat(1 + this.line.length) + "\r");
  }

  private returnPrompt(): void {
    if (!this.promptRemoved || this.closed) return;
    this.promptRemoved = false;
    if (this.echoOn) this.out(">" + (this.echoOffForLine ? "" : this.line.replace(/\n/g, "\r\n:")));
  }

  private handleChar(ch: string): void {
    if (this.inPacket) {
      if (this.packets.feed(ch)) this.inPacket = false;
      return;
    }
    const dle = this.afterDle;
    this.afterDle = ch === "\x10";
    if (dle && ch === "\x01") {
      // DLE SOH: a binary packet (packets.ts), not console input
      this.inPacket = true;
      this.echoOffForLine = false;
      return;
    }
    const wasCR = this.lastWasCR;
    this.lastWasCR = ch === "\r";
    if (this.esc === "esc") {
      if (ch === "[") {
        this.esc = "csi";
        return;
      }
      this.esc = "none";
      if (ch === "\n" || ch === "\r") this.append("\n"); // Alt-Enter: newline, do not run
      return;
    }
    if (this.esc === "csi") {
      if (ch >= "@" && ch <= "~") this.esc = "none"; // final byte of the sequence
      return;
    }
    switch (ch) {
      case "\x1b":
        this.esc = "esc";
        return;
      case "\x03":
        this.ctrlC();
        return;
      case "\x10":
        if (this.line === "") this.echoOffForLine = true;
        return;
      case "\x08":
      case "\x7f":
        if (this.line.length) {
          this.line = this.line.slice(0, -1);
          if (this.showInput()) this.out("\x08 \x08");
        }
        return;
      case "\n":
        if (wasCR) return;
        this.enter();
        return;
      case "\r":
        this.enter();
        return;
      case "\x11":
      case "\x13":
        return; // flow control from the host side: nothing to pause in the simulator
    }
    if (ch < " " && ch !== "\t") return; // other control chars are ignored by the line editor
    this.append(ch);
  }

  private append(ch: string): void {
    this.line += ch;
    if (this.showInput()) this.out(ch === "\n" ? "\r\n:" : ch);
  }

  private ctrlC(): void {
    if (this.line === "" && !this.echoOffForLine) return;
    this.removePrompt();
    this.line = "";
    this.echoOffForLine = false;
  }

  private enter(): void {
    if (!isCompleteInput(this.line)) {
      this.append("\n");
      return;
    }
    const code = this.line;
    const quiet = !this.showInput();
    this.line = "";
    if (!quiet) {
      this.out("\r\n");
      this.promptRemoved = true;
    }
    let value: unknown;
    let failed = false;
    try {
      value = this.host.evaluate(code);
    } catch (e) {
      failed = true;
      this.print(`Uncaught ${describeError(e)}\n`);
    }
    if (!quiet && !failed && !this.closed) this.print(`=${espruinoRepr(value)}\n`);
    this.echoOffForLine = false;
  }
}

/** "Error: msg" / "SyntaxError: msg" / "ReferenceError: x is not defined", as Espruino prints them. */
export function describeError(e: unknown): string {
  if (e && typeof e === "object" && "message" in e) {
    const err = e as { name?: string; message: string };
    return `${err.name || "Error"}: ${err.message}`;
  }
  return espruinoRepr(e);
}
