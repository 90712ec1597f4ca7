/**
 * `wrangler dev --local` without the DevTools inspector, for the long reliability run
 * (tests/helpers/worker_target.py, inspector=False):
 *
 *   node tests/helpers/wrangler_dev.mjs '{"wrangler": DIR, "config": FILE, "ip": IP, "port": N,
 *     "persist": DIR, "logLevel": LEVEL, "vars": {NAME: VALUE}}'
 *
 * The same Worker, local D1, proxy worker and logs as the CLI (wrangler's own startWorker API),
 * but the CLI cannot turn the inspector off, and with it every console.log of the Worker (one a
 * request) travels as a DevTools event through a third workerd to node: two thirds of the hub
 * side's CPU per request. Stops on SIGTERM, as wrangler does.
 */

import { createRequire } from "node:module";
import { join } from "node:path";

const spec = JSON.parse(process.argv[2]);
const { unstable_startWorker: startWorker } = createRequire(import.meta.url)(
  join(spec.wrangler, "wrangler-dist", "cli.js"),
);
const bindings = Object.fromEntries(
  Object.entries(spec.vars).map(([name, value]) => [name, { type: "plain_text", value }]),
);
const worker = await startWorker({
  config: spec.config,
  bindings,
  dev: {
    remote: false,
    server: { hostname: spec.ip, port: spec.port },
    inspector: false,
    persist: spec.persist,
    logLevel: spec.logLevel,
    watch: false,
  },
});
await worker.ready;

async function stop() {
  await worker.dispose();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
