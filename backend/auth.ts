// People and access: users with argon2id password hashes (@node-rs/argon2, OWASP parameters), sessions
// and CSRF tokens, roles and teams.
//
//  * Session: a random 256-bit token in an HttpOnly, SameSite=Strict cookie; the database keeps only its
//    SHA-256, so a copy of the database does not hand out sessions. Sessions end after `ttlMs`
//    (default 12 h, one shift) or at logout. A cookie that matches no session is refused (401).
//  * CSRF: each session has its own random token, given to the page by GET /api/me; every request that
//    changes something must send it in the X-CSRF-Token header (compared in constant time). Login is a
//    JSON POST, which a cross-site form cannot send.
//  * Roles: operator (response centre: alarm queue), nurse (home care: her team's patients, doses,
//    follow-up), technician (devices and their settings), manager (everything read-only, the benefit
//    report, settings, the audit log). Permissions are in PERMISSIONS below; teams are applied by
//    canSeePatient().
import { hash, verify } from "@node-rs/argon2";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Db } from "./db.ts";
import type { Patient } from "./patients.ts";

export const ROLES = ["operator", "nurse", "technician", "manager"] as const;
export type Role = (typeof ROLES)[number];

export type Permission =
  | "alarms.view" | "alarms.act" | "devices.view" | "devices.configure" | "patients.view" | "doses.act"
  | "report.view" | "settings.edit" | "audit.view";

export const PERMISSIONS: Record<Role, Permission[]> = {
  operator: ["alarms.view", "alarms.act", "devices.view"],
  nurse: ["alarms.view", "alarms.act", "devices.view", "patients.view", "doses.act"],
  technician: ["devices.view", "devices.configure"],
  manager: ["alarms.view", "devices.view", "patients.view", "report.view", "settings.edit", "audit.view"],
};

export interface User {
  id: number;
  username: string;
  name: string;
  role: Role;
  team: string;
}

export interface NewUser {
  username: string;
  name?: string;
  role: Role;
  team?: string;
  password: string;
}

export function can(u: User, p: Permission): boolean {
  return PERMISSIONS[u.role]?.includes(p) ?? false;
}

/** Nurses see only their own team's patients; managers see all; the response centre sees who an alarm is from. */
export function canSeePatient(u: User, p: Patient | undefined): boolean {
  if (!p) return u.role !== "nurse"; // a device with no patient: not a nurse's
  if (u.role === "nurse") return p.team === u.team;
  return true;
}

const HASH_OPTS = { memoryCost: 19456, timeCost: 2, parallelism: 1 }; // OWASP 2023 minimum for argon2id

export function hashPassword(pw: string): Promise<string> {
  return hash(pw, HASH_OPTS);
}

export function checkNewUser(u: NewUser): string | null {
  if (!/^[a-z0-9._-]{2,40}$/.test(u.username)) return `username "${u.username}" must be 2-40 lower-case letters, digits, ".", "_" or "-"`;
  if (!ROLES.includes(u.role)) return `role "${u.role}" must be one of ${ROLES.join(", ")}`;
  if (u.role === "nurse" && !u.team) return `nurse ${u.username} needs a team (the team of the patients she follows)`;
  if (typeof u.password !== "string" || u.password.length < 10) return `password for ${u.username} must be at least 10 characters`;
  return null;
}

/** Adds the user, or updates name/role/team/password of an existing one. */
export async function upsertUser(db: Db, u: NewUser, now = Date.now()): Promise<void> {
  const bad = checkNewUser(u);
  if (bad) throw new Error(bad);
  const h = await hashPassword(u.password);
  await db.run(
    `INSERT INTO users (username, name, role, team, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (username) DO UPDATE SET name = excluded.name, role = excluded.role, team = excluded.team, password_hash = excluded.password_hash, disabled = 0`,
    [u.username, u.name || u.username, u.role, u.team ?? "", h, now],
  );
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
let dummyHash: Promise<string> | null = null;

export class Auth {
  private failures = new Map<string, { n: number; until: number }>();
  constructor(private readonly db: Db, private readonly now: () => number, readonly ttlMs = 12 * 3600_000) {}

  /** A session for a right username/password; null otherwise (same work either way: no user enumeration by timing). */
  async login(username: string, password: string): Promise<{ token: string; csrf: string; user: User } | { error: string }> {
    const key = String(username).toLowerCase();
    const f = this.failures.get(key);
    if (f && f.n >= 5 && f.until > this.now()) return { error: "too many failed attempts; wait a minute and try again" };
    const row = typeof username === "string" ? await this.db.get(`SELECT * FROM users WHERE username = ? AND disabled = 0`, [key]) : undefined;
    dummyHash ??= hashPassword("not a password of anyone");
    const ok = await verify(row?.password_hash ?? (await dummyHash), String(password ?? "")).catch(() => false);
    if (!row || !ok) {
      const n = (f && f.until > this.now() ? f.n : 0) + 1;
      this.failures.set(key, { n, until: this.now() + 60_000 });
      return { error: "wrong username or password" };
    }
    this.failures.delete(key);
    const token = randomBytes(32).toString("base64url");
    const csrf = randomBytes(24).toString("base64url");
    const now = this.now();
    await this.db.run(`INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`, [sha(token), row.id, csrf, now, now + this.ttlMs]);
    await this.db.run(`DELETE FROM sessions WHERE expires_at < ?`, [now]);
    return { token, csrf, user: toUser(row) };
  }

  async session(token: string | undefined): Promise<{ user: User; csrf: string; tokenHash: string } | null> {
    if (!token || token.length > 100) return null;
    const h = sha(token);
    const row = await this.db.get(
      `SELECT s.csrf, s.expires_at, u.id, u.username, u.name, u.role, u.team FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND u.disabled = 0`,
      [h],
    );
    if (!row || row.expires_at < this.now()) return null;
    return { user: toUser(row), csrf: row.csrf, tokenHash: h };
  }

  async logout(tokenHash: string): Promise<void> {
    await this.db.run(`DELETE FROM sessions WHERE token_hash = ?`, [tokenHash]);
  }
}

export function csrfMatches(expected: string, got: string | undefined): boolean {
  if (!got) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(got);
  return a.length === b.length && timingSafeEqual(a, b);
}

function toUser(r: any): User {
  return { id: Number(r.id), username: r.username, name: r.name, role: r.role, team: r.team };
}
