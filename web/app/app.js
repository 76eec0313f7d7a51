// The phone app: sign in, scan a label, record a custody action (queued offline, synced once),
// a driver's trip, a hospital's label batch.

import { api, ApiError, currentUser, escapeHtml, listAll, login, logout, openDocument, rfc3339, session, uuid } from "./shared/api.js";
import { applyI18n, initLang, lang, setLang, t } from "./shared/i18n.js";
import { Scanner } from "./scanner.js";
import * as store from "./store.js";

const $ = (sel) => document.querySelector(sel);
const MANIFEST_KEY = "medwaste.manifest";
const DEVICE_KEY = "medwaste.device";
const KEYS_KEY = "medwaste.labelKeys";

// SPEC §3: who may do what, from which states (a phone-side preview; the server decides).
const ACTIONS = {
  collect: { roles: ["hospital_staff"], from: ["labelled"] },
  store: { roles: ["hospital_staff", "storage_operator", "disposal_operator"], from: ["collected", "received"] },
  pickup: { roles: ["driver"], from: ["collected", "hospital_storage", "stored"] },
  receive: { roles: ["storage_operator", "disposal_operator"], from: ["in_transit"] },
  dispose: { roles: ["disposal_operator"], from: ["received", "stored"] },
  inspect: { roles: ["hospital_staff", "driver", "storage_operator", "disposal_operator", "regulator", "admin"], from: null },
  report_incident: { roles: ["hospital_staff", "driver", "storage_operator", "disposal_operator"], from: ["labelled", "collected", "hospital_storage", "in_transit", "received", "stored"] },
};
const WEIGHT_REQUIRED = new Set(["collect", "receive"]);
const WEIGHT_SHOWN = new Set(["collect", "receive", "pickup", "inspect"]);
const METHODS = ["incineration", "autoclave", "microwave", "chemical", "other"];
const INCIDENTS = ["damaged", "leaking", "lost", "found"];
const CATEGORIES = ["infectious", "sharps", "pathological", "pharmaceutical", "chemical"];

const state = { me: null, resolved: null, action: null, position: null, syncing: false };
const scanner = new Scanner($("#video"));

function deviceId() {
  let id = localStorage.getItem(DEVICE_KEY);
  if (!id) {
    id = `phone-${uuid()}`;
    localStorage.setItem(DEVICE_KEY, id);
  }
  return id;
}

const manifestId = () => localStorage.getItem(MANIFEST_KEY);
function setManifest(id) {
  if (id) localStorage.setItem(MANIFEST_KEY, id);
  else localStorage.removeItem(MANIFEST_KEY);
}

function isNetworkError(error) {
  return error instanceof TypeError || !navigator.onLine;
}

// ---------------------------------------------------------------- views

const VIEWS = ["login", "home", "scan", "queue", "trip", "batch"];

function show(name) {
  if (!state.me && name !== "login") name = "login";
  for (const v of VIEWS) $(`#view-${v}`).hidden = v !== name;
  $("#tabs").hidden = name === "login";
  for (const a of document.querySelectorAll("#tabs a")) a.classList.toggle("on", a.getAttribute("href") === `#${name}`);
  if (name !== "scan") scanner.stop();
  if (name === "queue") renderQueue();
  if (name === "trip") renderTrip();
  if (name === "batch") prepareBatch();
  if (name === "home") renderHome();
  window.scrollTo(0, 0);
}

function route() {
  const name = (location.hash || "#home").slice(1);
  show(VIEWS.includes(name) ? name : "home");
}

function applyRoles() {
  const role = state.me ? state.me.role : null;
  for (const el of document.querySelectorAll("[data-roles]")) {
    el.hidden = !role || !(el.dataset.roles.split(" ").includes(role) || role === "admin");
  }
}

function renderHome() {
  const me = state.me;
  if (!me) return;
  $("#who-name").textContent = me.user.display_name || me.user.username;
  $("#who-org").textContent = me.organization ? me.organization.name : "";
  $("#who-role").textContent = t(`role.${me.role}`);
  const box = $("#home-manifest");
  const id = manifestId();
  box.hidden = !id;
  if (id) box.innerHTML = `<a href="#trip">${escapeHtml(t("trip.current"))}: <b class="mono">${escapeHtml(id.slice(0, 8))}…</b></a>`;
}

