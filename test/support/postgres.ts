// A real, throwaway PostgreSQL cluster for tests: initdb in a temp dir, started with pg_ctl on a free
// loopback port (trust authentication, loopback only), stopped and removed by stop(). Debian's server
// binaries live in /usr/lib/postgresql/<major>/bin (scripts/setup.sh installs `postgresql`).
// PostgreSQL refuses to run as root: as root the cluster is created and run as the `postgres` user
// (runuser), in a temp dir that user owns.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort } from "./mosquitto.ts";

export function postgresBinDir(): string {
  const base = "/usr/lib/postgresql";
  const majors = fs.existsSync(base) ? fs.readdirSync(base).filter((d) => fs.existsSync(path.join(base, d, "bin/initdb"))).sort((a, b) => Number(b) - Number(a)) : [];
  if (majors.length === 0) throw new Error(`no PostgreSQL server binaries under ${base}/<major>/bin; run scripts/setup.sh (apt-get install postgresql)`);
  return path.join(base, majors[0], "bin");
}

export class Postgres {
  private constructor(readonly dir: string, readonly port: number, private readonly asUser: string | null) {}

  /** Connection string for the `postgres` database (superuser `postgres`, no password: trust on loopback). */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private run(bin: string, args: string[]): string {
    const exe = path.join(postgresBinDir(), bin);
    const [cmd, argv] = this.asUser ? ["runuser", ["-u", this.asUser, "--", exe, ...args]] : [exe, args];
    try {
      return execFileSync(cmd, argv, { stdio: "pipe", encoding: "utf8", cwd: this.dir });
    } catch (e) {
      const err = e as { stderr?: string; stdout?: string; message: string };
      throw new Error(`${bin} ${args.join(" ")} failed: ${err.stderr || err.stdout || err.message}`);
    }
  }

  static async start(): Promise<Postgres> {
    const root = process.getuid?.() === 0;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-pg-"));
    if (root) {
      fs.chmodSync(dir, 0o700);
      execFileSync("chown", ["postgres:postgres", dir]);
    }
    const pg = new Postgres(dir, await freePort(), root ? "postgres" : null);
    const data = path.join(dir, "data");
    pg.run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"]);
    // fsync stays on: the tests kill backend instances, not the database; loopback only, socket in the temp dir
    const opts = `-c listen_addresses=127.0.0.1 -c port=${pg.port} -c unix_socket_directories=${dir} -c max_connections=60 -c shared_buffers=16MB`;
    pg.run("pg_ctl", ["-D", data, "-l", path.join(dir, "server.log"), "-o", opts, "-w", "-t", "30", "start"]);
    return pg;
  }

  /** The server log (for failure messages). */
  log(): string {
    try {
      return fs.readFileSync(path.join(this.dir, "server.log"), "utf8");
    } catch {
      return "";
    }
  }

  async stop(): Promise<void> {
    try {
      this.run("pg_ctl", ["-D", path.join(this.dir, "data"), "-m", "immediate", "-w", "stop"]);
    } finally {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

export function startPostgres(): Promise<Postgres> {
  return Postgres.start();
}
