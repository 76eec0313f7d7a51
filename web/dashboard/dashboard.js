// The regulators' dashboard: the anomaly queue, a container's chain, the region's figures.

import { api, ApiError, escapeHtml as esc, listAll, login, logout, openDocument, session } from "./shared/api.js";
import { applyI18n, initLang, lang, setLang, t } from "./shared/i18n.js";
import * as charts from "./charts.js";

const $ = (sel) => document.querySelector(sel);
const SEVERITY_RANK = { critical: 3, warning: 2, info: 1 };
const KINDS = [
  "storage_overdue", "collection_interval_exceeded", "transit_overdue", "disposal_overdue", "manifest_unconfirmed",
  "weight_discrepancy", "count_discrepancy", "missing_step", "custody_mismatch", "scan_after_disposal",
  "impossible_travel", "forged_label", "geofence_violation", "unlicensed_receiver", "clock_skew",
];
const STATUSES = ["open", "acknowledged", "resolved", "dismissed"];
const KIND_COLOURS = { hospital: "#0b5d4b", transporter: "#3d6fb6", storage: "#7a4fa3", disposal: "#b3261e", regulator: "#5b6b66" };
const POLL_MS = 20000;
const VIEWS = ["login", "anomalies", "chain", "region"];

const state = { me: null, orgs: [], anomalies: [], view: "anomalies", chain: null, region: null, pending: null };

const orgName = (id) => (state.orgs.find((o) => o.id === id) || {}).name || (id ? `${String(id).slice(0, 8)}…` : "–");
const fmt = (v) => (v ? new Date(v).toLocaleString(lang() === "zh" ? "zh-CN" : "en-GB", { dateStyle: "medium", timeStyle: "short" }) : "");
const day = (v) => new Date(v).toISOString().slice(0, 10);

function toCsv(rows) {
  const cell = (v) => {
    const s = v == null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return rows.map((r) => r.map(cell).join(",")).join("\r\n");
}

function download(name, rows) {
  const blob = new Blob(["\ufeff", toCsv(rows)], { type: "text/csv;charset=utf-8" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 30000);
}

// ---------------------------------------------------------------- routing and sign-in

function show(name) {
  if (!state.me) name = "login";
  state.view = name;
  for (const v of VIEWS) $(`#view-${v}`).hidden = v !== name;
  $("#tabs").hidden = !state.me;
  $("#signout").hidden = !state.me;
  for (const a of document.querySelectorAll("#tabs a")) a.classList.toggle("on", a.getAttribute("href") === `#${name}`);
  if (name === "anomalies") loadAnomalies();
  if (name === "region") loadRegion();
  if (name === "chain") {
    const id = new URLSearchParams(location.hash.split("?")[1] || "").get("id");
    if (id && (!state.chain || state.chain.container.id !== id)) {
      $("#chain-form").id.value = id;
      loadChain(id);
    }
  }
}

function route() {
  const name = (location.hash || "#anomalies").slice(1).split("?")[0];
  show(VIEWS.includes(name) && name !== "login" ? name : "anomalies");
}

async function start() {
  initLang();
  refreshLanguage();
  if (session()) {
    try {
      state.me = await api("/api/v1/me");
    } catch {
      state.me = null;
    }
  }
  await afterLogin();
  window.addEventListener("hashchange", route);
  route();
  setInterval(poll, POLL_MS);
  document.body.dataset.ready = "1";
}

async function afterLogin() {
  if (!state.me) return;
  $("#who").textContent = `${state.me.user.display_name || state.me.user.username} · ${t(`role.${state.me.role}`)}`;
  state.orgs = await listAll("/api/v1/organizations").catch(() => []);
  fillFilters();
}

$("#login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  try {
    state.me = await login(e.target.username.value.trim(), e.target.password.value);
    e.target.password.value = "";
    await afterLogin();
    route();
  } catch (error) {
    $("#login-error").textContent = error instanceof ApiError ? t("login.failed") : t("common.offline");
  }
});

