// The backend's database behind one small async interface, with two drivers:
//   * SQLite (better-sqlite3, WAL, synchronous = FULL): the embedded default, one file, no setup;
//   * PostgreSQL (pg): for a municipality, and the one shared store when several instances share the load.
// Both run the SAME SQL (backend/schema.ts): statements are written with `?` placeholders, which the
// PostgreSQL driver rewrites to $1, $2, ...; the subset used (INSERT ... ON CONFLICT DO NOTHING,
// RETURNING, BIGINT, TEXT) means the same in both. 64-bit integers come back as JS numbers (int8 parser).
//
// Transactions: tx(fn) runs fn with a handle whose queries are inside one transaction (BEGIN ... COMMIT,
// ROLLBACK on a throw). SQLite has one connection, so transactions are serialised by a queue; PostgreSQL
// uses a pooled client per transaction.
import Database from "better-sqlite3";
import pg from "pg";
import * as fs from "node:fs";
import * as path from "node:path";

export type Row = Record<string, any>;
export type Dialect = "sqlite" | "postgres";

export interface Queryable {
  all(sql: string, params?: unknown[]): Promise<Row[]>;
  get(sql: string, params?: unknown[]): Promise<Row | undefined>;
  run(sql: string, params?: unknown[]): Promise<{ changes: number }>;
  /** several statements, no parameters (migrations) */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly dialect: Dialect;
  /** where it is, for messages (file path, or the PostgreSQL URL without its password) */
  readonly where: string;
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** PostgreSQL LISTEN/NOTIFY; SQLite: local only (one process owns the file) */
  notify(channel: string, payload: string): Promise<void>;
  listen(channel: string, cb: (payload: string) => void): Promise<void>;
  close(): Promise<void>;
}

/** "sqlite:<path>" / a path ending in .db / "postgres://..." → a connected Db. */
export async function openDb(spec: string): Promise<Db> {
  if (/^postgres(ql)?:\/\//.test(spec)) return PgDb.open(spec);
  const file = spec.startsWith("sqlite:") ? spec.slice("sqlite:".length) : spec;
  return SqliteDb.open(file);
}

// ---------------------------------------------------------------- SQLite

class SqliteDb implements Db {
  readonly dialect = "sqlite" as const;
  private chain: Promise<unknown> = Promise.resolve();
  private listeners = new Map<string, Array<(p: string) => void>>();
  private stmts = new Map<string, Database.Statement>();
  private inTx = false;
  private constructor(private readonly db: Database.Database, readonly where: string) {}

  static open(file: string): SqliteDb {
    if (file !== ":memory:") {
      const dir = path.dirname(path.resolve(file));
      try {
        fs.mkdirSync(dir, { recursive: true });
      } catch (e) {
        throw new Error(`backend database ${file}: cannot create its folder ${dir}: ${(e as Error).message}`);
      }
    }
    let db: Database.Database;
    try {
      db = new Database(file);
    } catch (e) {
      throw new Error(`backend database ${file}: cannot open it as SQLite: ${(e as Error).message}; check the path and its permissions`);
    }
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL"); // an event is acked only after it is on disk
    db.pragma("foreign_keys = ON");
    db.pragma("busy_timeout = 5000");
    return new SqliteDb(db, file);
  }

  private stmt(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      if (this.stmts.size > 500) this.stmts.clear();
      this.stmts.set(sql, s);
    }
    return s;
  }
  private conv(params: unknown[]): unknown[] {
    return params.map((p) => (typeof p === "boolean" ? (p ? 1 : 0) : p === undefined ? null : p));
  }
  private direct: Queryable = {
    all: async (sql, params = []) => {
      const s = this.stmt(sql);
      return s.reader ? (s.all(...this.conv(params)) as Row[]) : (s.run(...this.conv(params)), []);
    },
    get: async (sql, params = []) => {
      const s = this.stmt(sql);
      return s.reader ? (s.get(...this.conv(params)) as Row | undefined) : (s.run(...this.conv(params)), undefined);
    },
    run: async (sql, params = []) => ({ changes: this.stmt(sql).run(...this.conv(params)).changes }),
    exec: async (sql) => void this.db.exec(sql),
  };

  // Outside a transaction, statements wait for any transaction in progress (one connection).
  all(sql: string, params?: unknown[]) {
    return this.inTx ? this.queued(() => this.direct.all(sql, params)) : this.direct.all(sql, params);
  }
  get(sql: string, params?: unknown[]) {
    return this.inTx ? this.queued(() => this.direct.get(sql, params)) : this.direct.get(sql, params);
  }
  run(sql: string, params?: unknown[]) {
    return this.inTx ? this.queued(() => this.direct.run(sql, params)) : this.direct.run(sql, params);
  }
  private queued<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.queued(async () => {
      this.db.exec("BEGIN IMMEDIATE");
      this.inTx = true;
      try {
        const r = await fn(this.direct);
        this.db.exec("COMMIT");
        return r;
      } catch (e) {
        if (this.db.inTransaction) this.db.exec("ROLLBACK");
        throw e;
      } finally {
        this.inTx = false;
      }
    });
  }
  exec(sql: string): Promise<void> {
    return this.inTx ? this.queued(() => this.direct.exec(sql)) : this.direct.exec(sql);
  }
  async notify(channel: string, payload: string): Promise<void> {
    for (const cb of this.listeners.get(channel) ?? []) queueMicrotask(() => cb(payload));
  }
  async listen(channel: string, cb: (payload: string) => void): Promise<void> {
    if (!this.listeners.has(channel)) this.listeners.set(channel, []);
    this.listeners.get(channel)!.push(cb);
  }
  async close(): Promise<void> {
    await this.chain;
    this.db.close();
  }
}

