/**
 * A config edit that is refused must not quote the secret it holds: the refusal goes to the log,
 * stderr, `/status` and `/health` (which need no token). JSON.parse's own message quotes the
 * file around the error, which is often the token line (quotes forgotten), and a schema problem
 * used to quote the value found, objects whole.
 */
import assert from "#assert";
import { ConfigError, parseConfig } from "../../src/config/load.ts";

const SECRET = "NEWSECRETTOKEN123456";

function refusal(text: string): string {
  try {
    parseConfig(text, "/etc/agent/agent.json");
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error("the config was accepted");
}

const cases: [string, string, RegExp][] = [
  [
    "the token without quotes",
    `{\n  "server": {\n    "url": "http://127.0.0.1:1",\n    "token": ${SECRET}\n  }\n}`,
    /line 4, column 14: unexpected character/,
  ],
  [
    "the token as an object",
    `{"server": {"url": "http://127.0.0.1:1", "token": {"value": "${SECRET}"}}}`,
    /server\.token: .*not shown/,
  ],
  [
    "the server block as a list",
    `{"server": ["http://127.0.0.1:1", "${SECRET}"]}`,
    /server: expected object, found a list/,
  ],
];

for (const [what, text, says] of cases) {
  Deno.test(`config refusal: ${what} → says where, not the secret`, () => {
    const message = refusal(text);
    assert.match(message, says);
    assert.ok(!message.includes("NEWSECRET"), message);
  });
}

Deno.test("config refusal: a password in server.url is refused, and not quoted", () => {
  const message = refusal(
    `{"server": {"url": "https://user:${SECRET}@wats.example.com", "token": "t"}}`,
  );
  assert.match(message, /server\.url: expected no user name or password in the URL/);
  assert.ok(!message.includes("NEWSECRET"), message);
});
