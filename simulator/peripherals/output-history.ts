// Base for outputs the firmware drives (LEDs, buzzer): current state plus a history of changes with
// the true time of each, and listeners for the CLI and tests.

export interface OutputChange<S> {
  /** true time, ms since the Unix epoch */
  time: number;
  state: S;
}

export class OutputHistory<S> {
  readonly history: Array<OutputChange<S>> = [];
  private ls: Array<(c: OutputChange<S>) => void> = [];
  private cur: S;

  constructor(
    initial: S,
    private readonly same: (a: S, b: S) => boolean = (a, b) => a === b,
    private readonly maxHistory = 100_000,
  ) {
    this.cur = initial;
  }

  get state(): S {
    return this.cur;
  }

  update(time: number, s: S): void {
    if (this.same(this.cur, s)) return;
    this.cur = s;
    const c = { time, state: s };
    this.history.push(c);
    if (this.history.length > this.maxHistory) this.history.splice(0, this.history.length - this.maxHistory);
    for (const l of this.ls.slice()) l(c);
  }

  onChange(l: (c: OutputChange<S>) => void): () => void {
    this.ls.push(l);
    return () => {
      this.ls = this.ls.filter((x) => x !== l);
    };
  }

  /** changes at or after `sinceMs` */
  since(sinceMs: number): Array<OutputChange<S>> {
    return this.history.filter((c) => c.time >= sinceMs);
  }
}