$("#signout").addEventListener("click", async () => {
  await logout();
  state.me = null;
  route();
});
window.addEventListener("medwaste:signed-out", () => {
  state.me = null;
  route();
});

$("#lang").addEventListener("click", () => {
  setLang(lang() === "zh" ? "en" : "zh");
  refreshLanguage();
  if (state.me) {
    $("#who").textContent = `${state.me.user.display_name || state.me.user.username} · ${t(`role.${state.me.role}`)}`;
    fillFilters();
    route();
  }
});

function refreshLanguage() {
  applyI18n(document);
  $("#lang").textContent = lang() === "zh" ? "EN" : "中文";
  document.title = t("dash.title");
}

// ---------------------------------------------------------------- the anomaly queue

function fillFilters() {
  const f = $("#filters");
  const keep = Object.fromEntries(new FormData(f));
  const opts = (values, label, all) => `<option value="">${esc(all)}</option>` + values.map((v) => `<option value="${esc(v)}">${esc(label(v))}</option>`).join("");
  f.status.innerHTML = opts(STATUSES, (s) => t(`astatus.${s}`), t("f.any"));
  f.severity.innerHTML = opts(["critical", "warning", "info"], (s) => t(`sev.${s}`), t("f.any"));
  f.kind.innerHTML = opts(KINDS, (k) => t(`kind.${k}`), t("f.any"));
  f.organization_id.innerHTML = opts(state.orgs.filter((o) => o.kind !== "regulator").map((o) => o.id), orgName, t("f.any"));
  f.status.value = keep.status ?? "open";
  for (const k of ["severity", "kind", "organization_id"]) if (keep[k]) f[k].value = keep[k];
}

function filters() {
  return Object.fromEntries(new FormData($("#filters")));
}

function compareAnomalies(a, b) {
  return (SEVERITY_RANK[b.severity] || 0) - (SEVERITY_RANK[a.severity] || 0) || String(b.detected_at).localeCompare(String(a.detected_at));
}

async function fetchAnomalies(f) {
  const q = new URLSearchParams();
  if (f.status) q.set("status", f.status);
  if (f.kind) q.set("kind", f.kind);
  if (f.severity) q.set("severity", f.severity);
  if (f.organization_id) q.set("organization_id", f.organization_id);
  if (f.from) q.set("since", new Date(`${f.from}T00:00:00`).toISOString());
  const items = await listAll(`/api/v1/anomalies${q.toString() ? `?${q}` : ""}`, 2000);
  const until = f.to ? new Date(`${f.to}T23:59:59.999`).getTime() : null;
  return items
    .filter((a) => !f.severity || a.severity === f.severity)
    .filter((a) => !until || new Date(a.detected_at).getTime() <= until)
    .sort(compareAnomalies);
}

async function loadAnomalies() {
  $("#anomaly-error").textContent = "";
  try {
    state.anomalies = await fetchAnomalies(filters());
    renderAnomalies();
    await renderCounts();
  } catch (error) {
    $("#anomaly-error").textContent = error instanceof ApiError && error.routeMissing ? t("common.notYet") : error.message;
  }
}

