// A local FHIR R4 receiver for the exporter's tests, standing in for a patient record (EPJ):
//  * POST /$process-message takes a MedicationDispense-to-EPR Bundle and answers with a message
//    response Bundle (MessageHeader.response.code ok); a message whose MessageHeader id it has already
//    processed is answered ok again and not stored twice (FHIR messaging: receivers dedup on it);
//  * POST /DetectedIssue with If-None-Exist: identifier=<system>|<value> creates (201) or, when a
//    DetectedIssue with that identifier exists, returns it (200): a conditional create;
//  * every body is validated with the exporter's own offline checks (base R4 + VKP); an invalid one is
//    answered 422 with an OperationOutcome and counted in `invalid` (a test expects none);
//  * a bearer token is required (401 without it);
//  * faults on demand for the next requests: an HTTP status (with an OperationOutcome), a hang (the
//    client's timeout fires), or a dropped connection.
// It records, per resource identity (the MedicationDispense / DetectedIssue identifier), every body
// received, so a test can prove nothing was lost and nothing was sent twice with a different identity.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { validateExport, formatIssues } from "../../backend/fhir/validate.ts";

export type Fault = { status: number; outcome?: any } | "hang" | "drop";

export interface Received {
  path: string;
  /** identifier value of the MedicationDispense or DetectedIssue */
  identity: string;
  body: string;
  answered: number | "hang" | "drop";
}

export class FhirReceiver {
  private server: http.Server;
  private faults: Fault[] = [];
  private hanging: http.ServerResponse[] = [];
  port = 0;
  /** every request that reached a handler, in order */
  requests: Received[] = [];
  /** stored resources by identity (what the patient record keeps) */
  stored = new Map<string, any>();
  /** identity -> distinct bodies received for it (more than one = the same identity with other content) */
  bodies = new Map<string, Set<string>>();
  /** bodies that failed validation */
  invalid: string[] = [];
  unauthorized = 0;
  /** while set, every request is answered with this HTTP status (the server is down) */
  down: number | null = null;
  /** answer every request this much later (ms): a slow server, so a test can act while deliveries are under way */
  delayMs = 0;

  constructor(readonly token = "test-token") {
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  async start(port = 0): Promise<this> {
    await new Promise<void>((r) => this.server.listen(port, "127.0.0.1", () => r()));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/fhir`;
  }

  /** The next requests meet these faults, one each, in order. */
  failNext(...faults: Fault[]): void {
    this.faults.push(...faults);
  }

  async close(): Promise<void> {
    for (const r of this.hanging) r.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private answer(res: http.ServerResponse, status: number, body: any, headers: Record<string, string> = {}): number {
    res.writeHead(status, { "Content-Type": "application/fhir+json", ...headers });
    res.end(body === undefined ? "" : JSON.stringify(body));
    return status;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => (this.delayMs ? setTimeout(() => this.respond(req, res, chunks), this.delayMs) : this.respond(req, res, chunks)));
  }

  private respond(req: http.IncomingMessage, res: http.ServerResponse, chunks: Buffer[]): void {
    {
      const text = Buffer.concat(chunks).toString("utf8");
      const url = (req.url ?? "").replace(/^\/fhir/, "");
      if (req.headers.authorization !== `Bearer ${this.token}`) {
        this.unauthorized++;
        this.answer(res, 401, outcome("login", "bearer token missing or wrong"));
        return;
      }
      let body: any;
      try {
        body = JSON.parse(text);
      } catch {
        this.answer(res, 400, outcome("structure", "not JSON"));
        return;
      }
      const identity = identityOf(body);
      const rec: Received = { path: url, identity, body: text, answered: 0 };
      this.requests.push(rec);
      const fault = this.down !== null ? { status: this.down } : this.faults.shift();
      if (fault === "hang") {
        rec.answered = "hang";
        this.hanging.push(res);
        return;
      }
      if (fault === "drop") {
        rec.answered = "drop";
        req.socket.destroy();
        return;
      }
      if (fault) {
        rec.answered = this.answer(res, fault.status, fault.outcome ?? outcome("transient", `fault on demand: HTTP ${fault.status}`));
        return;
      }
      const issues = validateExport(body);
      if (issues.length) {
        this.invalid.push(formatIssues(issues));
        rec.answered = this.answer(res, 422, outcome("invalid", formatIssues(issues)));
        return;
      }
      let set = this.bodies.get(identity);
      if (!set) this.bodies.set(identity, (set = new Set()));
      set.add(text);
      if (url === "/$process-message" && req.method === "POST") {
        const header = body.entry[0].resource;
        if (!this.stored.has(identity)) this.stored.set(identity, body);
        rec.answered = this.answer(res, 200, {
          resourceType: "Bundle",
          type: "message",
          timestamp: new Date().toISOString(),
          entry: [{ fullUrl: "urn:uuid:00000000-0000-4000-8000-000000000001", resource: { resourceType: "MessageHeader", eventCoding: header.eventCoding, source: { endpoint: this.baseUrl }, response: { identifier: header.id, code: "ok" } } }],
        });
        return;
      }
      if (url === "/DetectedIssue" && req.method === "POST") {
        const cond = String(req.headers["if-none-exist"] ?? "");
        const m = /^identifier=([^|]+)\|(.+)$/.exec(cond);
        if (!m || m[2] !== identity) {
          rec.answered = this.answer(res, 400, outcome("required", `If-None-Exist must be identifier=<system>|${identity}, was "${cond}"`));
          return;
        }
        const existing = this.stored.get(identity);
        if (existing) {
          rec.answered = this.answer(res, 200, existing);
          return;
        }
        this.stored.set(identity, body);
        rec.answered = this.answer(res, 201, body, { Location: `${this.baseUrl}/DetectedIssue/${body.id}/_history/1` });
        return;
      }
      rec.answered = this.answer(res, 404, outcome("not-supported", `${req.method} ${url}`));
    }
  }
}

function outcome(code: string, text: string): any {
  return { resourceType: "OperationOutcome", issue: [{ severity: "error", code, diagnostics: text }] };
}

/** The identifier of the resource a request carries: the DetectedIssue's, or the message's MedicationDispense's. */
export function identityOf(body: any): string {
  if (body?.resourceType === "DetectedIssue") return body.identifier?.[0]?.value ?? "";
  if (body?.resourceType === "Bundle") return body.entry?.find((e: any) => e.resource?.resourceType === "MedicationDispense")?.resource?.identifier?.[0]?.value ?? "";
  return "";
}

/** A patient registry (backend/patients.ts) with one synthetic patient owning `devices`, e.g. "2001, 1001". */
export function testPatientsToml(devices: string): string {
  return `allow_synthetic = true\n[[patient]]\nid = "p1"\nname = "Kari Nordmann"\nnational_id = "15818512349"\nteam = "nord"\ndevices = [${devices}]\n`;
}

/** An exporter config (backend/fhir/config.ts): test HER-ids for sender and receiver, plus `extra` TOML (server, mqtt, retry). */
export function testExporterToml(extra = ""): string {
  return `patients = "patients.toml"
queue = "queue.db"
[sender]
her_id = "8100001"
name = "Hjemmetjenesten"
endpoint = "https://varde.kommune.example/fhir"
[receiver]
her_id = "8100002"
name = "EPJ"
endpoint = "https://fhir.example/r4"
${extra}`;
}
