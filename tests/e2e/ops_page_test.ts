/**
 * The status page in a real headless browser (Debian's chromium driven by playwright-core): it
 * loads from the agent's control port, its numbers match /metrics, the throughput chart and the
 * failures show, and its Retry button requeues a report in error (which then uploads).
 *
 * Needs /usr/bin/chromium (`apt-get install -y chromium`); ignored, with the reason, without it.
 */
import assert from "#assert";
import { chromium } from "playwright-core";
import { AgentHarness } from "./_harness.ts";
import { skipUnless } from "../_tools.ts";
import { checkExposition, sampleValue } from "../control/_prom.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";

const CHROMIUM = "/usr/bin/chromium";

function hasChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

Deno.test({
  name:
    "status page: loads, matches /metrics, shows the chart and failures; Retry requeues a report in error",
  ignore: skipUnless(
    hasChromium(),
    `the status page browser test needs ${CHROMIUM} (apt-get install -y chromium)`,
  ),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using h = await AgentHarness.create();
    const reports = makeSampleReports(3, { seed: 71 });
    const rejected = reports[2];
    h.server.setFaults({
      rules: [{
        sn: rejected.sn,
        fault: { kind: "status", status: 400, message: "Unknown part number" },
      }],
    });
    await h.start();
    for (const r of reports) await h.drop("json", `${r.sn}.json`, JSON.stringify(r));
    await h.drop("json", "broken.json", "{ nope");
    await h.waitFor(async () => {
      const s = await h.status();
      return s.queue.completed === 2 && s.queue.error === 1 && s.totals.filesFailed === 1;
    }, "2 uploaded, 1 rejected, 1 failed file");
    const info = JSON.parse(await Deno.readTextFile(`${h.dataDir}/control.json`));
    const base = `http://127.0.0.1:${info.port}`;

    const profile = await Deno.makeTempDir({ prefix: "chromium-profile-" });
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
      await page.goto(`${base}/`);
      await page.waitForSelector('#health[data-state="degraded"]', { timeout: 15_000 });
      await page.locator("#failures tr").nth(1).waitFor();

      // The numbers on the page are the numbers in /metrics.
      const e = checkExposition(await (await fetch(`${base}/metrics`)).text());
      assert.deepEqual(e.problems, []);
      const m = (name: string, labels: Record<string, string> = {}) =>
        sampleValue(e, `wats_agent_${name}`, labels);
      const shown = async (id: string) => Number(await page.textContent(`#${id}`));
      for (
        const state of ["queued", "processing", "error", "retrying", "completed", "quarantine"]
      ) {
        assert.equal(await shown(`q-${state}`), m("queue_reports", { state }), `queue ${state}`);
      }
      assert.equal(await shown("t-reportsUploaded"), m("reports_uploaded_total"));
      assert.equal(await shown("t-reportsRejected"), m("reports_rejected_total"));
      assert.equal(await shown("t-uploadRetries"), m("upload_retries_total"));
      assert.equal(await shown("t-filesSeen"), m("files_seen_total", { converter: "json" }));
      assert.equal(
        await shown("t-filesConverted"),
        m("files_converted_total", { converter: "json" }),
      );
      assert.equal(await shown("t-filesFailed"), m("files_failed_total", { converter: "json" }));
      assert.equal(
        await shown("hist-uploaded"),
        m("reports_uploaded_total"),
        "the hour's chart adds up",
      );
      assert.ok(await page.locator("#chart rect").count() >= 1, "the chart has bars");

      const reasons = await page.locator("#reasons li").allTextContents();
      assert.ok(
        reasons.some((r) => /1 report\(s\) rejected by the server/.test(r)),
        reasons.join("; "),
      );
      assert.equal(
        await page.textContent('#converters tr[data-name="json"] td:first-child'),
        "json",
      );
      const row = page.locator("#failures tr.failure", { hasText: "Unknown part number" });
      assert.match((await row.textContent())!, new RegExp(`${rejected.sn}\\.json`));
      assert.ok(
        (await page.locator("#failures tr.failure", { hasText: "broken.json" }).count()) >= 1,
      );

      // Retry: the server now accepts it; the button requeues it and the agent uploads it.
      h.server.clearFaults();
      await row.locator("button.retry").click();
      await page.locator("#message", { hasText: "requeued" }).waitFor();
      assert.match((await page.textContent("#message"))!, /1 report\(s\) requeued/);
      await h.waitFor(
        () => h.server.store.get(rejected.id) !== undefined,
        "the retried report on the server",
      );
      // The page refreshes every 5 s.
      await page.locator("#q-error", { hasText: /^0$/ }).waitFor({ timeout: 15_000 });
      await page.locator("#t-reportsUploaded", { hasText: /^3$/ }).waitFor({ timeout: 15_000 });
      assert.deepEqual(errors, [], "no errors in the page");
    } finally {
      await browser.close();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    }
  },
});