function describeFacts(a) {
  const facts = a.facts || {};
  const bits = Object.entries(facts)
    .slice(0, 4)
    .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`);
  return [a.rule, a.threshold ? `(${a.threshold})` : "", bits.join("; ")].filter(Boolean).join(" ");
}

function renderAnomalies() {
  const body = $("#anomaly-table tbody");
  body.innerHTML = state.anomalies
    .map((a) => {
      const buttons = [];
      if (a.status === "open") buttons.push("acknowledge");
      if (a.status === "open" || a.status === "acknowledged") buttons.push("resolve", "dismiss");
      const subject = a.container_id
        ? `<a href="#chain?id=${encodeURIComponent(a.container_id)}" class="mono">${esc(a.container_id.slice(0, 12))}</a>`
        : a.manifest_id
          ? `<button type="button" class="link mono" data-pdf="${esc(a.manifest_id)}">${esc(t("a.manifest"))} ${esc(String(a.manifest_id).slice(0, 8))}</button>`
          : "–";
      return `<tr data-id="${esc(a.id)}" data-severity="${esc(a.severity)}" data-status="${esc(a.status)}">
        <td><span class="sev sev-${esc(a.severity)}">${esc(t(`sev.${a.severity}`))}</span></td>
        <td>${esc(t(`kind.${a.kind}`))}</td>
        <td class="org">${esc(orgName(a.organization_id))}</td>
        <td>${subject}</td>
        <td class="nowrap">${esc(fmt(a.detected_at))}</td>
        <td class="facts" title="${esc(describeFacts(a))}">${esc(describeFacts(a))}</td>
        <td><span class="st st-${esc(a.status)}">${esc(t(`astatus.${a.status}`))}</span></td>
        <td class="nowrap">${buttons.map((b) => `<button type="button" class="small ${b === "resolve" ? "primary" : "ghost dark"}" data-step="${b}">${esc(t(`step.${b}`))}</button>`).join(" ")}</td>
      </tr>`;
    })
    .join("");
  $("#anomaly-empty").hidden = state.anomalies.length > 0;
  $("#updated").textContent = `${t("common.updated")} ${new Date().toLocaleTimeString()}`;
}

async function renderCounts() {
  let open = [];
  let acknowledged = [];
  try {
    [open, acknowledged] = await Promise.all([listAll("/api/v1/anomalies?status=open", 5000), listAll("/api/v1/anomalies?status=acknowledged", 5000)]);
  } catch {
    return;
  }
  const chip = (n, label, cls, testid) => `<div class="count ${cls}" data-testid="${testid}"><b>${n}</b><span>${esc(label)}</span></div>`;
  const by = (sev) => open.filter((a) => a.severity === sev).length;
  $("#counts").innerHTML =
    chip(by("critical"), `${t("astatus.open")} · ${t("sev.critical")}`, "c-critical", "count-critical") +
    chip(by("warning"), `${t("astatus.open")} · ${t("sev.warning")}`, "c-warning", "count-warning") +
    chip(by("info"), `${t("astatus.open")} · ${t("sev.info")}`, "c-info", "count-info") +
    chip(acknowledged.length, t("astatus.acknowledged"), "c-ack", "count-acknowledged");
}

async function poll() {
  if (!state.me || document.hidden || $("#step-dialog").open) return;
  if (state.view === "anomalies") loadAnomalies();
}

$("#filters").addEventListener("submit", (e) => {
  e.preventDefault();
  loadAnomalies();
});

$("#anomaly-table").addEventListener("click", (e) => {
  const pdf = e.target.closest("[data-pdf]");
  if (pdf) return openDocument(`/api/v1/manifests/${pdf.dataset.pdf}.pdf`).catch((err) => ($("#anomaly-error").textContent = err.message));
  const button = e.target.closest("button[data-step]");
  if (!button) return;
  const row = button.closest("tr");
  const anomaly = state.anomalies.find((a) => String(a.id) === row.dataset.id);
  openStep(anomaly, button.dataset.step);
});

function openStep(anomaly, step) {
  const dialog = $("#step-dialog");
  $("#step-title").textContent = `${t(`step.${step}`)} — ${t(`kind.${anomaly.kind}`)}`;
  $("#step-subject").textContent = `${orgName(anomaly.organization_id)} · ${anomaly.container_id || anomaly.manifest_id || ""}`;
  $("#step-note").value = "";
  dialog.returnValue = "";
  dialog.onclose = async () => {
    if (dialog.returnValue !== "ok") return;
    try {
      await api(`/api/v1/anomalies/${anomaly.id}/${step}`, { method: "POST", body: { note: $("#step-note").value.trim() } });
    } catch (error) {
      $("#anomaly-error").textContent = error.message;
    }
    loadAnomalies();
  };
  dialog.showModal();
  $("#step-note").focus();
}

$("#export-anomalies").addEventListener("click", () => {
  const rows = [["id", "severity", "kind", "status", "organization", "container_id", "manifest_id", "detected_at", "rule", "threshold", "facts"]];
  for (const a of state.anomalies) rows.push([a.id, a.severity, a.kind, a.status, orgName(a.organization_id), a.container_id, a.manifest_id, a.detected_at, a.rule, a.threshold, a.facts]);
  download(`anomalies-${new Date().toISOString().slice(0, 10)}.csv`, rows);
});

// ---------------------------------------------------------------- a container's chain

async function findContainer(text) {
  const value = text.trim();
  if (/^[A-Za-z0-9]{4}-?[A-Za-z0-9]{4}$/.test(value)) {
    const page = await api(`/api/v1/containers?short_code=${encodeURIComponent(value)}`);
    if (page.items.length) return page.items[0];
  }
  const id = value.startsWith("MW1.") ? value.split(".")[1] : value;
  return api(`/api/v1/containers/${encodeURIComponent(id)}`);
}

async function loadChain(text) {
  $("#chain-error").textContent = "";
  const box = $("#chain");
  box.innerHTML = `<p class="muted">${esc(t("common.loading"))}</p>`;
  try {
    const container = await findContainer(text);
    const [chain, anomalies] = await Promise.all([
      api(`/api/v1/containers/${container.id}/events`),
      listAll("/api/v1/anomalies", 5000).then((all) => all.filter((a) => a.container_id === container.id)).catch(() => []),
    ]);
    const manifestIds = [...new Set(chain.events.map((e) => e.manifest_id).filter(Boolean))];
    const manifests = await Promise.all(manifestIds.map((id) => api(`/api/v1/manifests/${id}`).catch(() => ({ id, number: String(id).slice(0, 8) }))));
    // Site names for the timeline, from the sites of the organizations that scanned.
    const siteOrgs = [...new Set(chain.events.filter((e) => e.site_id).map((e) => e.actor_organization_id).filter(Boolean))];
    const siteLists = await Promise.all(siteOrgs.map((id) => listAll(`/api/v1/organizations/${id}/sites`).catch(() => [])));
    const sites = new Map(siteLists.flat().map((site) => [site.id, site.name]));
    state.chain = { container, chain, anomalies, manifests, sites };
    renderChain();
  } catch (error) {
    box.innerHTML = "";
    $("#chain-error").textContent = error instanceof ApiError && error.status === 404 ? t("c.notFound") : error.message;
  }
}

function renderChain() {
  const { container: c, chain, anomalies, manifests, sites } = state.chain;
  const bad = chain.first_bad_event_id;
  const badge = chain.verified
    ? `<span class="badge ok" data-testid="verified">✔ ${esc(t("c.verified"))}</span>`
    : `<span class="badge bad" data-testid="verified">✘ ${esc(t("c.broken"))} #${esc(bad)}</span>`;
  const events = chain.events
    .map((e) => {
      const site = e.site_id ? sites.get(e.site_id) || `${t("c.site")} ${e.site_id.slice(0, 8)}` : "";
      const point = e.latitude != null ? `${e.latitude.toFixed(4)}, ${e.longitude.toFixed(4)}` : "";
      const where = [site, point].filter(Boolean).join(" · ");
      const extra = [
        e.weight_kg != null ? `${e.weight_kg} kg` : "",
        e.method ? t(`method.${e.method}`) : "",
        e.incident ? t(`incident.${e.incident}`) : "",
        e.correction_reason ? `${t("c.corrects")} #${e.corrects_event_id}` : "",
        e.corrected_by && e.corrected_by.length ? `${t("c.correctedBy")} #${e.corrected_by.join(", #")}` : "",
        e.note || "",
      ].filter(Boolean);
      return `<li class="ev ${e.id === bad ? "ev-bad" : ""} ${e.corrected_by && e.corrected_by.length ? "ev-corrected" : ""}">
        <div class="when">${esc(fmt(e.occurred_at))}${e.client_time && Math.abs(new Date(e.recorded_at) - new Date(e.occurred_at)) > 600000 ? `<br><span class="muted small">${esc(t("c.recorded"))} ${esc(fmt(e.recorded_at))}</span>` : ""}</div>
        <div class="dot"></div>
        <div class="what"><b>${esc(t(`action.${e.action}`))}</b> <span class="muted">${esc(e.from_state ? t(`state.${e.from_state}`) : "")} → ${esc(t(`state.${e.to_state}`))}</span>
          <div>${esc(orgName(e.actor_organization_id))}${where ? ` · ${esc(where)}` : ""}</div>
          ${extra.length ? `<div class="muted">${esc(extra.join(" · "))}</div>` : ""}
          <div class="hash mono" title="${esc(e.hash)}">#${e.seq} ${esc(e.hash.slice(0, 16))}…</div></div>
      </li>`;
    })
    .join("");
  const anomalyRows = anomalies.length
    ? anomalies.sort(compareAnomalies).map((a) => `<li><span class="sev sev-${esc(a.severity)}">${esc(t(`sev.${a.severity}`))}</span> ${esc(t(`kind.${a.kind}`))} · ${esc(fmt(a.detected_at))} · <span class="st st-${esc(a.status)}">${esc(t(`astatus.${a.status}`))}</span></li>`).join("")
    : `<li class="muted">${esc(t("a.none"))}</li>`;
  const manifestRows = manifests.length
    ? manifests.map((m) => `<li><b class="mono">${esc(m.number)}</b> ${m.state ? esc(t(`mstate.${m.state}`)) : ""} <button type="button" class="link noprint" data-pdf="${esc(m.id)}">PDF</button></li>`).join("")
    : `<li class="muted">–</li>`;
  $("#chain").innerHTML = `
    <div class="panel chain-head">
      <div><h1 class="mono">${esc(c.short_code)}</h1><div class="muted mono small">${esc(c.id)}</div></div>
      <div>${esc(t(`cat.${c.category}`))}${c.epidemic ? ` · <b class="bad-text">${esc(t("batch.epidemic"))}</b>` : ""}<br>${esc(orgName(c.origin_organization_id))} · ${esc(c.department || "")}</div>
      <div>${esc(t("scan.state"))}: <b>${esc(t(`state.${c.state}`))}</b><br>${esc(t("c.custodian"))}: ${esc(orgName(c.custodian_organization_id))}</div>
      <div>${badge}</div>
    </div>
    <div class="grid2">
      <div class="panel"><h2>${esc(t("c.timeline"))}</h2><ol class="timeline">${events}</ol></div>
      <div><div class="panel"><h2>${esc(t("dash.anomalies"))}</h2><ul class="plain">${anomalyRows}</ul></div>
        <div class="panel"><h2>${esc(t("c.manifests"))}</h2><ul class="plain">${manifestRows}</ul></div></div>
    </div>`;
}