// ---------------------------------------------------------------- sign in

async function loadMe() {
  const s = session();
  if (!s) return null;
  try {
    state.me = await api("/api/v1/me");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      state.me = null;
      return null;
    }
    state.me = currentUser(); // offline: the last known identity
  }
  applyRoles();
  return state.me;
}

$("#login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.target;
  $("#login-error").textContent = "";
  try {
    state.me = await login(form.username.value.trim(), form.password.value, deviceId());
    form.password.value = "";
    applyRoles();
    cacheLabelKeys();
    location.hash = "#home";
    route();
  } catch (error) {
    $("#login-error").textContent = isNetworkError(error) ? t("common.offline") : t("login.failed");
  }
});

$("#signout").addEventListener("click", async () => {
  await logout();
  state.me = null;
  location.hash = "#login";
  route();
});

window.addEventListener("medwaste:signed-out", () => {
  state.me = null;
  route();
});

// ---------------------------------------------------------------- label parsing and checking

function parsePayload(text) {
  const m = /^MW1\.([A-Za-z0-9]+)\.([A-Za-z0-9]+)\.([A-Za-z0-9_-]+)$/.exec(text.trim());
  return m ? { container_id: m[1], key_id: m[2], signature: m[3], signed: `MW1.${m[1]}.${m[2]}` } : null;
}

