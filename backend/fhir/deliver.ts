// Delivery of queued exports to the patient record's FHIR R4 server:
//  * a dose message: POST [base]/$process-message, the message Bundle as body;
//  * an alert: POST [base]/DetectedIssue with If-None-Exist: identifier=urn:ietf:rfc:3986|urn:uuid:...
//    (conditional create: a re-sent DetectedIssue is found, not created twice);
// both with Authorization: Bearer <token from config>, Content-Type application/fhir+json.
// What the answer means:
//  * 2xx: accepted — except a $process-message answer whose MessageHeader.response.code is
//    fatal-error (rejected) or transient-error (retried);
//  * 400, 409, 410, 412, 422: rejected, with the server's OperationOutcome kept for the operator (the
//    request itself was at fault: sending it again would fail again);
//  * anything else (401/403 token, 404/405 wrong URL, 408, 429, 5xx, no answer within timeout_s,
//    connection refused): retried with exponential backoff (retry.first_s doubling up to retry.max_s,
//    or the server's Retry-After when longer), forever: nothing is dropped.
// A retry sends the stored body unchanged, so the receiver sees the same identity every time.
import type { FhirConfig } from "./config.ts";
import { bearerToken } from "./config.ts";
import type { ExportQueue, Row } from "./queue.ts";

export interface DeliveryClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(h: unknown): void;
}

export const realClock: DeliveryClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export type Result =
  | { kind: "accepted"; status: number }
  | { kind: "rejected"; status: number; outcome: string; error: string }
  | { kind: "retry"; status: number; error: string; retryAfterS?: number };

const REJECT = new Set([400, 409, 410, 412, 422]);
const POLL_MS = 5000;

function operationOutcomeOf(json: any): any {
  if (json?.resourceType === "OperationOutcome") return json;
  if (json?.resourceType === "Bundle") return (json.entry ?? []).map((e: any) => e.resource).find((r: any) => r?.resourceType === "OperationOutcome");
  return undefined;
}

function summary(oo: any): string {
  const i = (oo?.issue ?? []).map((x: any) => [x.severity, x.code, x.details?.text ?? x.diagnostics].filter(Boolean).join(" ")).join("; ");
  return i || "no OperationOutcome";
}

/** Classifies a server's answer (exported for tests). */
export function classify(path: string, status: number, text: string, retryAfter: string | null): Result {
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  const retryAfterS = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
  if (status >= 200 && status < 300) {
    if (path === "$process-message" && json?.resourceType === "Bundle") {
      const header = json.entry?.[0]?.resource;
      const code = header?.resourceType === "MessageHeader" ? header.response?.code : undefined;
      if (code === "fatal-error") {
        const oo = operationOutcomeOf(json) ?? { resourceType: "OperationOutcome", issue: [{ severity: "error", code: "processing", diagnostics: "fatal-error without OperationOutcome" }] };
        return { kind: "rejected", status, outcome: JSON.stringify(oo), error: `message refused (fatal-error): ${summary(oo)}` };
      }
      if (code === "transient-error") return { kind: "retry", status, error: `message not processed (transient-error): ${summary(operationOutcomeOf(json))}`, retryAfterS };
    }
    return { kind: "accepted", status };
  }
  const oo = operationOutcomeOf(json);
  if (REJECT.has(status)) {
    const outcome = oo ?? { resourceType: "OperationOutcome", issue: [{ severity: "error", code: "processing", diagnostics: text.slice(0, 2000) || `HTTP ${status}` }] };
    return { kind: "rejected", status, outcome: JSON.stringify(outcome), error: `HTTP ${status}: ${summary(outcome)}` };
  }
  const hint =
    status === 401 || status === 403 ? " (check the bearer token: server.token / server.token_file)"
    : status === 404 || status === 405 ? " (check server.base_url)"
    : "";
  return { kind: "retry", status, error: `HTTP ${status}${hint}${oo ? ": " + summary(oo) : ""}`, retryAfterS };
}