$("#chain-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const id = e.target.id.value.trim();
  if (id) loadChain(id);
});
$("#chain").addEventListener("click", (e) => {
  const pdf = e.target.closest("[data-pdf]");
  if (pdf) openDocument(`/api/v1/manifests/${pdf.dataset.pdf}.pdf`).catch((err) => ($("#chain-error").textContent = err.message));
});
$("#chain-print").addEventListener("click", () => window.print());
$("#chain-csv").addEventListener("click", () => {
  if (!state.chain) return;
  const rows = [["seq", "action", "from_state", "to_state", "organization", "occurred_at", "recorded_at", "weight_kg", "latitude", "longitude", "site_id", "manifest_id", "method", "incident", "note", "hash", "prev_hash"]];
  for (const e of state.chain.chain.events) rows.push([e.seq, e.action, e.from_state, e.to_state, orgName(e.actor_organization_id), e.occurred_at, e.recorded_at, e.weight_kg, e.latitude, e.longitude, e.site_id, e.manifest_id, e.method, e.incident, e.note, e.hash, e.prev_hash]);
  download(`chain-${state.chain.container.id}.csv`, rows);
});

// ---------------------------------------------------------------- the region: figures and charts

async function pool(items, size, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(size, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]).catch(() => null);
      }
    }),
  );
  return out;
}

