// The status page: polls /status and /history every few seconds and draws them. No build step:
// this file is served as is from the agent binary. The retry button posts to /requeue with the
// per-run page token the server embedded in <meta name="agent-page-token">.
"use strict";

const REFRESH_MS = 5000;
const SVG_NS = "http://www.w3.org/2000/svg";
const pageToken = document.querySelector('meta[name="agent-page-token"]').content;

const $ = (id) => document.getElementById(id);

function text(id, value) {
  $(id).textContent = value === null || value === undefined ? "–" : String(value);
}

function duration(s) {
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

function ago(iso) {
  if (!iso) return "never";
  return `${duration(Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000)))} ago`;
}

function cell(row, value, cls) {
  const td = document.createElement("td");
  td.textContent = value === null || value === undefined ? "" : String(value);
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

function showStatus(s) {
  const badge = $("health");
  badge.dataset.state = s.health.state;
  badge.textContent = s.health.state;
  text("agent", `pid ${s.pid} · version ${s.version} · since ${s.startedAt}`);
  const reasons = $("reasons");
  reasons.replaceChildren();
  for (const r of s.health.reasons) {
    const li = document.createElement("li");
    li.textContent = r;
    reasons.appendChild(li);
  }
  if (s.health.reasons.length === 0) {
    const li = document.createElement("li");
    li.className = "none";
    li.textContent = "All good: reports flow to the server.";
    reasons.appendChild(li);
  }
  for (const k of ["queued", "processing", "error", "retrying", "completed", "quarantine"]) {
    text(`q-${k}`, s.queue[k]);
  }
  text(
    "q-oldest",
    s.queue.oldestQueuedAgeSeconds === null ? "none" : duration(s.queue.oldestQueuedAgeSeconds),
  );
  text("last-upload", ago(s.upload?.lastSuccessAt ?? null));
  text("breaker", s.upload?.breaker ?? "–");
  text("server", `${s.server.url}${s.server.version ? ` (WATS ${s.server.version})` : ""}`);
  for (
    const k of [
      "filesSeen",
      "filesConverted",
      "filesFailed",
      "reportsUploaded",
      "uploadRetries",
      "reportsRejected",
    ]
  ) {
    text(`t-${k}`, s.totals[k] ?? 0);
  }

  const convs = $("converters");
  convs.replaceChildren();
  for (const c of s.converters) {
    const tr = document.createElement("tr");
    tr.dataset.name = c.name;
    cell(tr, c.name);
    cell(tr, c.format);
    cell(tr, c.missing ? `${c.folder} (MISSING)` : c.folder, "file");
    cell(tr, c.converted);
    cell(tr, c.reports);
    cell(tr, c.failed);
    cell(tr, c.waiting);
    convs.appendChild(tr);
  }

  const fails = $("failures");
  fails.replaceChildren();
  for (const e of s.recentErrors) {
    const tr = document.createElement("tr");
    tr.className = "failure";
    if (e.key) tr.dataset.key = e.key;
    cell(tr, e.at);
    cell(
      tr,
      e.kind === "upload"
        ? `report ${e.reportId}${
          e.permanent ? " (waits for a person)" : e.retryAt ? " (retries by itself)" : ""
        }`
        : `conversion${e.movedTo ? `, moved to ${e.movedTo}` : ""}`,
    );
    cell(tr, e.file, "file");
    cell(tr, e.reason, "reason");
    const action = cell(tr, "");
    if (e.kind === "upload" && e.key) {
      const b = document.createElement("button");
      b.className = "retry";
      b.textContent = "Retry";
      b.addEventListener("click", () => retry(e.key, b));
      action.appendChild(b);
    }
    fails.appendChild(tr);
  }
}

function showHistory(h) {
  text("hist-uploaded", h.totals.uploaded);
  text("hist-queued", h.totals.queued);
  text("hist-failed", h.totals.failed + h.totals.rejected);
  const svg = $("chart");
  svg.replaceChildren();
  const n = h.minutes.length;
  const max = Math.max(1, ...h.minutes.map((m) => m.uploaded + m.failed + m.rejected));
  const w = 600 / n;
  h.minutes.forEach((m, i) => {
    const bad = m.failed + m.rejected;
    const total = m.uploaded + bad;
    if (total === 0) return;
    const hUp = (m.uploaded / max) * 110;
    const hBad = (bad / max) * 110;
    const title = document.createElementNS(SVG_NS, "title");
    title.textContent = `${m.t.slice(11, 16)}: ${m.uploaded} uploaded, ${bad} failed or rejected`;
    for (const [cls, y, hh] of [["up", 120 - hUp, hUp], ["bad", 120 - hUp - hBad, hBad]]) {
      if (hh <= 0) continue;
      const r = document.createElementNS(SVG_NS, "rect");
      r.setAttribute("class", cls);
      r.setAttribute("x", String(i * w + 1));
      r.setAttribute("width", String(Math.max(1, w - 2)));
      r.setAttribute("y", String(y));
      r.setAttribute("height", String(hh));
      r.appendChild(title.cloneNode(true));
      svg.appendChild(r);
    }
  });
}

async function getJson(path) {
  const res = await fetch(path, { cache: "no-store" });
  return await res.json();
}

async function refresh() {
  try {
    const [s, h] = await Promise.all([getJson("/status"), getJson("/history")]);
    showStatus(s);
    showHistory(h);
    text("refreshed", new Date().toLocaleTimeString());
  } catch (e) {
    const badge = $("health");
    badge.dataset.state = "unreachable";
    badge.textContent = "agent not answering";
    text("refreshed", `failed (${e.message})`);
  }
}

async function retry(key, button) {
  button.disabled = true;
  const msg = $("message");
  try {
    const res = await fetch("/requeue", {
      method: "POST",
      headers: { "authorization": `Bearer ${pageToken}`, "content-type": "application/json" },
      body: JSON.stringify({ keys: [key] }),
    });
    const body = await res.json();
    if (res.status === 401) {
      msg.textContent =
        "The agent restarted since this page was loaded: reload the page, then retry.";
    } else if (!res.ok) {
      msg.textContent = `Retry refused (${res.status}): ${body.error}`;
    } else {
      msg.textContent = `${body.requeued} report(s) requeued; the agent uploads them now.`;
    }
  } catch (e) {
    msg.textContent = `Retry failed: ${e.message}`;
  }
  await refresh();
}

refresh();
setInterval(refresh, REFRESH_MS);