export interface DelivererOptions {
  queue: ExportQueue;
  cfg: FhirConfig;
  clock?: DeliveryClock;
  fetch?: typeof fetch;
  /** called after each attempt (logs) */
  onResult?: (row: Row, r: Result) => void;
}

export class Deliverer {
  private timer: unknown = null;
  private running = false;
  private stopped = false;
  private wake = false;
  readonly clock: DeliveryClock;

  constructor(private readonly o: DelivererOptions) {
    this.clock = o.clock ?? realClock;
  }

  /** Backoff before attempt n+1 after n failed attempts, in ms. */
  backoffMs(attempts: number, retryAfterS?: number): number {
    const { firstS, maxS } = this.o.cfg.retry;
    const s = Math.min(maxS, firstS * 2 ** Math.max(0, attempts - 1));
    return Math.round(Math.max(s, retryAfterS ?? 0) * 1000);
  }

  /** One HTTP attempt for a row. */
  async send(row: Row): Promise<Result> {
    const server = this.o.cfg.server;
    if (!server) return { kind: "retry", status: 0, error: `${this.o.cfg.file}: no [server] base_url configured` };
    let token: string;
    try {
      token = bearerToken(this.o.cfg);
    } catch (e) {
      return { kind: "retry", status: 0, error: (e as Error).message };
    }
    const url = `${server.baseUrl}/${row.path}`;
    const ctl = new AbortController();
    const t = setTimeout(() => ctl.abort(), server.timeoutS * 1000);
    try {
      const res = await (this.o.fetch ?? fetch)(url, {
        method: "POST",
        headers: { "Content-Type": "application/fhir+json", Accept: "application/fhir+json", Authorization: `Bearer ${token}`, ...JSON.parse(row.headers) },
        body: row.body,
        signal: ctl.signal,
      });
      const text = await res.text();
      return classify(row.path, res.status, text, res.headers.get("retry-after"));
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      const why = ctl.signal.aborted ? `no answer within ${server.timeoutS} s` : `${err.cause?.code ?? err.name}: ${err.cause ? String((err.cause as Error).message ?? err.cause.code) : err.message}`;
      return { kind: "retry", status: 0, error: `${url}: ${why}` };
    } finally {
      clearTimeout(t);
    }
  }

  /** Sends every due row once; resolves when done. */
  async pump(): Promise<number> {
    if (this.running) {
      this.wake = true;
      return 0;
    }
    this.running = true;
    let n = 0;
    try {
      do {
        this.wake = false;
        for (;;) {
          if (this.stopped) return n;
          const rows = this.o.queue.due(this.clock.now());
          if (rows.length === 0) break;
          for (const row of rows) {
            if (this.stopped) return n;
            this.o.queue.markSent(row.eventId, this.clock.now());
            const r = await this.send(row);
            const now = this.clock.now();
            if (r.kind === "accepted") this.o.queue.markAccepted(row.eventId, r.status, now);
            else if (r.kind === "rejected") this.o.queue.markRejected(row.eventId, r.status, r.outcome, r.error, now);
            else this.o.queue.markRetry(row.eventId, r.status, r.error, now + this.backoffMs(row.attempts + 1, r.retryAfterS), now);
            this.o.onResult?.(row, r);
            n++;
          }
        }
      } while (this.wake);
    } finally {
      this.running = false;
    }
    this.arm();
    return n;
  }

  /** Starts sending: now, and again when the next queued row is due. */
  start(): void {
    this.stopped = false;
    void this.pump();
  }

  /** New rows were queued. */
  poke(): void {
    if (!this.stopped) void this.pump();
  }

  private arm(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped) return;
    // also look again every POLL_MS: another process (`varde fhir retry`) may have queued a row
    const next = this.o.queue.nextDue();
    const delay = next === undefined ? POLL_MS : Math.min(POLL_MS, Math.max(0, next - this.clock.now()));
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      void this.pump();
    }, delay);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** Resolves once the pump in progress (if any) has finished. */
  async idle(): Promise<void> {
    while (this.running) await new Promise((r) => setImmediate(r));
  }
}