const HOUR = 3600000;
const LIMIT_H = 48;

function analyse(containers, chains, anomalies) {
  const days = [];
  const now = Date.now();
  for (let d = 13; d >= 0; d--) days.push(day(now - d * 24 * HOUR));
  const weights = { collected: days.map(() => 0), received: days.map(() => 0), disposed: days.map(() => 0) };
  const buckets = [6, 12, 24, 48, 96, Infinity];
  const dwell = {};
  const onTime = {}; // org id -> {ok, late}
  const points = new Map();
  const tally = (org, ok) => {
    onTime[org] ||= { ok: 0, late: 0 };
    onTime[org][ok ? "ok" : "late"] += 1;
  };
  containers.forEach((c, i) => {
    const events = (chains[i] && chains[i].events) || [];
    let lastWeight = null;
    events.forEach((e, k) => {
      const at = new Date(e.occurred_at).getTime();
      const di = days.indexOf(day(at));
      if (e.weight_kg != null) lastWeight = e.weight_kg;
      if (di >= 0 && e.action === "collect" && e.weight_kg) weights.collected[di] += e.weight_kg;
      if (di >= 0 && e.action === "receive" && e.weight_kg) weights.received[di] += e.weight_kg;
      if (di >= 0 && e.action === "dispose" && lastWeight) weights.disposed[di] += lastWeight;
      const next = events[k + 1];
      if (e.to_state !== "disposed" && e.to_state !== "lost") {
        // A stay still going on (the container has not moved since) counts up to now: the
        // bags overdue in a store are the ones a regulator most needs to see here.
        const end = next ? new Date(next.occurred_at).getTime() : now;
        if (!next || e.to_state !== next.to_state) {
          const hours = (end - at) / HOUR;
          dwell[e.to_state] ||= buckets.map(() => 0);
          dwell[e.to_state][buckets.findIndex((b) => hours < b)] += 1;
        }
      }
      if (e.latitude != null && e.actor_organization_id) {
        const key = e.site_id || `${e.latitude.toFixed(3)},${e.longitude.toFixed(3)}`;
        if (!points.has(key)) points.set(key, { lat: e.latitude, lon: e.longitude, org: e.actor_organization_id, n: 0 });
        points.get(key).n += 1;
      }
    });
    // Hospitals: picked up within 48 h of collection. Plants: disposed within 48 h of receipt.
    const collected = events.find((e) => e.action === "collect");
    if (collected) {
      const pickup = events.find((e) => e.action === "pickup");
      const start = new Date(collected.occurred_at).getTime();
      const end = pickup ? new Date(pickup.occurred_at).getTime() : now;
      if (pickup || end - start > LIMIT_H * HOUR) tally(c.origin_organization_id, (end - start) <= LIMIT_H * HOUR);
    }
    const received = events.filter((e) => e.action === "receive").pop();
    if (received) {
      const disposed = events.find((e) => e.action === "dispose");
      const start = new Date(received.occurred_at).getTime();
      const end = disposed ? new Date(disposed.occurred_at).getTime() : now;
      if (disposed || end - start > LIMIT_H * HOUR) tally(received.actor_organization_id, end - start <= LIMIT_H * HOUR);
    }
  });
  const kinds = [...new Set(anomalies.map((a) => a.kind))];
  const anomalySeries = kinds.map((k, i) => ({
    label: t(`kind.${k}`),
    color: charts.PALETTE[i % charts.PALETTE.length],
    values: days.map((d) => anomalies.filter((a) => a.kind === k && day(a.detected_at) === d).length),
  }));
  return { days, weights, dwell, buckets, onTime, points, anomalySeries };
}

