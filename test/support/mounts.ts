// Real storage faults for tests that need a disk that fills up or turns read-only: a size-limited tmpfs (a
// real ENOSPC) and an ext4 file system on a loop device mounted with errors=remount-ro, whose kernel test
// switch (/sys/fs/ext4/<dev>/trigger_fs_error) makes it read-only under the running gateway exactly as an
// SD card does after an I/O error. Both need root (mount); available() says whether this machine can.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: "pipe" }).toString();

let cache: { tmpfs: boolean; ext4: boolean; why: string } | null = null;

/** Whether tmpfs and loop-device ext4 mounts work here (root, mount, losetup, mkfs.ext4, the ext4 error switch). */
export function available(): { tmpfs: boolean; ext4: boolean; why: string } {
  if (cache) return cache;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-mnt-probe-"));
  let tmpfs = false;
  let ext4 = false;
  let why = "";
  try {
    run("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]);
    run("umount", [dir]);
    tmpfs = true;
    const img = path.join(os.tmpdir(), `varde-probe-${process.pid}.img`);
    try {
      run("truncate", ["-s", "8M", img]);
      run("mkfs.ext4", ["-q", "-F", img]);
      run("mount", ["-o", "loop,errors=remount-ro", img, dir]);
      const dev = path.basename(run("findmnt", ["-no", "SOURCE", dir]).trim());
      ext4 = fs.existsSync(`/sys/fs/ext4/${dev}/trigger_fs_error`);
      if (!ext4) why = `no /sys/fs/ext4/${dev}/trigger_fs_error`;
      run("umount", [dir]);
    } catch (e) {
      why = `ext4 on a loop device: ${(e as Error).message.split("\n")[0]}`;
    } finally {
      fs.rmSync(img, { force: true });
    }
  } catch (e) {
    why = `mount (needs root): ${(e as Error).message.split("\n")[0]}`;
  }
  fs.rmSync(dir, { recursive: true, force: true });
  cache = { tmpfs, ext4, why };
  return cache;
}

export interface Mount {
  dir: string;
  umount(): void;
}

/** A tmpfs of `bytes` at a new directory. */
export function tmpfs(bytes: number): Mount & { fill(): string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-tmpfs-"));
  run("mount", ["-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", dir]);
  return {
    dir,
    /** writes a filler file until the file system is full; returns its path (delete it to free the space) */
    fill() {
      const f = path.join(dir, "filler");
      const fd = fs.openSync(f, "w");
      const chunk = Buffer.alloc(4096, 0x5a);
      try {
        for (;;) fs.writeSync(fd, chunk);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
      } finally {
        fs.closeSync(fd);
      }
      return f;
    },
    umount() {
      try {
        run("umount", ["-l", dir]);
      } catch {
        // already gone
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** ext4 on a loop device (errors=remount-ro): break() turns it read-only under open files; repair() checks and remounts it. */
export function ext4(megabytes: number): Mount & { break(): void; repair(mode: "ro" | "rw"): void; readOnly(): boolean } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-ext4-"));
  const img = `${dir}.img`;
  run("truncate", ["-s", `${megabytes}M`, img]);
  run("mkfs.ext4", ["-q", "-F", img]);
  const mount = (mode: "ro" | "rw") => run("mount", ["-o", `loop,errors=remount-ro,${mode}`, img, dir]);
  mount("rw");
  const dev = () => path.basename(run("findmnt", ["-no", "SOURCE", dir]).trim());
  return {
    dir,
    break() {
      fs.writeFileSync(`/sys/fs/ext4/${dev()}/trigger_fs_error`, "1");
    },
    readOnly() {
      return /(^|,)ro(,|$)|emergency_ro/.test(run("findmnt", ["-no", "OPTIONS", dir]));
    },
    /** what an operator does: unmount, fsck, mount again (read-only or read-write) */
    repair(mode) {
      run("umount", [dir]);
      try {
        run("e2fsck", ["-fy", img]);
      } catch {
        // exit code 1 = errors corrected
      }
      mount(mode);
    },
    umount() {
      try {
        run("umount", ["-l", dir]);
      } catch {
        // already gone
      }
      fs.rmSync(img, { force: true });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
