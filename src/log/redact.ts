/**
 * Secrets out of every text the agent stores or serves: log lines, queue error sidecars,
 * state.json, `agent status`, the control endpoint. A server may echo the Authorization header
 * back in an error message, and a converter error may quote a setting; either way the text
 * passes {@link redact} before it is written or sent.
 *
 * A secret is masked in each form it can take on the way: as given, URL-encoded, JSON-escaped,
 * base64-encoded and, when it is itself base64 of `user:password` (a WATS token is), decoded
 * (the pair and the password). Authorization header shapes are masked whatever the credential
 * (a token from before a config change, a control token). Forms of 8 characters or more are
 * matched in any case (a server may echo a header lower-cased); shorter ones exactly, so they
 * do not mask ordinary words.
 *
 * Text from outside (a server's message) is cut to a length only after it is redacted
 * ({@link redactAndCut}): a cut through a secret would leave a prefix no pattern matches.
 *
 * @module
 */

const MASK = "***";
/** Shorter strings would mask ordinary words. */
const MIN_LENGTH = 4;
/** Forms at least this long are matched in any case. */
const ANY_CASE_LENGTH = 8;
/** A text ending in this much of a secret's start ends with a cut secret: masked. */
const MIN_CUT_PREFIX = 6;

let known = new Set<string>();
let pattern: RegExp | null = null;
let anyCase: RegExp | null = null;

/** `Authorization: <scheme> <credential>` in headers, JSON or text; the credential is masked. */
const AUTH_HEADER =
  /(authori[sz]ation["']?\s*[:=]\s*["']?)((?:basic|bearer|digest|negotiate|token)\s+)?([^\s"',;)}\]<>]+)/gi;
/** A bare `Basic <credential>` or `Bearer <credential>`: long enough not to be prose. */
const AUTH_SCHEME = /\b(basic|bearer)(\s+)[A-Za-z0-9+/_.~-]{16,}=*/gi;

function utf8Base64(text: string): string {
  let bin = "";
  for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** `text` decoded as base64 of UTF-8 text, or null when it is not that. */
function fromBase64(text: string): string | null {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text) || text.length < 8) return null;
  try {
    const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const decoded = new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(bin, (c) => c.charCodeAt(0)),
    );
    // deno-lint-ignore no-control-regex -- binary, not text, when it holds control characters
    return /[\x00-\x1f\x7f]/.test(decoded) ? null : decoded;
  } catch {
    return null;
  }
}

/** The forms one secret can take in a stored or served text. */
export function secretForms(secret: string): string[] {
  const forms = new Set<string>();
  const add = (s: string) => {
    if (s.length < MIN_LENGTH) return;
    forms.add(s);
    forms.add(encodeURIComponent(s));
    forms.add(JSON.stringify(s).slice(1, -1));
  };
  add(secret);
  add(secret.replace(/=+$/, "")); // base64 padding is often dropped on the way
  const b64 = utf8Base64(secret);
  add(b64);
  add(b64.replace(/=+$/, ""));
  add(b64.replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_"));
  const decoded = fromBase64(secret);
  if (decoded !== null) {
    add(decoded);
    const colon = decoded.indexOf(":");
    if (colon >= 0) add(decoded.slice(colon + 1));
  }
  return [...forms];
}

/**
 * Adds secrets to mask from now on (the token when the config is loaded or reloaded, the
 * control tokens). Secrets once added stay masked: a token replaced by a config edit can still
 * turn up in an old message.
 */
export function addSecrets(secrets: string[]): void {
  const before = known.size;
  for (const s of secrets) for (const f of secretForms(s)) known.add(f);
  if (known.size === before) return;
  // Longest first, so a secret's password part does not split the longer pair around it.
  const sorted = [...known].sort((a, b) => b.length - a.length);
  const alternation = (forms: string[]) =>
    forms.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
  const long = sorted.filter((f) => f.length >= ANY_CASE_LENGTH);
  const short = sorted.filter((f) => f.length < ANY_CASE_LENGTH);
  anyCase = long.length ? new RegExp(alternation(long), "gi") : null;
  pattern = short.length ? new RegExp(alternation(short), "g") : null;
}

/** Forgets every secret (for tests that set their own). */
export function clearSecrets(): void {
  known = new Set();
  pattern = null;
  anyCase = null;
}

/** `text` with every known secret, and every Authorization credential, masked. */
export function redact(text: string): string {
  if (anyCase !== null) text = text.replace(anyCase, MASK);
  if (pattern !== null) text = text.replace(pattern, MASK);
  return text.replace(
    AUTH_HEADER,
    (all, head, scheme, cred) => cred === MASK ? all : `${head}${scheme ?? ""}${MASK}`,
  )
    .replace(AUTH_SCHEME, (_all, scheme, space) => `${scheme}${space}${MASK}`);
}

/**
 * `text` redacted, then cut to at most `max` characters; a text that ends in the start of a
 * secret (at least 6 characters of it: cut by whoever sent it) has that end masked too.
 */
export function redactAndCut(text: string, max: number): string {
  const cut = redact(text).slice(0, max);
  const lower = cut.toLowerCase();
  let longest = 0;
  for (const form of known) {
    const f = form.length >= ANY_CASE_LENGTH ? form.toLowerCase() : form;
    const end = form.length >= ANY_CASE_LENGTH ? lower : cut;
    for (let k = Math.min(f.length - 1, end.length); k > longest; k--) {
      if (k >= MIN_CUT_PREFIX && end.endsWith(f.slice(0, k))) {
        longest = k;
        break;
      }
    }
  }
  return longest ? cut.slice(0, cut.length - longest) + MASK : cut;
}

/** A copy of a JSON-like value with {@link redact} applied to every string in it (keys too). */
export function redactDeep<T>(value: T): T {
  return mapStrings(value, redact);
}

/** A copy of a JSON-like value with `f` applied to every string in it (keys too). */
export function mapStrings<T>(value: T, f: (text: string) => string): T {
  if (typeof value === "string") return f(value) as T;
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f)) as T;
  if (value !== null && typeof value === "object" && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[f(k)] = mapStrings(v, f);
    return out as T;
  }
  return value;
}