async function loadRegion() {
  if (state.region) return renderRegion();
  $("#region-note").textContent = t("common.loading");
  const containers = await listAll("/api/v1/containers", 400).catch(() => []);
  const chains = await pool(containers, 6, (c) => api(`/api/v1/containers/${c.id}/events`));
  const anomalies = await listAll("/api/v1/anomalies", 5000).catch(() => []);
  const reportOrgs = state.orgs.filter((o) => o.kind !== "regulator");
  const reports = await pool(reportOrgs, 4, (o) => api(`/api/v1/reports/compliance?organization_id=${o.id}&format=json`));
  const report = new Map(reportOrgs.map((o, i) => [o.id, reports[i]]).filter(([, r]) => r));
  const sites = [];
  for (const org of state.orgs) {
    try {
      for (const s of await listAll(`/api/v1/organizations/${org.id}/sites`)) sites.push({ ...s, org });
    } catch {
      break; // no site list route: the map uses the scan points instead
    }
  }
  state.region = { containers, anomalies, report, sites, ...analyse(containers, chains, anomalies) };
  renderRegion();
}

// The compliance report's on-time figure: all its rules together (late / total).
function reportOnTime(report) {
  if (!report || !Array.isArray(report.on_time)) return null;
  const total = report.on_time.reduce((n, r) => n + (r.total || 0), 0);
  const late = report.on_time.reduce((n, r) => n + (r.late || 0), 0);
  return total ? { ok: total - late, late } : null;
}

