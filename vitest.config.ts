import { defineConfig } from "vitest/config";
import { fileURLToPath } from "node:url";

export default defineConfig({
  // firmware logic in Node unit tests runs over the fake hardware layer (firmware/hal/fake.ts); bundles
  // for the simulator and the real interpreter are built by esbuild, which never sees this alias
  resolve: { alias: [{ find: /^\.\.\/hal\/hal\.ts$/, replacement: fileURLToPath(new URL("./firmware/hal/fake.ts", import.meta.url)) }] },
  test: {
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**", "dist/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // vitest's default is one worker fewer than the cores: a single worker on a 2-core CI machine, where
    // most test files wait on processes, sockets and pseudo-terminals rather than compute
    maxWorkers: 2,
    // one line when the real-Espruino tier cannot run (test/support/espruino.ts)
    globalSetup: ["test/support/espruino-setup.ts"],
  },
});
