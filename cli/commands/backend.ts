// `varde backend --config backend.toml`: the municipality's reference backend (backend/README.md) — stores
// every event of the backend contract once, then acks it; serves the response-centre and home-care
// console. `varde backend user-add`: creates or updates a console user (password from VARDE_PASSWORD or stdin).
import type { Command } from "commander";

async function readPassword(): Promise<string> {
  if (process.env.VARDE_PASSWORD) return process.env.VARDE_PASSWORD;
  if (process.stdin.isTTY) process.stderr.write("password (at least 10 characters): ");
  let s = "";
  for await (const c of process.stdin) {
    s += c;
    if (s.includes("\n")) break;
  }
  return s.split("\n")[0].replace(/\r$/, "");
}

export function register(program: Command): void {
  const cmd = program
    .command("backend")
    .description("run the reference backend: contract consumer (store, then ack) + response-centre / home-care web console")
    .option("-c, --config <file>", "backend configuration (TOML); example: backend/backend.example.toml", "backend.toml")
    .action(async (opts: { config: string }) => {
      const { loadBackendConfig } = await import("../../backend/config.ts");
      const { startBackend } = await import("../../backend/index.ts");
      let be;
      try {
        be = await startBackend(loadBackendConfig(opts.config));
      } catch (e) {
        console.error(`varde backend: ${(e as Error).message}`);
        process.exitCode = 2;
        return;
      }
      console.log(`backend ${be.instance} running: console ${be.url} (database ${be.db.where})`);
      let stopping = false;
      const stop = async (sig: string) => {
        if (stopping) return;
        stopping = true;
        console.log(`${sig}: stopping (storing and acking what has arrived)`);
        const force = setTimeout(() => process.exit(1), 10_000);
        force.unref();
        await be.stop();
        process.exit(0);
      };
      process.on("SIGTERM", () => void stop("SIGTERM"));
      process.on("SIGINT", () => void stop("SIGINT"));
    });
  cmd
    .command("user-add")
    .description("create or update a console user; the password is read from VARDE_PASSWORD or the first line of stdin")
    .requiredOption("-u, --username <name>", "login name (lower case)")
    .requiredOption("-r, --role <role>", "operator | nurse | technician | manager")
    .option("-t, --team <team>", "care team (required for a nurse: she sees only this team's patients)", "")
    .option("-n, --name <text>", "display name (shown to the wearer's button as responder, first 16 characters)")
    .action(async (opts: { username: string; role: string; team: string; name?: string }) => {
      const parentOpts = cmd.opts() as { config: string };
      const { loadBackendConfig } = await import("../../backend/config.ts");
      const { openDb, migrate } = await import("../../backend/index.ts");
      const { upsertUser } = await import("../../backend/auth.ts");
      try {
        const cfg = loadBackendConfig(parentOpts.config);
        const db = await openDb(cfg.db!);
        try {
          await migrate(db);
          await upsertUser(db, { username: opts.username, role: opts.role as any, team: opts.team, name: opts.name, password: await readPassword() });
        } finally {
          await db.close();
        }
        console.log(`user ${opts.username} (${opts.role}${opts.team ? ", team " + opts.team : ""}) saved in ${cfg.db}`);
      } catch (e) {
        console.error(`varde backend user-add: ${(e as Error).message}`);
        process.exitCode = 2;
      }
    });
}
