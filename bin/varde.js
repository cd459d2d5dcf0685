#!/usr/bin/env node
// Entry point of the `varde` command: runs cli/varde.ts through tsx so no separate compile step exists.
import { register } from "tsx/esm/api";
register();
await import("../cli/varde.ts");