function b64url(text) {
  const s = text.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(s + "=".repeat((4 - (s.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function cacheLabelKeys() {
  try {
    const body = await api("/api/v1/labels/keys");
    localStorage.setItem(KEYS_KEY, JSON.stringify(body.keys || []));
  } catch {
    // keep the last known keys
  }
}

// Verify the label's Ed25519 signature on the phone with the published keys (works offline).
async function verifyOnPhone(parsed) {
  try {
    const keys = JSON.parse(localStorage.getItem(KEYS_KEY) || "[]");
    const key = keys.find((k) => k.key_id === parsed.key_id);
    if (!key) return "unverified";
    const pub = await crypto.subtle.importKey("raw", b64url(key.public_key), { name: "Ed25519" }, false, ["verify"]);
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, pub, b64url(parsed.signature), new TextEncoder().encode(parsed.signed));
    return ok ? "valid" : "forged";
  } catch {
    return "unverified"; // no Ed25519 in this browser's WebCrypto
  }
}

function localActions(role, containerState) {
  return Object.entries(ACTIONS)
    .filter(([, rule]) => rule.roles.includes(role) && (!rule.from || !containerState || rule.from.includes(containerState)))
    .map(([name]) => name);
}

function normalizeResolve(body, base) {
  // ResolveResult: {validity: valid|forged|unknown_key|malformed, detail, container, actions, open_manifests}
  const label = body.validity || base.label;
  return {
    ...base,
    container: body.container || base.container,
    label,
    actions: label === "valid" ? body.actions || [] : [],
    openManifests: body.open_manifests || [],
    error: label === "valid" ? base.error : body.detail || base.error,
    source: "server",
  };
}

async function findByShortCode(code) {
  const normalized = code.toUpperCase().replace(/[^A-Z0-9]/g, "").replace(/^(.{4})(.{4})$/, "$1-$2");
  const cached = await store.byIndex("labels", "short_code", normalized);
  if (cached) return cached.payload;
  try {
    // The server finds the container behind a typed code and gives back its label's payload.
    const body = await api(`/mobile/v1/resolve?code=${encodeURIComponent(normalized)}`);
    if (body.qr_payload) return body.qr_payload;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) throw new Error(t("scan.noSuchCode"));
    if (!isNetworkError(error)) throw error;
  }
  throw new Error(t("scan.noSuchCode"));
}

async function resolve(payload) {
  const parsed = parsePayload(payload);
  if (!parsed) throw new Error(t("scan.notALabel"));
  let info = { payload, container_id: parsed.container_id, container: null, label: "unverified", actions: [], source: "phone" };
  try {
    info = normalizeResolve(await api(`/mobile/v1/resolve?qr=${encodeURIComponent(payload)}`), info);
  } catch (error) {
    if (error instanceof ApiError && !error.routeMissing) {
      const type = String(error.problem.type || "");
      if (/forged|signature/.test(type)) info.label = "forged";
      info.error = error.message;
    }
    if (info.label !== "forged") info.label = await verifyOnPhone(parsed);
    if (!(error instanceof ApiError) || error.routeMissing) {
      try {
        info.container = await api(`/api/v1/containers/${encodeURIComponent(parsed.container_id)}`);
      } catch (inner) {
        const cached = await store.get("labels", parsed.container_id);
        info.container = cached ? cached.container : null;
        if (!isNetworkError(inner)) info.error = inner.message;
        else info.offline = true;
      }
    }
    info.actions = info.label === "forged" ? [] : localActions(state.me.role, info.container && info.container.state);
  }
  if (info.container && info.label !== "forged") {
    await store.put("labels", { container_id: parsed.container_id, short_code: info.container.short_code, payload, container: info.container });
  }
  return info;
}

// ---------------------------------------------------------------- scanning

async function handleCode(text) {
  $("#scan-error").textContent = "";
  $("#scan-outcome").hidden = true;
  $("#action-form").hidden = true;
  try {
    let payload = text.trim();
    if (!payload.startsWith("MW1.")) {
      if (!/^[A-Za-z0-9]{4}-?[A-Za-z0-9]{4}$/.test(payload)) throw new Error(t("scan.notALabel"));
      payload = await findByShortCode(payload);
    }
    renderResolved(await resolve(payload));
  } catch (error) {
    $("#scan-error").textContent = isNetworkError(error) ? t("common.offline") : error.message;
  }
}

function fmtTime(value) {
  if (!value) return "";
  return new Date(value).toLocaleString(lang() === "zh" ? "zh-CN" : "en-GB", { dateStyle: "short", timeStyle: "short" });
}

function renderResolved(info) {
  state.resolved = info;
  const c = info.container;
  $("#resolved").hidden = false;
  $("#r-code").textContent = c ? c.short_code : info.container_id;
  $("#r-code").classList.toggle("long", !c);
  $("#r-what").textContent = c ? `${t(`cat.${c.category}`)} · ${c.department || ""}` : t("scan.unknownContainer");
  const verdict = $("#r-label");
  verdict.dataset.verdict = info.label;
  verdict.textContent = t(`label.${info.label}`);
  const facts = [];
  if (c) {
    facts.push([t("scan.state"), t(`state.${c.state}`)]);
    facts.push([t("scan.since"), fmtTime(c.state_since)]);
    if (c.epidemic) facts.push([t("batch.epidemic"), "✔"]);
  }
  if (info.offline) facts.push([t("common.network"), t("common.offlineShort")]);
  if (info.error) facts.push([t("common.note"), info.error]);
  $("#r-facts").innerHTML = facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join("");
  const actions = info.payload ? info.actions : [];
  $("#r-actions").innerHTML = actions.length
    ? actions.map((a) => `<button type="button" class="action" data-action="${escapeHtml(a)}">${escapeHtml(t(`action.${a}`))}</button>`).join("")
    : `<p class="muted">${escapeHtml(t("scan.noActions"))}</p>`;
  $("#resolved").scrollIntoView({ block: "start" });
}

$("#r-actions").addEventListener("click", (e) => {
  const button = e.target.closest("button[data-action]");
  if (button) chooseAction(button.dataset.action);
});

function chooseAction(action) {
  state.action = action;
  $("#af-title").textContent = t(`action.${action}`);
  $("#af-weight-row").hidden = !WEIGHT_SHOWN.has(action);
  $("#af-weight").required = WEIGHT_REQUIRED.has(action);
  $("#af-weight").value = "";
  $("#af-method-row").hidden = action !== "dispose";
  $("#af-method").required = action === "dispose";
  $("#af-incident-row").hidden = action !== "report_incident";
  $("#af-incident").required = action === "report_incident";
  $("#af-note").value = "";
  const mid = manifestId();
  const open = (state.resolved && state.resolved.openManifests) || [];
  const select = $("#af-manifest-select");
  select.innerHTML = open.map((m) => `<option value="${escapeHtml(m.id)}">${escapeHtml(m.number)} · ${escapeHtml(m.vehicle_plate)}</option>`).join("");
  if (mid && !open.some((m) => m.id === mid)) select.insertAdjacentHTML("afterbegin", `<option value="${escapeHtml(mid)}">${escapeHtml(t("trip.current"))} ${escapeHtml(mid.slice(0, 8))}…</option>`);
  if (mid) select.value = mid;
  $("#af-manifest-row").hidden = action !== "pickup";
  select.required = action === "pickup";
  $("#af-manifest").textContent = mid && action === "receive" ? `${t("trip.current")}: ${mid.slice(0, 8)}…` : "";
  $("#action-form").hidden = false;
  locate();
  (WEIGHT_SHOWN.has(action) ? $("#af-weight") : $("#af-submit")).focus();
}

function locate() {
  state.position = null;
  const line = $("#af-gps");
  if (!navigator.geolocation) {
    line.textContent = t("gps.none");
    return;
  }
  line.textContent = t("gps.finding");
  navigator.geolocation.getCurrentPosition(
    (pos) => {
      state.position = { latitude: +pos.coords.latitude.toFixed(6), longitude: +pos.coords.longitude.toFixed(6) };
      line.textContent = `${t("gps.at")} ${state.position.latitude}, ${state.position.longitude} (±${Math.round(pos.coords.accuracy)} m)`;
    },
    () => (line.textContent = t("gps.none")),
    { enableHighAccuracy: true, timeout: 8000, maximumAge: 60000 },
  );
}

$("#af-cancel").addEventListener("click", () => ($("#action-form").hidden = true));

$("#action-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const info = state.resolved;
  const action = state.action;
  const weightText = $("#af-weight").value.replace(",", ".").trim();
  const weight = weightText ? Number(weightText) : null;
  if (weightText && !(weight > 0 && weight <= 1000)) {
    $("#af-weight").setCustomValidity(t("scan.badWeight"));
    $("#af-weight").reportValidity();
    $("#af-weight").setCustomValidity("");
    return;
  }
  const scan = {
    qr_payload: info.payload,
    action,
    client_event_id: uuid(),
    scanned_at: rfc3339(),
    device_id: deviceId(),
  };
  if (weight !== null && WEIGHT_SHOWN.has(action)) scan.weight_kg = weight;
  if (state.position) Object.assign(scan, state.position);
  if (action === "dispose") scan.method = $("#af-method").value;
  if (action === "report_incident") scan.incident = $("#af-incident").value;
  const note = $("#af-note").value.trim();
  if (note) scan.note = note;
  if (action === "pickup" && $("#af-manifest-select").value) {
    scan.manifest_id = $("#af-manifest-select").value;
    setManifest(scan.manifest_id);
  }
  await enqueue(scan, info);
  $("#action-form").hidden = true;
  $("#resolved").hidden = true;
  const outcome = $("#scan-outcome");
  outcome.hidden = false;
  outcome.dataset.status = "queued";
  outcome.dataset.id = scan.client_event_id;
  outcome.innerHTML = `<b>${escapeHtml(t(`action.${action}`))}</b> · ${escapeHtml(info.container ? info.container.short_code : info.container_id)}<br>${escapeHtml(t("queue.queued"))}`;
  syncQueue();
});

$("#camera-start").addEventListener("click", async () => {
  $("#scan-error").textContent = "";
  $("#camera-box").classList.add("live");
  $("#camera-status").textContent = t("scan.looking");
  try {
    const engine = await scanner.start((text) => {
      $("#camera-box").classList.remove("live");
      $("#camera-status").textContent = "";
      handleCode(text);
    });
    $("#camera-box").dataset.engine = engine;
  } catch (error) {
    $("#camera-box").classList.remove("live");
    $("#camera-status").textContent = "";
    $("#scan-error").textContent = `${t("scan.noCamera")} (${error.message})`;
    $("#manual").open = true;
  }
});

$("#manual-form").addEventListener("submit", (e) => {
  e.preventDefault();
  handleCode($("#manual-code").value);
});

// ---------------------------------------------------------------- the queue and sync

async function enqueue(scan, info) {
  await store.put("queue", {
    client_event_id: scan.client_event_id,
    scan,
    queued_at: Date.now(),
    short_code: info.container ? info.container.short_code : info.container_id,
  });
  await updateCount();
}

async function updateCount() {
  const n = await store.count("queue");
  const badge = $("#queue-badge");
  badge.textContent = String(n);
  badge.dataset.count = String(n);
  badge.classList.toggle("waiting", n > 0);
  $("#queue-count").textContent = String(n);
  return n;
}

async function postOne(scan) {
  try {
    const response = await api("/api/v1/scans", { method: "POST", body: scan });
    return { client_event_id: scan.client_event_id, status: "created", event: response.event, anomalies: response.anomalies };
  } catch (error) {
    if (error instanceof ApiError && error.status !== 401 && !error.routeMissing) {
      return { client_event_id: scan.client_event_id, status: "rejected", error: error.problem };
    }
    throw error;
  }
}

async function sendBatch(items) {
  try {
    const body = await api("/mobile/v1/sync", { method: "POST", body: { device_id: deviceId(), scans: items.map((i) => i.scan) } });
    return body.results;
  } catch (error) {
    if (!(error instanceof ApiError) || !error.routeMissing) throw error;
  }
  // Until /mobile/v1/sync exists: one scan at a time (idempotent by client_event_id too).
  const results = [];
  for (const item of items) results.push(await postOne(item.scan));
  return results;
}

// Send what is queued. Each scan leaves the queue only once the server has answered for it,
// and a retry carries the same client_event_id, so a scan is recorded exactly once.
async function syncQueue() {
  const run = async () => {
    if (state.syncing) return;
    state.syncing = true;
    document.body.classList.add("syncing");
    try {
      const items = (await store.all("queue", "queued_at")).slice(0, 100);
      if (!items.length || !state.me) return;
      const results = await sendBatch(items);
      const byId = new Map(items.map((i) => [i.client_event_id, i]));
      for (const result of results) {
        const item = byId.get(result.client_event_id);
        if (!item) continue;
        await store.put("results", { ...result, at: Date.now(), action: item.scan.action, short_code: item.short_code });
        await store.remove("queue", result.client_event_id);
        showOutcome(result, item);
      }
      if (results.length === items.length && (await store.count("queue"))) setTimeout(syncQueue, 0);
    } catch (error) {
      if (!isNetworkError(error)) console.warn("sync failed", error);
    } finally {
      state.syncing = false;
      document.body.classList.remove("syncing");
      await updateCount();
      if (!$("#view-queue").hidden) renderQueue();
    }
  };
  if (navigator.locks) return navigator.locks.request("medwaste-sync", run);
  return run();
}

function reason(result) {
  const e = result.error || {};
  return e.detail || e.title || "";
}

function showOutcome(result, item) {
  const outcome = $("#scan-outcome");
  if (outcome.dataset.id !== result.client_event_id) return;
  outcome.dataset.status = result.status;
  const anomalies = (result.anomalies || []).map((a) => t(`kind.${a.kind}`)).join(", ");
  outcome.innerHTML =
    `<b>${escapeHtml(t(`action.${item.scan.action}`))}</b> · ${escapeHtml(item.short_code)}<br>` +
    `<span class="status s-${escapeHtml(result.status)}">${escapeHtml(t(`status.${result.status}`))}</span> ${escapeHtml(reason(result))}` +
    (anomalies ? `<br><span class="warn">⚠ ${escapeHtml(anomalies)}</span>` : "");
}

async function renderQueue() {
  const queued = await store.all("queue", "queued_at");
  $("#queue-list").innerHTML = queued.length
    ? queued.map((q) => `<li><b>${escapeHtml(t(`action.${q.scan.action}`))}</b> ${escapeHtml(q.short_code)} <span class="muted">${escapeHtml(fmtTime(q.scan.scanned_at))}</span></li>`).join("")
    : `<li class="muted">${escapeHtml(t("queue.empty"))}</li>`;
  const results = (await store.all("results", "at")).reverse().slice(0, 50);
  $("#results-list").innerHTML = results
    .map(
      (r) =>
        `<li data-status="${escapeHtml(r.status)}"><span class="status s-${escapeHtml(r.status)}">${escapeHtml(t(`status.${r.status}`))}</span> ` +
        `<b>${escapeHtml(t(`action.${r.action}`))}</b> ${escapeHtml(r.short_code)}` +
        (r.status === "rejected" ? `<div class="error">${escapeHtml(reason(r))}</div>` : "") +
        `</li>`,
    )
    .join("");
}

$("#sync-now").addEventListener("click", () => syncQueue());
$("#queue-badge").addEventListener("click", () => (location.hash = "#queue"));

function renderNet() {
  const net = $("#net");
  net.dataset.state = navigator.onLine ? "online" : "offline";
  net.textContent = navigator.onLine ? "" : t("common.offlineShort");
}
window.addEventListener("online", () => {
  renderNet();
  syncQueue();
});
window.addEventListener("offline", renderNet);
document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && syncQueue());
setInterval(() => navigator.onLine && syncQueue(), 30000);

// ---------------------------------------------------------------- trips (manifests)

function orgName(party) {
  return party ? party.name : "";
}

async function renderTrip() {
  $("#trip-error").textContent = "";
  fillTripForms();
  loadTripList();
  const box = $("#trip-current");
  const id = manifestId();
  if (!id) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  box.innerHTML = `<p class="muted">${escapeHtml(t("common.loading"))}</p>`;
  let m;
  try {
    m = await api(`/api/v1/manifests/${encodeURIComponent(id)}`);
  } catch (error) {
    box.innerHTML = `<p class="error">${escapeHtml(isNetworkError(error) ? t("common.offline") : error.message)}</p>
      <button class="secondary" type="button" id="trip-close">${escapeHtml(t("trip.leave"))}</button>`;
    $("#trip-close").onclick = () => {
      setManifest(null);
      renderTrip();
    };
    return;
  }
  const totals = m.totals || { containers: (m.containers || []).length, collection_weight_kg: 0, receipt_weight_kg: 0, received_containers: 0 };
  const signed = new Map((m.signatures || []).map((s) => [s.party, s]));
  const role = state.me.role;
  const receiving = role === "storage_operator" || role === "disposal_operator";
  const rows = (m.containers || [])
    .map((c) => {
      const missing = receiving && !c.received_at && m.state !== "open";
      const diff = c.receipt_weight_kg != null && c.collection_weight_kg != null ? c.receipt_weight_kg - c.collection_weight_kg : null;
      const flag = missing ? `<span class="status s-rejected">${escapeHtml(t("trip.missing"))}</span>` : diff !== null && Math.abs(diff) >= 0.2 ? `<span class="status s-warn">${diff > 0 ? "+" : ""}${diff.toFixed(1)} kg</span>` : "";
      return `<tr><td class="mono">${escapeHtml(c.short_code)}</td><td>${escapeHtml(t(`cat.${c.category}`))}</td><td>${c.collection_weight_kg ?? "–"}</td><td>${c.receipt_weight_kg ?? "–"}</td><td>${flag}</td></tr>`;
    })
    .join("");
  const parties = ["origin", "transporter", "destination"];
  const sigs = parties
    .map((p) => {
      const s = signed.get(p);
      return s
        ? `<li>✔ ${escapeHtml(t(`party.${p}`))}: <b>${escapeHtml(s.printed_name)}</b> <span class="muted">${escapeHtml(fmtTime(s.signed_at))}</span></li>`
        : `<li><button type="button" class="secondary sign" data-party="${p}">${escapeHtml(t("trip.signAs"))} ${escapeHtml(t(`party.${p}`))}</button></li>`;
    })
    .join("");
  const disc = m.discrepancies ? renderDiscrepancies(m.discrepancies) : "";
  box.innerHTML = `
    <div class="row"><div><div class="big mono">${escapeHtml(m.number)}</div>
      <div class="muted">${escapeHtml(orgName(m.origin))} → ${escapeHtml(orgName(m.destination))}</div>
      <div class="muted">${escapeHtml(m.vehicle_plate)}</div></div>
      <span class="pill">${escapeHtml(t(`mstate.${m.state}`))}</span></div>
    <div class="counters"><div><b data-testid="trip-count">${totals.containers}</b><span>${escapeHtml(t("trip.containers"))}</span></div>
      <div><b>${(+totals.collection_weight_kg || 0).toFixed(1)}</b><span>kg ${escapeHtml(t("trip.collected"))}</span></div>
      <div><b>${totals.received_containers}</b><span>${escapeHtml(t("trip.received"))}</span></div>
      <div><b>${(+totals.receipt_weight_kg || 0).toFixed(1)}</b><span>kg ${escapeHtml(t("trip.received"))}</span></div></div>
    ${disc}
    <table class="grid"><thead><tr><th>${escapeHtml(t("trip.code"))}</th><th>${escapeHtml(t("batch.category"))}</th><th>kg ↑</th><th>kg ↓</th><th></th></tr></thead><tbody>${rows}</tbody></table>
    <ul class="list sigs">${sigs}</ul>
    <div class="actions">
      <a class="button primary" href="#scan">${escapeHtml(t("trip.scanOnto"))}</a>
      <button type="button" class="secondary" id="trip-pdf">${escapeHtml(t("trip.pdf"))}</button>
      <button type="button" class="secondary" id="trip-close">${escapeHtml(t("trip.leave"))}</button>
    </div>`;
  for (const b of box.querySelectorAll("button.sign")) b.onclick = () => sign(m, b.dataset.party);
  $("#trip-pdf").onclick = () => openDocument(`/api/v1/manifests/${m.id}.pdf`, `${m.number}.pdf`).catch((e) => ($("#trip-error").textContent = e.message));
  $("#trip-close").onclick = () => {
    setManifest(null);
    renderTrip();
  };
}

function renderDiscrepancies(d) {
  const parts = [];
  const list = (v) => (Array.isArray(v) ? v.map((x) => (typeof x === "string" ? x : x.short_code || x.container_id || JSON.stringify(x))).join(", ") : String(v));
  for (const [key, value] of Object.entries(d)) {
    if (value == null || (Array.isArray(value) && !value.length)) continue;
    parts.push(`<li><b>${escapeHtml(t(`disc.${key}`) || key)}</b>: ${escapeHtml(typeof value === "object" && !Array.isArray(value) ? JSON.stringify(value) : list(value))}</li>`);
  }
  return parts.length ? `<div class="alert"><b>${escapeHtml(t("trip.discrepancies"))}</b><ul>${parts.join("")}</ul></div>` : `<div class="ok">${escapeHtml(t("trip.noDiscrepancies"))}</div>`;
}

function sign(m, party) {
  const dialog = $("#sign-dialog");
  $("#sign-title").textContent = `${t("trip.signAs")} ${t(`party.${party}`)} · ${m.number}`;
  $("#sign-name").value = "";
  dialog.returnValue = "";
  dialog.onclose = async () => {
    if (dialog.returnValue !== "ok") return;
    const name = $("#sign-name").value.trim();
    if (!name) return;
    try {
      await api(`/api/v1/manifests/${m.id}/sign`, { method: "POST", body: { party, printed_name: name } });
    } catch (error) {
      $("#trip-error").textContent = error.message;
    }
    renderTrip();
  };
  dialog.showModal();
}

let orgsCache = null;
async function organizations() {
  orgsCache ||= listAll("/api/v1/organizations").catch(() => []);
  return orgsCache;
}

async function fillTripForms() {
  const form = $("#trip-new-form");
  if (form.origin.options.length) return;
  const orgs = await organizations();
  const opt = (o) => `<option value="${o.id}">${escapeHtml(o.name)}</option>`;
  form.origin.innerHTML = orgs.filter((o) => o.kind === "hospital" || o.kind === "storage").map(opt).join("");
  form.destination.innerHTML = orgs.filter((o) => o.kind === "storage" || o.kind === "disposal").map(opt).join("");
}

async function loadTripList() {
  const list = $("#trip-list");
  try {
    const items = await listAll("/api/v1/manifests", 50);
    list.innerHTML = items
      .filter((m) => m.state !== "closed")
      .map((m) => `<li><button type="button" class="linkish" data-id="${m.id}"><b class="mono">${escapeHtml(m.number)}</b> ${escapeHtml(m.vehicle_plate)} · ${escapeHtml(t(`mstate.${m.state}`))}</button></li>`)
      .join("");
    for (const b of list.querySelectorAll("button[data-id]")) {
      b.onclick = () => {
        setManifest(b.dataset.id);
        $("#trip-open").open = false;
        renderTrip();
      };
    }
  } catch {
    list.innerHTML = "";
  }
}

$("#trip-open-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const id = e.target.id.value.trim();
  if (!id) return;
  setManifest(id);
  $("#trip-open").open = false;
  renderTrip();
});