function renderRegion() {
  const r = state.region;
  $("#region-note").textContent = `${t("r.basis")} ${r.containers.length} ${t("r.containers")}, ${r.anomalies.length} ${t("r.anomalyCount")}.`;
  // Map: the sites (or, without a site list, where scans happened), coloured by kind.
  const pts = r.sites.length
    ? r.sites.map((s) => ({ lat: s.latitude, lon: s.longitude, label: `${s.org.name.split(" ")[0]} · ${s.name.split(" ")[0]}`, color: KIND_COLOURS[s.org.kind] || "#555" }))
    : [...r.points.values()].map((p) => {
        const org = state.orgs.find((o) => o.id === p.org) || {};
        return { lat: p.lat, lon: p.lon, label: (org.name || "").split(" ")[0], color: KIND_COLOURS[org.kind] || "#555", radius: Math.min(12, 5 + Math.sqrt(p.n)) };
      });
  const kinds = ["hospital", "transporter", "storage", "disposal"].map((k) => ({ label: t(`okind.${k}`), color: KIND_COLOURS[k] }));
  $("#map").innerHTML = charts.siteMap(pts, { label: t("r.map"), kinds });
  // On-time rates.
  const onTime = { ...r.onTime };
  for (const [id, rep] of r.report) {
    const figure = reportOnTime(rep);
    if (figure) onTime[id] = figure;
  }
  r.onTimeMerged = onTime;
  const rows = Object.entries(onTime).map(([id, v]) => ({ label: orgName(id).split(" ")[0], value: v.ok / (v.ok + v.late), note: `${v.ok}/${v.ok + v.late}` }));
  $("#chart-ontime").innerHTML = rows.length ? charts.percentBars(rows, { label: t("r.ontime") }) : charts.empty(t("r.noData"));
  // Weights.
  const series = [
    { label: t("r.collected"), color: "#0b5d4b", values: r.weights.collected },
    { label: t("r.received"), color: "#3d6fb6", values: r.weights.received },
    { label: t("r.disposed"), color: "#d98c00", values: r.weights.disposed },
  ];
  $("#chart-weights").innerHTML = charts.groupedBars(r.days, series, { label: t("r.weights"), unit: "kg" });
  $("#chart-anomalies").innerHTML = r.anomalySeries.length ? charts.stackedBars(r.days, r.anomalySeries, { label: t("r.anomalies") }) : charts.empty(t("a.none"));
  const stages = ["labelled", "collected", "hospital_storage", "in_transit", "received", "stored"].filter((s) => r.dwell[s]);
  const bucketLabels = ["< 6 h", "6–12 h", "12–24 h", "24–48 h", "48–96 h", "> 96 h"];
  $("#chart-dwell").innerHTML = stages.length
    ? charts.histogramGrid(stages.map((s) => ({ label: t(`state.${s}`), counts: r.dwell[s] })), bucketLabels, { label: t("r.dwell"), limitIndex: 4 })
    : charts.empty(t("r.noData"));
  renderOrgTable();
}

