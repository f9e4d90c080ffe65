/**
 * Run by ops_control_test.ts inside a network namespace of its own (`unshare -n`) that has a
 * non-loopback interface: starts the real agent there, then tries its control port on every
 * non-loopback IPv4 address of the namespace and on 127.0.0.1. Prints one JSON line.
 *
 * @module
 */
import { AgentHarness } from "./_harness.ts";

await using h = await AgentHarness.create();
await h.start();
const info = JSON.parse(await Deno.readTextFile(`${h.dataDir}/control.json`));
const addresses = Deno.networkInterfaces()
  .filter((i) => i.family === "IPv4" && !i.address.startsWith("127."))
  .map((i) => i.address);

async function attempt(hostname: string): Promise<string> {
  try {
    const conn = await Deno.connect({ hostname, port: info.port });
    conn.close();
    return "connected";
  } catch (e) {
    return e instanceof Deno.errors.ConnectionRefused
      ? "refused"
      : `error: ${(e as Error).message}`;
  }
}

const results: Record<string, string> = {};
for (const a of [...addresses, "127.0.0.1"]) results[a] = await attempt(a);
const health = await fetch(`http://127.0.0.1:${info.port}/health`);
await health.body?.cancel();
console.log(JSON.stringify({ port: info.port, addresses, results, healthStatus: health.status }));
