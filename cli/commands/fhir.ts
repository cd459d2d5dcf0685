// `varde fhir ...`: the FHIR R4 export to patient records (backend/fhir/, docs/fhir-export.md).
//   varde fhir export <events.jsonl...> --config fhir.toml --out dir   recorded events -> JSON files
//   varde fhir validate <file.json...>                                offline validation (R4 + VKP)
//   varde fhir run --config fhir.toml                                 consume MQTT, deliver to the server
//   varde fhir status --config fhir.toml [--json] [--all]             per-event export status
//   varde fhir retry <event-id> --config fhir.toml                    send a rejected event again
import type { Command } from "commander";
import * as fs from "node:fs";
import * as path from "node:path";

function fail(msg: string, code = 2): void {
  console.error(msg);
  process.exitCode = code;
}

export function register(program: Command): void {
  const fhir = program.command("fhir").description("export events to patient records as FHIR R4 (Norway's VKP profiles): docs/fhir-export.md");

  fhir
    .command("export")
    .description("export a recorded event stream (JSON lines, see backend/fhir/events.ts) to one FHIR JSON file per message Bundle / DetectedIssue")
    .argument("<files...>", "recorded event streams")
    .requiredOption("--config <file>", "exporter config (sender/receiver HER-ids, patients): e.g. examples/fhir.toml")
    .option("--out <dir>", "output folder", "fhir-export")
    .option("--at <time>", "export time written as Bundle.timestamp (ISO 8601; default now)")
    .action(async (files: string[], o: { config: string; out: string; at?: string }) => {
      const { loadFhirConfig } = await import("../../backend/fhir/config.ts");
      const { readEventStream } = await import("../../backend/fhir/events.ts");
      const { exportEvents, writeExport } = await import("../../backend/fhir/export-files.ts");
      const { loadPatients } = await import("../../backend/patients.ts");
      try {
        const exportTime = o.at ? new Date(o.at) : new Date();
        if (Number.isNaN(exportTime.getTime())) return fail(`--at ${o.at}: not a time; write e.g. 2026-11-02T09:45:00+01:00`);
        const cfg = loadFhirConfig(o.config);
        const patients = loadPatients(cfg.patients);
        const events = files.flatMap((f) => readEventStream(f));
        const { made, skipped } = exportEvents(events, { cfg, patients, exportTime });
        writeExport(o.out, made);
        for (const m of made) console.log(`${path.join(o.out, m.file)}  ${m.eventId} ${m.type}: ${m.code}`);
        console.log(`${made.length} file(s) from ${events.length} event(s); ${skipped.length} without anything to export${skipped.length ? ":" : ""}`);
        for (const s of skipped) console.log(`  ${s.eventId} ${s.type}: ${s.reason}`);
      } catch (e) {
        fail((e as Error).message);
      }
    });

  fhir
    .command("validate")
    .description("validate FHIR JSON files offline: base R4 (@medplum/core) + required bindings + the VKP profiles and code lists")
    .argument("<files...>", "message Bundles or DetectedIssues (folders: their *.json)")
    .action(async (paths: string[]) => {
      const { validateExport, formatIssues } = await import("../../backend/fhir/validate.ts");
      const files = paths.flatMap((p) => (fs.existsSync(p) && fs.statSync(p).isDirectory() ? fs.readdirSync(p).filter((f) => f.endsWith(".json")).sort().map((f) => path.join(p, f)) : [p]));
      let bad = 0;
      for (const f of files) {
        let json: unknown;
        try {
          json = JSON.parse(fs.readFileSync(f, "utf8"));
        } catch (e) {
          console.log(`FAIL ${f}: ${(e as Error).message}`);
          bad++;
          continue;
        }
        const issues = validateExport(json);
        if (issues.length) {
          bad++;
          console.log(`FAIL ${f}\n${formatIssues(issues).replace(/^/gm, "     ")}`);
        } else console.log(`ok   ${f}`);
      }
      console.log(`${files.length - bad} valid, ${bad} invalid`);
      if (bad || files.length === 0) process.exitCode = 1;
    });

  fhir
    .command("run")
    .description("consume the backend contract's events from MQTT and deliver them to the FHIR server (durable queue, retries)")
    .requiredOption("--config <file>", "exporter config: e.g. examples/fhir.toml")
    .action(async (o: { config: string }) => {
      const { loadFhirConfig } = await import("../../backend/fhir/config.ts");
      const { Exporter } = await import("../../backend/fhir/exporter.ts");
      let ex: InstanceType<typeof Exporter>;
      try {
        const cfg = loadFhirConfig(o.config);
        if (!cfg.server) return fail(`${o.config}: [server] missing: base_url and token_file of the patient record's FHIR endpoint`);
        if (!cfg.mqtt) return fail(`${o.config}: [mqtt] missing: url of the broker carrying the backend contract`);
        ex = new Exporter({ cfg, log: (l) => console.log(`${new Date().toISOString()} ${l}`) });
        await ex.start();
        console.log(`${new Date().toISOString()} exporter  queue ${cfg.queue}, server ${cfg.server.baseUrl}; SIGHUP reloads ${cfg.patients}`);
      } catch (e) {
        return fail((e as Error).message);
      }
      process.on("SIGHUP", () => {
        try {
          console.log(`${new Date().toISOString()} patients  reloaded; ${ex.reloadPatients()} held event(s) now queued`);
        } catch (e) {
          console.error((e as Error).message);
        }
      });
      const stop = async () => {
        await ex.stop();
        process.exit(0);
      };
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
    });

  fhir
    .command("status")
    .description("per-event export status: queued, sent, accepted, rejected (with the server's OperationOutcome), held")
    .requiredOption("--config <file>", "exporter config (names the queue)")
    .option("--json", "JSON for scripts")
    .option("--all", "also list accepted events")
    .action(async (o: { config: string; json?: boolean; all?: boolean }) => {
      const { loadFhirConfig } = await import("../../backend/fhir/config.ts");
      const { ExportQueue } = await import("../../backend/fhir/queue.ts");
      const { exportStatus, formatStatus } = await import("../../backend/fhir/exporter.ts");
      try {
        const cfg = loadFhirConfig(o.config);
        if (!fs.existsSync(cfg.queue)) return fail(`${cfg.queue}: no export queue yet (the exporter has not run with ${o.config})`, 1);
        const q = new ExportQueue(cfg.queue);
        const s = exportStatus(q, !!o.all);
        q.close();
        console.log(o.json ? JSON.stringify(s, null, 2) : formatStatus(s));
        if (s.counts.rejected || s.counts.held) process.exitCode = 1;
      } catch (e) {
        fail((e as Error).message);
      }
    });

  fhir
    .command("retry")
    .description("queue a rejected event again (after the cause was fixed on the server side)")
    .argument("<event-id>", "event id as shown by `varde fhir status`")
    .requiredOption("--config <file>", "exporter config (names the queue)")
    .action(async (eventId: string, o: { config: string }) => {
      const { loadFhirConfig } = await import("../../backend/fhir/config.ts");
      const { ExportQueue } = await import("../../backend/fhir/queue.ts");
      try {
        const q = new ExportQueue(loadFhirConfig(o.config).queue);
        const ok = q.requeue(eventId, Date.now());
        q.close();
        if (!ok) return fail(`${eventId}: not a rejected event in the queue (see varde fhir status --config ${o.config})`, 1);
        console.log(`${eventId}: queued again; a running exporter sends it within its retry interval`);
      } catch (e) {
        fail((e as Error).message);
      }
    });
}