$("#trip-new-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.target;
  try {
    const m = await api("/api/v1/manifests", {
      method: "POST",
      body: { origin_organization_id: form.origin.value, destination_organization_id: form.destination.value, vehicle_plate: form.plate.value.trim() },
    });
    setManifest(m.id);
    $("#trip-new").open = false;
    renderTrip();
  } catch (error) {
    $("#trip-error").textContent = isNetworkError(error) ? t("common.offline") : error.message;
  }
});

// ---------------------------------------------------------------- label batches

async function sitesOfMyOrg() {
  const org = state.me.organization;
  if (!org) return [];
  try {
    return await listAll(`/api/v1/organizations/${org.id}/sites`);
  } catch {
    // No site list route: the sites this organization's containers came from.
    const containers = await listAll(`/api/v1/containers?organization_id=${org.id}`, 2000).catch(() => []);
    return [...new Set(containers.map((c) => c.origin_site_id).filter(Boolean))].map((id) => ({ id, name: `${t("batch.site")} ${id.slice(0, 8)}` }));
  }
}

async function prepareBatch() {
  const form = $("#batch-form");
  if (!form.category.options.length) {
    form.category.innerHTML = CATEGORIES.map((c) => `<option value="${c}">${escapeHtml(t(`cat.${c}`))}</option>`).join("");
  }
  if (!form.site_id.options.length) {
    const sites = await sitesOfMyOrg();
    form.site_id.innerHTML = sites.map((s) => `<option value="${s.id}">${escapeHtml(s.name)}</option>`).join("");
  }
}

