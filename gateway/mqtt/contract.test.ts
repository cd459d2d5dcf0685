// The backend contract must say what the code does: docs/backend-contract.md's tables and
// docs/asyncapi.yaml are compared with gateway/mqtt/topics.ts.
import { describe, it, expect } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { COMMANDS, EVENT_TYPES, PAYLOAD_FIELDS, TOPICS, filter, parseTopic, topic } from "./topics.ts";
import { type as protoType } from "../wire.ts";
import { ASYNCAPI_PATH, CONTRACT_VERSION, renderAsyncApi } from "./asyncapi.ts";

const docPath = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "docs", "backend-contract.md");
const doc = fs.readFileSync(docPath, "utf8");

function rows(firstCell: RegExp): string[][] {
  return doc
    .split("\n")
    .filter((l) => l.startsWith("| "))
    .map((l) => l.slice(1, -1).split(" | ").map((c) => c.trim()))
    .filter((cells) => firstCell.test(cells[0]));
}

/** First-column values (without backticks) of the table whose header line is `header`. */
function firstColumn(header: string): string[] {
  const lines = doc.split("\n");
  const at = lines.indexOf(header);
  if (at < 0) throw new Error(`${docPath}: no table with header "${header}"`);
  const out: string[] = [];
  for (let i = at + 2; i < lines.length && lines[i].startsWith("| "); i++) out.push(lines[i].split(" | ")[0].slice(2).replace(/`/g, "").trim());
  return out;
}

describe("backend contract", () => {
  it("docs/backend-contract.md topic table matches topics.ts exactly", () => {
    const documented = rows(/^`varde\/v1\//).map(([t, dir, qos, retain, payload]) => ({ t, dir, qos, retain, payload }));
    const code = Object.values(TOPICS).map((s) => ({ t: "`" + s.pattern + "`", dir: s.direction, qos: String(s.qos), retain: s.retain ? "yes" : "no", payload: "`" + s.payload + "`" }));
    expect(documented).toEqual(code);
  });

  it("the event-type and command tables list exactly EVENT_TYPES and COMMANDS", () => {
    expect(firstColumn("| type | what | codes |")).toEqual([...EVENT_TYPES]);
    expect(firstColumn("| command | reads | effect |")).toEqual(Object.keys(COMMANDS));
  });

  it("docs/backend-contract.md and CHANGELOG.md name the contract version of the AsyncAPI document", () => {
    expect(doc).toContain(`Contract version **${CONTRACT_VERSION}**`);
    const changelog = fs.readFileSync(path.join(path.dirname(docPath), "..", "CHANGELOG.md"), "utf8");
    expect(changelog).toMatch(new RegExp(`^## \\[${CONTRACT_VERSION.replace(/\./g, "\\.")}\\]`, "m"));
  });

  it("docs/asyncapi.yaml is the generated file (run: node --import tsx gateway/mqtt/asyncapi.ts --write)", () => {
    expect(fs.readFileSync(ASYNCAPI_PATH, "utf8")).toBe(renderAsyncApi());
  });

  it("the typed payloads in topics.ts have exactly the fields of the messages in varde.proto", () => {
    for (const [name, fields] of Object.entries(PAYLOAD_FIELDS)) {
      expect([name, Object.keys(fields).sort()]).toEqual([name, protoType(name).fieldsArray.map((f) => f.name).sort()]);
    }
    for (const t of Object.values(TOPICS)) expect(Object.keys(PAYLOAD_FIELDS)).toContain(t.payload);
  });

  it("topic helpers round-trip and refuse wildcards in values", () => {
    const t = topic("event", { gateway: "gw1", device: 1001, type: "alarm" });
    expect(t).toBe("varde/v1/gw1/device/1001/event/alarm");
    expect(parseTopic(t)).toEqual({ name: "event", params: { gateway: "gw1", device: "1001", type: "alarm" } });
    expect(filter("command", "gw1")).toBe("varde/v1/gw1/command/+");
    expect(() => topic("state", { gateway: "a/b" })).toThrow(/bad value/);
    expect(parseTopic("other/topic")).toBeNull();
  });
});
