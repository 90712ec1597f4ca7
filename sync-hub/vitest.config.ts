import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// The tests run inside workerd, which has no file system: the migrations as wrangler reads them
// are handed over as a binding, for the test that the Worker bootstraps the very same schema.
export default defineConfig(async () => ({
  plugins: [
    cloudflareTest({
      main: "./src/index.ts",
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          WRANGLER_MIGRATIONS: await readD1Migrations("./migrations"),
          // The HTTP tests register accounts freely (conformance covers the other modes).
          REGISTRATION: "open",
        },
        // Blank databases for the schema bootstrap tests, one per scenario.
        d1Databases: ["BLANK_WORKER_FIRST", "BLANK_WRANGLER_FIRST", "BLANK_RACE", "BLANK_ADOPT"],
      },
    }),
  ],
  test: { include: ["test/**/*.test.ts"], silent: "passed-only" as const },
}));