$("#batch-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.target;
  $("#batch-error").textContent = "";
  try {
    const body = {
      count: Number(form.count.value),
      category: form.category.value,
      site_id: form.site_id.value,
      epidemic: form.epidemic.checked,
    };
    if (form.department.value.trim()) body.department = form.department.value.trim();
    const made = await api("/api/v1/containers", { method: "POST", body });
    for (const c of made.containers) {
      await store.put("labels", { container_id: c.id, short_code: c.short_code, payload: c.qr_payload, container: c });
    }
    const box = $("#batch-result");
    box.hidden = false;
    box.innerHTML = `<p><b>${made.containers.length}</b> ${escapeHtml(t("batch.made"))}</p>
      <p class="mono small">${made.containers.map((c) => escapeHtml(c.short_code)).join(" · ")}</p>
      <button type="button" class="primary wide" id="batch-print">${escapeHtml(t("batch.print"))}</button>`;
    $("#batch-print").onclick = () =>
      openDocument(`/api/v1/labels/sheet.pdf?batch_id=${made.batch_id}`, `labels-${made.batch_id}.pdf`).catch((err) => ($("#batch-error").textContent = err.message));
  } catch (error) {
    $("#batch-error").textContent = isNetworkError(error) ? t("common.offline") : error.message;
  }
});

// ---------------------------------------------------------------- start

function fillSelects() {
  $("#af-method").innerHTML = METHODS.map((m) => `<option value="${m}">${escapeHtml(t(`method.${m}`))}</option>`).join("");
  $("#af-incident").innerHTML = INCIDENTS.map((m) => `<option value="${m}">${escapeHtml(t(`incident.${m}`))}</option>`).join("");
}

$("#lang").addEventListener("click", () => {
  setLang(lang() === "zh" ? "en" : "zh");
  refreshLanguage();
});

function refreshLanguage() {
  applyI18n(document);
  $("#lang").textContent = lang() === "zh" ? "EN" : "中文";
  document.title = t("app.title");
  fillSelects();
  $("#batch-form").category.innerHTML = "";
  route();
}

async function start() {
  initLang();
  refreshLanguage();
  renderNet();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("sw.js", { scope: "./" }).catch((e) => console.warn("service worker", e));
  }
  await loadMe();
  window.addEventListener("hashchange", route);
  route();
  await updateCount();
  if (state.me) {
    cacheLabelKeys();
    syncQueue();
  }
  document.body.dataset.ready = "1";
}

start();
