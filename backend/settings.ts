// The municipality's settings, changed by a manager in the console (each change audited). Defaults
// below; a row in `settings` overrides one. Used by the escalation timer and the benefit report.
import type { Queryable } from "./db.ts";

export interface Settings {
  /** an alarm not claimed within this many seconds is escalated */
  escalationAfterS: number;
  /** POSTed a JSON document when an alarm is escalated ("" = none) */
  escalationWebhook: string;
  /** minutes a home-care visit to hand out one dose takes (benefit report) */
  minutesPerVisit: number;
  /** minutes of driving per visit (benefit report) */
  drivingMinutesPerVisit: number;
  /** the municipality's limit for the alarm chain: press → acknowledged, minutes */
  responseLimitMin: number;
}

export const DEFAULT_SETTINGS: Settings = {
  escalationAfterS: 120,
  escalationWebhook: "",
  minutesPerVisit: 10,
  drivingMinutesPerVisit: 10,
  responseLimitMin: 5,
};

const LIMITS: Record<keyof Settings, [number, number] | "url"> = {
  escalationAfterS: [10, 86400],
  escalationWebhook: "url",
  minutesPerVisit: [1, 240],
  drivingMinutesPerVisit: [0, 240],
  responseLimitMin: [1, 240],
};

/** What is wrong with a change (null when it is fine). */
export function checkSetting(key: string, value: unknown): string | null {
  if (!(key in LIMITS)) return `unknown setting "${key}"; known: ${Object.keys(LIMITS).join(", ")}`;
  const lim = LIMITS[key as keyof Settings];
  if (lim === "url") {
    if (value === "") return null;
    if (typeof value !== "string" || !/^https?:\/\/[^\s]+$/.test(value)) return `${key} must be an http(s) URL or empty`;
    return null;
  }
  if (typeof value !== "number" || !Number.isFinite(value) || value < lim[0] || value > lim[1]) return `${key} must be a number from ${lim[0]} to ${lim[1]}`;
  return null;
}

export async function getSettings(q: Queryable, base: Partial<Settings> = {}): Promise<Settings> {
  const s: Settings = { ...DEFAULT_SETTINGS, ...base };
  for (const r of await q.all(`SELECT key, value FROM settings`)) if (r.key in s) (s as any)[r.key] = JSON.parse(r.value);
  return s;
}

export async function setSetting(q: Queryable, key: keyof Settings, value: unknown, by: string, now: number): Promise<void> {
  await q.run(`INSERT INTO settings (key, value, updated_by, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by, updated_at = excluded.updated_at`, [
    key, JSON.stringify(value), by, now,
  ]);
}
