/**
 * `agent`: the WATS station agent. Watches drop folders, converts station files to WATS
 * reports, queues them durably and uploads them to a WATS server.
 *
 * @module
 */
import { main } from "./src/cli/main.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
