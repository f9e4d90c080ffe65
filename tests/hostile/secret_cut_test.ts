/**
 * The token stays masked when a server echoes it where a cut or a change of case would hide it
 * from an exact match: right where the agent cuts a server's message (500 characters), in lower
 * or upper case, and already cut by the server itself. The real agent and the real test server;
 * then every file the agent wrote and what it serves are searched for any 8 characters of the
 * token in any case.
 */
import assert from "#assert";
import path from "#path";
import { AgentHarness } from "../e2e/_harness.ts";
import { makeSampleReports } from "../../wats_test_server/mod.ts";
import { addSecrets, redactAndCut } from "../../src/log/redact.ts";
import { filesUnder } from "../_files.ts";

const token = btoa(`station9:${crypto.randomUUID()}`);

/** The pieces of the token (8 characters or more, any case) found in `text`. */
function leaks(text: string): string[] {
  const lower = text.toLowerCase();
  const found: string[] = [];
  for (let i = 0; i + 8 <= token.length; i++) {
    const piece = token.slice(i, i + 8).toLowerCase();
    if (lower.includes(piece)) found.push(piece);
  }
  return found;
}

Deno.test("secrets: a token cut at the message limit, re-cased or cut by the server is masked everywhere", async () => {
  await using h = await AgentHarness.create({ token });
  const reports = makeSampleReports(4, { seed: 7301 });
  const messages = [
    `${"x".repeat(488)}${token}`, // the agent's 500-character cut falls inside the token
    `lower ${token.toLowerCase()} done`,
    `upper ${token.toUpperCase()} done`,
    `the server cut it: ${token.slice(0, 14)}`,
  ];
  h.server.setFaults({
    rules: reports.map((r, i) => ({
      id: r.id,
      fault: { kind: "status" as const, status: 400, message: messages[i] },
    })),
  });
  await h.start();
  for (const r of reports) await h.drop("json", `${r.sn}.json`, JSON.stringify(r));
  await h.waitFor(async () => (await h.status()).queue.error === 4, "four reports rejected");
  const served: Record<string, string> = {};
  for (const route of ["/status", "/health", "/"]) {
    served[route] = await (await h.control(route)).text();
  }
  const status = await h.cli(["status", "--config", h.configFile]);
  served["agent status"] = status.stdout + status.stderr;
  assert.match(served["/status"], /x{100}\*\*\*/, "the cut message is there, masked");
  assert.match(served["/status"], /lower \*\*\* done/);
  assert.match(served["/status"], /upper \*\*\* done/);
  assert.match(served["/status"], /the server cut it: \*\*\*/);
  assert.equal(await h.stop(), 0);
  served["agent stderr"] = h.output;
  for (const [what, text] of Object.entries(served)) {
    assert.deepEqual(leaks(text), [], `${what} leaks the token:\n${text}`);
  }
  const checked: string[] = [];
  for (const file of await filesUnder(h.dir)) {
    const rel = path.relative(h.dir, file);
    if (rel === "agent.json" || rel.endsWith("agent.json.last-good")) continue;
    checked.push(rel);
    assert.deepEqual(leaks(await Deno.readTextFile(file)), [], `${rel} leaks the token`);
  }
  for (const expected of [/queue\/error\/.*\.error\.json$/, /state\.json$/, /logs\/agent\.log$/]) {
    assert.ok(checked.some((f) => expected.test(f)), `no file ${expected} was checked`);
  }
});

Deno.test("secrets: redactAndCut masks before it cuts, and a trailing start of a secret", () => {
  const secret = "Zm9vYmFyOnNlY3JldC1wYXNz";
  addSecrets([secret]);
  assert.equal(redactAndCut(`${"a".repeat(10)}${secret}`, 14), `${"a".repeat(10)}***`);
  assert.equal(redactAndCut(`tail ${secret.slice(0, 9)}`, 100), "tail ***");
  assert.equal(redactAndCut(`case ${secret.toLowerCase()} x`, 100), "case *** x");
  // Fewer than 6 characters of a secret's start are not taken for one.
  assert.equal(redactAndCut(`tail ${secret.slice(0, 5)}`, 100), `tail ${secret.slice(0, 5)}`);
  assert.equal(redactAndCut("ordinary words stay", 100), "ordinary words stay");
});
