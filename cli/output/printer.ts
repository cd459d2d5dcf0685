// Readable lines to a stream that may go away. `varde gateway | tee gw.txt`, then Ctrl-C: the terminal
// sends SIGINT to both, tee exits first, and the gateway's next line to stdout fails with EPIPE. Node
// throws that as an uncaught error (a stack trace, and no graceful stop). A LinePrinter owns the stream's
// "error" event: on EPIPE (or any write error) it goes quiet and the process carries on stopping cleanly.
import type { Writable } from "node:stream";

export class LinePrinter {
  /** true once the reader went away: later lines are dropped */
  gone = false;

  constructor(readonly stream: Writable = process.stdout) {
    // one listener per stream is enough; it also covers console.log writes to the same stream
    if (!(stream as { __vardeGuard?: boolean }).__vardeGuard) {
      (stream as { __vardeGuard?: boolean }).__vardeGuard = true;
      stream.on("error", () => undefined);
    }
    stream.on("error", () => {
      this.gone = true;
    });
  }

  line(text: string): void {
    if (this.gone || this.stream.destroyed) {
      this.gone = true;
      return;
    }
    try {
      this.stream.write(text + "\n");
    } catch {
      this.gone = true;
    }
  }
}

/** "14:03:07" in the machine's local time zone: what a person at the console compares with a clock. */
export function clockTime(ms = Date.now(), withMs = false): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  const s = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  return withMs ? `${s}.${String(d.getMilliseconds()).padStart(3, "0")}` : s;
}
