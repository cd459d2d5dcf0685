// Rate-limited logging of rejected device frames. Every rejection is COUNTED exactly (metrics,
// varde_frames_rejected_total{reason}); only the first `burst` per window are logged one by one, and the
// rest of the window becomes one summary line with counts per reason and the links they came from.
// A flood of 10,000 bad frames per second therefore writes a handful of lines per window, not 2 MB/s
// to the journal, and still says what happened and where.
import type { GatewayClock } from "./clock.ts";

export interface RejectLogOptions {
  windowMs?: number;
  burst?: number;
}

export class RejectLog {
  private logged = 0;
  private suppressed = new Map<string, { n: number; links: Set<string> }>();
  private timer: unknown = null;
  readonly windowMs: number;
  readonly burst: number;

  /** `write(line)` logs one line (a warning). */
  constructor(private readonly clock: GatewayClock, private readonly write: (line: string, fields: object) => void, opts: RejectLogOptions = {}) {
    this.windowMs = opts.windowMs ?? 10_000;
    this.burst = opts.burst ?? 5;
  }

  /** Notes `count` rejections; true when the caller should report this one individually (log line, bus event). */
  note(reason: string, link: string, line: string, fields: object, count = 1): boolean {
    this.openWindow();
    if (this.logged < this.burst) {
      this.logged++;
      this.write(line, fields);
      return true;
    }
    const s = this.suppressed.get(reason) ?? { n: 0, links: new Set<string>() };
    s.n += count;
    if (s.links.size < 3) s.links.add(link);
    this.suppressed.set(reason, s);
    return false;
  }

  private openWindow(): void {
    if (this.timer !== null) return;
    this.timer = this.clock.setTimeout(() => this.closeWindow(), this.windowMs);
  }

  private closeWindow(): void {
    this.timer = null;
    this.logged = 0;
    if (this.suppressed.size === 0) return;
    let total = 0;
    const parts: string[] = [];
    const byReason: Record<string, number> = {};
    for (const [reason, s] of this.suppressed) {
      total += s.n;
      byReason[reason] = s.n;
      parts.push(`${reason} ${s.n.toLocaleString("en-US")} (${[...s.links].join(", ")}${s.links.size >= 3 ? ", …" : ""})`);
    }
    this.suppressed.clear();
    this.write(`${total.toLocaleString("en-US")} more frames rejected in the last ${this.windowMs / 1000} s, not logged one by one: ${parts.join("; ")} — totals in varde_frames_rejected_total`, { suppressed: byReason });
    this.openWindow(); // the next window starts with a summary due, so a long flood keeps one line per window
  }

  stop(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}
