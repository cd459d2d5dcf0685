// The contract suite (backend/contract-suite.ts) on the embedded default, SQLite.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { contractSuite } from "./contract-suite.ts";

contractSuite("backend contract on SQLite", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-be-"));
  return { spec: `sqlite:${dir}/backend.db`, done: async () => fs.rmSync(dir, { recursive: true, force: true }) };
});