// ---------------------------------------------------------------- PostgreSQL

pg.types.setTypeParser(20, (v: string) => Number(v)); // int8 → number (ids, ms times: far below 2^53)

/** `?` placeholders → `$n` (our SQL has no `?` inside string literals). */
export function toPgParams(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

class PgDb implements Db {
  readonly dialect = "postgres" as const;
  private listener: pg.Client | null = null;
  private handlers = new Map<string, Array<(p: string) => void>>();
  private constructor(private readonly pool: pg.Pool, readonly where: string, private readonly url: string) {}

  static async open(url: string): Promise<PgDb> {
    const where = url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
    const pool = new pg.Pool({ connectionString: url, max: 8 });
    pool.on("error", () => undefined); // an idle client's error: the next query reports it
    try {
      const c = await pool.connect();
      c.release();
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw new Error(`backend database ${where}: cannot connect: ${(e as Error).message}; is PostgreSQL running, and are host, port, user and database in the URL right?`);
    }
    return new PgDb(pool, where, url);
  }

  private q(c: pg.Pool | pg.PoolClient): Queryable {
    const conv = (params: unknown[]) => params.map((p) => (p === undefined ? null : p));
    return {
      all: async (sql, params = []) => (await c.query(toPgParams(sql), conv(params))).rows,
      get: async (sql, params = []) => (await c.query(toPgParams(sql), conv(params))).rows[0],
      run: async (sql, params = []) => ({ changes: (await c.query(toPgParams(sql), conv(params))).rowCount ?? 0 }),
      exec: async (sql) => void (await c.query(sql)), // simple protocol: several statements allowed
    };
  }
  all(sql: string, params?: unknown[]) {
    return this.q(this.pool).all(sql, params);
  }
  get(sql: string, params?: unknown[]) {
    return this.q(this.pool).get(sql, params);
  }
  run(sql: string, params?: unknown[]) {
    return this.q(this.pool).run(sql, params);
  }
  async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query("BEGIN");
      const r = await fn(this.q(c));
      await c.query("COMMIT");
      return r;
    } catch (e) {
      await c.query("ROLLBACK").catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  }
  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }
  async notify(channel: string, payload: string): Promise<void> {
    await this.pool.query("SELECT pg_notify($1, $2)", [channel, payload]);
  }
  async listen(channel: string, cb: (payload: string) => void): Promise<void> {
    if (!this.listener) {
      this.listener = new pg.Client({ connectionString: this.url });
      this.listener.on("error", () => undefined);
      await this.listener.connect();
      this.listener.on("notification", (n) => {
        for (const h of this.handlers.get(n.channel) ?? []) h(n.payload ?? "");
      });
    }
    if (!/^[a-z_]+$/.test(channel)) throw new Error(`listen: bad channel name ${channel}`);
    if (!this.handlers.has(channel)) {
      this.handlers.set(channel, []);
      await this.listener.query(`LISTEN ${channel}`);
    }
    this.handlers.get(channel)!.push(cb);
  }
  async close(): Promise<void> {
    await this.listener?.end().catch(() => undefined);
    await this.pool.end();
  }
}
