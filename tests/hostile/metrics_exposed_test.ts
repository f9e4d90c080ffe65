/**
 * A `control.metricsListen` address that other machines can reach is said at WARN level, naming
 * the address and that /metrics is reachable from the network (station name, converter names,
 * counts), so an operator who did not mean it sees it; a loopback address gets the INFO line
 * only. The real agent, listening on every interface (0.0.0.0) and then on 127.0.0.1.
 */
import assert from "#assert";
import { AgentHarness } from "../e2e/_harness.ts";

const lines = (output: string, re: RegExp) => output.split("\n").filter((l) => re.test(l));

Deno.test("metricsListen: every interface warns with the address; loopback does not", async () => {
  await using h = await AgentHarness.create({
    config: { control: { port: 0, metricsListen: "0.0.0.0:0" } },
  });
  await h.start();
  await h.waitFor(() => /Metrics for scraping/.test(h.output), "the metrics listener's line");
  const warned = lines(h.output, /WARN.*0\.0\.0\.0:\d+.*metrics/);
  assert.equal(warned.length, 1, h.output);
  assert.match(warned[0], /reachable from the network/);
  assert.match(warned[0], /control\.metricsListen/);
  assert.equal(await h.stop(), 0);

  (h.config.control as Record<string, unknown>).metricsListen = "127.0.0.1:0";
  await h.writeConfig();
  await h.start(); // the output starts afresh
  await h.waitFor(() => /Metrics for scraping/.test(h.output), "the metrics listener's line");
  assert.deepEqual(lines(h.output, /WARN.*metrics/i), [], h.output);
});
