import type { D1Migration } from "@cloudflare/vitest-pool-workers";

declare global {
  namespace Cloudflare {
    interface Env {
      DB: D1Database;
      RATE_LIMIT_PER_MINUTE?: string;
      REGISTRATION?: string;
      WRANGLER_MIGRATIONS: D1Migration[];
      BLANK_WORKER_FIRST: D1Database;
      BLANK_WRANGLER_FIRST: D1Database;
      BLANK_RACE: D1Database;
      BLANK_ADOPT: D1Database;
    }
    interface GlobalProps {
      mainModule: typeof import("../src/index");
    }
  }
}