function orgFigures() {
  const r = state.region;
  return state.orgs
    .filter((o) => o.kind !== "regulator")
    .map((o) => {
      const rep = r.report.get(o.id) || null;
      const mine = r.containers.filter((c) => c.origin_organization_id === o.id || c.holder_organization_id === o.id);
      const open = r.anomalies.filter((a) => a.organization_id === o.id && (a.status === "open" || a.status === "acknowledged"));
      const ot = (r.onTimeMerged || r.onTime)[o.id];
      const expired = o.license_expires && new Date(o.license_expires) < new Date();
      const w = rep && rep.weights ? rep.weights : null;
      return {
        org: o,
        containers: rep ? rep.containers : mine.length,
        onTime: ot ? ot.ok / (ot.ok + ot.late) : null,
        open: open.length,
        critical: open.filter((a) => a.severity === "critical").length,
        expired,
        weights: w,
      };
    });
}

function renderOrgTable() {
  const figures = orgFigures();
  const kg = (v) => (v == null ? "–" : (+v).toFixed(1));
  $("#org-table thead").innerHTML = `<tr><th>${esc(t("f.organization"))}</th><th>${esc(t("r.kind"))}</th><th>${esc(t("r.license"))}</th><th>${esc(t("r.containers"))}</th><th>${esc(t("r.ontimeShort"))}</th><th>kg ${esc(t("r.collected"))}</th><th>kg ${esc(t("r.received"))}</th><th>kg ${esc(t("r.disposed"))}</th><th>${esc(t("r.openAnomalies"))}</th></tr>`;
  $("#org-table tbody").innerHTML = figures
    .map(
      (f) => `<tr><td>${esc(f.org.name)}</td><td>${esc(t(`okind.${f.org.kind}`))}</td>
      <td class="${f.expired ? "bad-text" : ""}">${esc(f.org.license_number || "–")}${f.org.license_expires ? ` · ${esc(f.org.license_expires)}` : ""}</td>
      <td>${f.containers}</td><td>${f.onTime == null ? "–" : `${Math.round(f.onTime * 100)}%`}</td>
      <td>${kg(f.weights && f.weights.collected_kg)}</td><td>${kg(f.weights && f.weights.received_kg)}</td><td>${kg(f.weights && f.weights.disposed_kg)}</td>
      <td>${f.open}${f.critical ? ` <span class="sev sev-critical">${f.critical}</span>` : ""}</td></tr>`,
    )
    .join("");
}

$("#region-csv").addEventListener("click", () => {
  if (!state.region) return;
  const rows = [["organization_id", "organization", "kind", "jurisdiction", "license_number", "license_expires", "containers", "on_time_rate", "collected_kg", "received_kg", "disposed_kg", "open_anomalies", "critical_open"]];
  for (const f of orgFigures()) {
    const w = f.weights || {};
    rows.push([f.org.id, f.org.name, f.org.kind, f.org.jurisdiction, f.org.license_number, f.org.license_expires, f.containers, f.onTime == null ? "" : f.onTime.toFixed(3), w.collected_kg, w.received_kg, w.disposed_kg, f.open, f.critical]);
  }
  download(`region-${new Date().toISOString().slice(0, 10)}.csv`, rows);
});

start();
