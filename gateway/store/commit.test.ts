// Group commit against a disk that fails on demand (the fault-injecting backend below stands in for SQLite
// and fdatasync): batching, ordering, fault mode and recovery. The same paths on a real full disk and a real
// read-only file system: test/chaos/storage-faults.test.ts.
import { describe, it, expect } from "vitest";
import { GroupCommit, StorageFault } from "./commit.ts";
import { until } from "../../test/support/wait.ts";

function disk() {
  const d = {
    failWrites: "" as string, // error code to throw from the transaction, "" = ok
    failSync: "",
    written: [] as string[][],
    syncs: 0,
    probes: 0,
    /** transactions tried, failed ones included */
    attempts: 0,
  };
  const backend = {
    transaction(ops: Array<() => void>) {
      d.attempts++;
      if (d.failWrites) throw Object.assign(new Error(`disk says ${d.failWrites}`), { code: d.failWrites });
      const batch: string[] = [];
      (globalThis as any).__batch = batch;
      for (const op of ops) op();
      d.written.push(batch);
    },
    sync(cb: (e: Error | null) => void) {
      setImmediate(() => {
        if (d.failSync) return cb(Object.assign(new Error(d.failSync), { code: d.failSync }));
        d.syncs++;
        cb(null);
      });
    },
    probe() {
      d.probes++;
      (globalThis as any).__batch.push("probe");
    },
  };
  return { d, backend };
}
const w = (s: string) => () => (globalThis as any).__batch.push(s);
const settle = (p: Promise<void>) => p.then(() => "ok", (e: StorageFault) => e.code);

describe("group commit", () => {
  it("one transaction and one fsync for everything queued in a turn; order kept; keyed lazy writes coalesce", async () => {
    const { d, backend } = disk();
    const gc = new GroupCommit(backend);
    const a = gc.durable(w("insert 1"));
    gc.lazy("avail:1", w("avail old"));
    gc.lazy(null, w("delete 1"));
    gc.lazy("avail:1", w("avail new"));
    const b = gc.durable(w("insert 2"));
    expect(await Promise.all([settle(a), settle(b)])).toEqual(["ok", "ok"]);
    expect(d.written).toEqual([["insert 1", "avail new", "delete 1", "insert 2"]]);
    expect(d.syncs).toBe(1);
  });

  it("a full or read-only disk: writes refused, fault raised once, lazy writes kept; recovery on the probe", async () => {
    const { d, backend } = disk();
    const faults: Array<string | null> = [];
    const gc = new GroupCommit(backend, { retryMs: 5, onFault: (f) => faults.push(f ? f.code : null) });
    await gc.durable(w("insert 1"));
    d.failWrites = "SQLITE_FULL";
    gc.lazy(null, w("delete 1"));
    const refused = gc.durable(w("insert 2"));
    expect(await settle(refused)).toBe("SQLITE_FULL");
    expect(await settle(gc.durable(w("insert 3")))).toBe("SQLITE_FULL"); // refused at once while faulted
    expect(faults).toEqual(["SQLITE_FULL"]);
    const attempts = d.attempts;
    await until(() => d.attempts >= attempts + 2, 5000, "two probe batches (failing: the disk is still full)");
    expect(faults).toEqual(["SQLITE_FULL"]);
    d.failWrites = "";
    await until(() => faults.length === 2, 5000, "the fault cleared by a probe");
    expect(faults).toEqual(["SQLITE_FULL", null]);
    expect(d.written.at(-1)).toEqual(["delete 1", "probe"]); // the kept delete went out with the probe
    expect(await settle(gc.durable(w("insert 4")))).toBe("ok");
  });

  it("a failed fsync (I/O error) rejects what it covered and raises the fault", async () => {
    const { d, backend } = disk();
    const faults: Array<string | null> = [];
    const gc = new GroupCommit(backend, { retryMs: 5, onFault: (f) => faults.push(f ? f.code : null) });
    d.failSync = "EIO";
    expect(await settle(gc.durable(w("insert 1")))).toBe("EIO");
    expect(faults).toEqual(["EIO"]);
    d.failSync = "";
    await until(() => faults.length === 2, 5000, "the fault cleared by a probe");
    expect(faults).toEqual(["EIO", null]);
  });
});
