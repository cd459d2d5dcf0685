// One gateway per data directory: two processes sharing an outbox would publish the same events and
// race on downlink seqs. The lock is a file holding the owner's pid, created exclusively. A lock left
// by a process that no longer exists (SIGKILL, power cut) is taken over, so a restart after a crash
// needs no manual step.
import * as fs from "node:fs";
import * as path from "node:path";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // exists, owned by someone else
  }
}

/** Takes the lock for `dataDir`; returns the release function. Throws when a live process holds it. */
export function lockDataDir(dataDir: string): () => void {
  const file = path.join(dataDir, "gateway.lock");
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(file, "wx");
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return () => {
        try {
          if (fs.readFileSync(file, "utf8") === String(process.pid)) fs.unlinkSync(file);
        } catch {
          // already gone
        }
      };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EROFS") throw new Error(`${file}: the data directory ${dataDir} is on a read-only file system (EROFS); the outbox in it is kept as it is — make it writable again (a storage card that turned read-only after an error needs a file system check: fsck, then mount it read-write) and start the gateway`);
      if (code === "ENOSPC") throw new Error(`${file}: the disk holding the data directory ${dataDir} is full (ENOSPC); free space on it and start the gateway — the outbox in it is kept`);
      if (code !== "EEXIST") throw new Error(`${file}: cannot create the lock file: ${(e as Error).message}; check [gateway] data_dir and its permissions`);
      const pid = Number(fs.readFileSync(file, "utf8").trim());
      if (pid > 0 && pid !== process.pid && alive(pid)) {
        throw new Error(`${file}: another gateway (pid ${pid}) is using data_dir ${dataDir}; stop it first, or give this one its own data_dir`);
      }
      fs.rmSync(file, { force: true }); // stale: its owner died without releasing it
    }
  }
  throw new Error(`${file}: could not take the lock; remove the file if no gateway is running`);
}
