// "Something changed" signals for the console's server push. A change says only WHAT kind of data
// changed (alarms, devices, doses, commands, ...); each browser then fetches it again through the JSON
// API, which applies the user's role and team — so a push never carries data a user may not see.
// Across instances sharing one PostgreSQL the signal travels by LISTEN/NOTIFY: an alarm stored by
// instance A reaches a browser connected to instance B. Local changes are delivered at once; a
// notification from this instance itself is ignored.
import { EventEmitter } from "node:events";
import type { Db } from "./db.ts";

export interface Change {
  kind: string;
  detail?: string;
}

const CHANNEL = "varde_changes";

export class Changes {
  private readonly ee = new EventEmitter();
  constructor(private readonly db: Db | null, private readonly instance: string) {
    this.ee.setMaxListeners(0);
  }

  async start(): Promise<void> {
    if (this.db?.dialect !== "postgres") return;
    await this.db.listen(CHANNEL, (payload) => {
      try {
        const m = JSON.parse(payload) as Change & { from: string };
        if (m.from !== this.instance) this.ee.emit("change", { kind: m.kind, detail: m.detail });
      } catch {
        /* not ours */
      }
    });
  }

  emit(c: Change): void {
    this.ee.emit("change", c);
    if (this.db?.dialect === "postgres" && c.kind !== "mqtt") void this.db.notify(CHANNEL, JSON.stringify({ ...c, from: this.instance })).catch(() => undefined);
  }

  on(cb: (c: Change) => void): () => void {
    this.ee.on("change", cb);
    return () => this.ee.off("change", cb);
  }
}
