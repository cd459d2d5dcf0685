// Where the recorded example stream lives (shared by record.ts, which writes it, and example.ts, which reads it).
import * as path from "node:path";
import { fileURLToPath } from "node:url";

export const EVENTS_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), "events.jsonl");
