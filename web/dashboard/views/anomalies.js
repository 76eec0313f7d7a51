// The anomaly queue: counts by severity, filters, grouping and pages; each anomaly opens to
// what it means and what to do, the rule and facts that made it fire and its handling
// history; one anomaly or several at once are acknowledged, resolved or dismissed with a note.

import { api, escapeHtml as esc, listAll, openDocument } from "../shared/api.js";
import { dayKey, fmtTime, zoneInstant } from "../shared/format.js";
import { t } from "../shared/i18n.js";
import { errorText } from "../shared/problems.js";
import { $ } from "../shared/shell.js";
import { compareAnomalies, download, fmt, loadManifestNumbers, orgName, orgs, subjectText } from "../common.js";

const KINDS = [
  "storage_overdue", "collection_interval_exceeded", "transit_overdue", "disposal_overdue", "manifest_unconfirmed",
  "weight_discrepancy", "count_discrepancy", "missing_step", "custody_mismatch", "scan_after_disposal",
  "impossible_travel", "forged_label", "geofence_violation", "unlicensed_receiver", "clock_skew",
  "unscheduled_stop", "route_deviation", "track_gap", "cross_border",
];
// What a trip's track revealed: the anomaly links to the track on the map.
const TRACK_KINDS = new Set(["unscheduled_stop", "route_deviation", "track_gap", "cross_border"]);
const STATUSES = ["open", "acknowledged", "resolved", "dismissed"];
const SEVERITY_RANK = { critical: 3, warning: 2, info: 1 };
const PAGE_SIZE = 50;
// Which steps an anomaly in each status may take.
const STEPS = { open: ["acknowledge", "resolve", "dismiss"], acknowledged: ["resolve", "dismiss"] };

let anomalies = [];
let page = 0;
const picked = new Set(); // ids ticked for a step on several at once
const open = new Set(); // ids whose details are shown
const details = new Map(); // id -> the anomaly with its steps, once fetched

export function fillFilters() {
  const f = $("#filters");
  const keep = Object.fromEntries(new FormData(f));
  const opts = (values, label, all) => `<option value="">${esc(all)}</option>` + values.map((v) => `<option value="${esc(v)}">${esc(label(v))}</option>`).join("");
  f.status.innerHTML = opts(STATUSES, (s) => t(`astatus.${s}`), t("f.any"));
  f.severity.innerHTML = opts(["critical", "warning", "info"], (s) => t(`sev.${s}`), t("f.any"));
  f.kind.innerHTML = opts(KINDS, (k) => t(`kind.${k}`), t("f.any"));
  f.organization_id.innerHTML = opts(orgs.filter((o) => o.kind !== "regulator").map((o) => o.id), orgName, t("f.any"));
  f.group.innerHTML = ["", "kind", "organization", "manifest"].map((g) => `<option value="${g}">${esc(t(`g.${g || "none"}`))}</option>`).join("");
  $("#pick-page").title = t("a.pickPage");
  f.status.value = keep.status ?? "open";
  for (const k of ["severity", "kind", "organization_id", "group"]) if (keep[k]) f[k].value = keep[k];
}

function filters() {
  return Object.fromEntries(new FormData($("#filters")));
}

async function fetchAnomalies(f) {
  const q = new URLSearchParams();
  for (const key of ["status", "kind", "severity", "organization_id"]) if (f[key]) q.set(key, f[key]);
  // The days of the filter are the jurisdiction's days.
  if (f.from) q.set("since", new Date(zoneInstant(f.from)).toISOString());
  const items = await listAll(`/api/v1/anomalies${q.toString() ? `?${q}` : ""}`, 5000);
  const until = f.to ? zoneInstant(f.to, 23, 59, 59, 999) : null;
  return items.filter((a) => !until || new Date(a.detected_at).getTime() <= until);
}

async function load() {
  $("#anomaly-error").textContent = "";
  try {
    anomalies = await fetchAnomalies(filters());
    const ids = new Set(anomalies.map((a) => String(a.id)));
    for (const id of [...picked]) if (!ids.has(id)) picked.delete(id);
    page = Math.min(page, Math.max(0, Math.ceil(anomalies.length / PAGE_SIZE) - 1));
    await loadManifestNumbers(anomalies.map((a) => a.manifest_id));
    render();
    await renderCounts();
  } catch (error) {
    $("#anomaly-error").textContent = errorText(error);
  }
}

// The group an anomaly falls in, as [key, label]; one group for all when not grouping.
function groupOf(a, by) {
  if (by === "kind") return [a.kind, t(`kind.${a.kind}`)];
  if (by === "organization") return [String(a.organization_id), orgName(a.organization_id)];
  if (by === "manifest") return a.manifest_id ? [String(a.manifest_id), `${t("a.manifest")} ${subjectText({ manifest_id: a.manifest_id })}`] : ["", t("g.noManifest")];
  return ["", ""];
}

// Grouped (worst group first), then most severe and most recent first within a group.
function ordered(by) {
  if (!by) return [...anomalies].sort(compareAnomalies);
  const groups = new Map();
  for (const a of anomalies) {
    const [key] = groupOf(a, by);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(a);
  }
  const worst = (list) => Math.max(...list.map((a) => SEVERITY_RANK[a.severity] || 0));
  return [...groups.values()].sort((x, y) => worst(y) - worst(x) || y.length - x.length).flatMap((list) => list.sort(compareAnomalies));
}

// A list of plain values (a late trip's bags by short code) reads as a list; anything else
// structured as JSON.
function factText(value) {
  const plain = (v) => v === null || typeof v !== "object";
  if (Array.isArray(value) && value.every(plain)) return value.join(", ");
  return plain(value) ? value : JSON.stringify(value);
}

function describeFacts(a) {
  const facts = a.facts || {};
  const bits = Object.entries(facts)
    .slice(0, 4)
    .map(([k, v]) => `${k}: ${factText(v)}`);
  return [a.threshold ? `(${a.threshold})` : "", bits.join("; ")].filter(Boolean).join(" ");
}

function row(a) {
  const id = String(a.id);
  const buttons = STEPS[a.status] || [];
  const subject = a.container_id
    ? `<a href="#chain?id=${encodeURIComponent(a.container_id)}" class="mono" data-testid="subject">${esc(subjectText(a))}</a>`
    : a.manifest_id
      ? `<button type="button" class="link mono" data-pdf="${esc(a.manifest_id)}" data-testid="subject">${esc(t("a.manifest"))} ${esc(subjectText(a))}</button>${
          TRACK_KINDS.has(a.kind) ? ` <a href="#track?manifest=${encodeURIComponent(a.manifest_id)}" class="small" data-testid="track-link">${esc(t("tr.show"))}</a>` : ""
        }`
      : "–";
  return `<tr data-id="${esc(id)}" data-severity="${esc(a.severity)}" data-status="${esc(a.status)}">
    <td><input type="checkbox" class="pick" aria-label="${esc(t("a.pick"))}" ${picked.has(id) ? "checked" : ""} ${buttons.length ? "" : "disabled"}></td>
    <td><span class="sev sev-${esc(a.severity)}">${esc(t(`sev.${a.severity}`))}</span></td>
    <td><button type="button" class="link more" aria-expanded="${open.has(id)}">${open.has(id) ? "▾" : "▸"} ${esc(t(`kind.${a.kind}`))}</button></td>
    <td class="org">${esc(orgName(a.organization_id))}</td>
    <td>${subject}</td>
    <td class="nowrap">${esc(fmt(a.detected_at))}</td>
    <td class="facts" title="${esc(describeFacts(a))}">${esc(describeFacts(a))}</td>
    <td><span class="st st-${esc(a.status)}">${esc(t(`astatus.${a.status}`))}</span></td>
    <td class="nowrap">${buttons.map((b) => `<button type="button" class="small ${b === "resolve" ? "primary" : "ghost dark"}" data-step="${b}">${esc(t(`step.${b}`))}</button>`).join(" ")}</td>
  </tr>${open.has(id) ? detailRow(a) : ""}`;
}

// What the anomaly means and what to do, the rule and facts, and who did what with it.
function detailRow(a) {
  const full = details.get(String(a.id));
  const facts = Object.entries(a.facts || {})
    .map(([k, v]) => `<li><span class="mono">${esc(k)}</span>: ${esc(factText(v))}</li>`)
    .join("");
  const history = full
    ? full.steps.length
      ? full.steps
          .map((s) => `<li>${esc(fmt(s.at))} · ${esc(t(`astatus.${s.from_status}`))} → <b>${esc(t(`astatus.${s.to_status}`))}</b>${s.note ? ` · ${esc(s.note)}` : ""}</li>`)
          .join("")
      : `<li class="muted">${esc(t("a.noSteps"))}</li>`
    : `<li class="muted">${esc(t("common.loading"))}</li>`;
  return `<tr class="detail" data-detail="${esc(a.id)}"><td></td><td colspan="8"><div class="explain">
    <p><b>${esc(t("a.meaning"))}:</b> ${esc(t(`meaning.${a.kind}`))}</p>
    <p><b>${esc(t("a.todo"))}:</b> ${esc(t(`act.${a.kind}`))}</p>
    <p class="muted small"><b>${esc(t("a.rule"))}:</b> ${esc(a.rule)} · ${esc(a.threshold)}</p>
    ${facts ? `<ul class="plain small facts-list">${facts}</ul>` : ""}
    <h3>${esc(t("a.history"))}</h3><ul class="plain history" data-testid="history">${history}</ul></div></td></tr>`;
}

function render() {
  const by = filters().group || "";
  const rows = ordered(by);
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
  const shown = rows.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
  const counts = new Map();
  for (const a of rows) counts.set(groupOf(a, by)[0], (counts.get(groupOf(a, by)[0]) || 0) + 1);
  let last = null;
  let html = "";
  for (const a of shown) {
    const [key, label] = groupOf(a, by);
    if (by && key !== last) html += `<tr class="group"><td colspan="9">${esc(label)} <span class="muted">(${counts.get(key)})</span></td></tr>`;
    last = key;
    html += row(a);
  }
  $("#anomaly-table tbody").innerHTML = html;
  $("#pick-page").checked = shown.length > 0 && shown.every((a) => picked.has(String(a.id)));
  $("#anomaly-empty").hidden = rows.length > 0;
  $("#pager").hidden = pages < 2;
  $("#pager-text").textContent = t("a.rows", { from: rows.length ? page * PAGE_SIZE + 1 : 0, to: page * PAGE_SIZE + shown.length, n: rows.length });
  $("#pager-prev").disabled = page === 0;
  $("#pager-next").disabled = page >= pages - 1;
  renderBulk();
  $("#updated").textContent = `${t("common.updated")} ${fmtTime(Date.now())}`;
}

function renderBulk() {
  $("#bulk").hidden = picked.size === 0;
  $("#bulk-count").textContent = t("a.picked", { n: picked.size });
}

async function renderCounts() {
  let openOnes = [];
  let acknowledged = [];
  try {
    [openOnes, acknowledged] = await Promise.all([listAll("/api/v1/anomalies?status=open", 5000), listAll("/api/v1/anomalies?status=acknowledged", 5000)]);
  } catch {
    return;
  }
  const chip = (n, label, cls, testid) => `<div class="count ${cls}" data-testid="${testid}"><b>${n}</b><span>${esc(label)}</span></div>`;
  const by = (sev) => openOnes.filter((a) => a.severity === sev).length;
  $("#counts").innerHTML =
    chip(by("critical"), `${t("astatus.open")} · ${t("sev.critical")}`, "c-critical", "count-critical") +
    chip(by("warning"), `${t("astatus.open")} · ${t("sev.warning")}`, "c-warning", "count-warning") +
    chip(by("info"), `${t("astatus.open")} · ${t("sev.info")}`, "c-info", "count-info") +
    chip(acknowledged.length, t("astatus.acknowledged"), "c-ack", "count-acknowledged");
}

async function toggleDetails(id) {
  if (open.has(id)) open.delete(id);
  else open.add(id);
  render();
  if (!open.has(id)) return;
  try {
    details.set(id, await api(`/api/v1/anomalies/${id}`));
  } catch (error) {
    $("#anomaly-error").textContent = errorText(error);
  }
  render();
}

// One step (acknowledge, resolve, dismiss) on one anomaly or on several, with one note.
function openStep(targets, step) {
  const dialog = $("#step-dialog");
  const kinds = [...new Set(targets.map((a) => t(`kind.${a.kind}`)))];
  $("#step-title").textContent = `${t(`step.${step}`)} — ${targets.length === 1 ? kinds[0] : t("a.picked", { n: targets.length })}`;
  $("#step-subject").textContent = targets.length === 1 ? `${orgName(targets[0].organization_id)} · ${subjectText(targets[0])}` : kinds.join(", ");
  $("#step-note").value = "";
  dialog.returnValue = "";
  dialog.onclose = async () => {
    if (dialog.returnValue !== "ok") return;
    const note = $("#step-note").value.trim();
    const failed = [];
    for (const a of targets) {
      if (!(STEPS[a.status] || []).includes(step)) continue;
      try {
        const updated = await api(`/api/v1/anomalies/${a.id}/${step}`, { method: "POST", body: { note } });
        details.set(String(a.id), updated);
        picked.delete(String(a.id));
      } catch (error) {
        failed.push(`${subjectText(a)}: ${errorText(error)}`);
      }
    }
    $("#anomaly-error").textContent = failed.join(" · ");
    load();
  };
  dialog.showModal();
  $("#step-note").focus();
}

function exportCsv() {
  const rows = [["id", "severity", "kind", "status", "organization", "container", "manifest", "detected_at", "rule", "threshold", "facts"]];
  for (const a of anomalies) rows.push([a.id, a.severity, a.kind, a.status, orgName(a.organization_id), a.container_id ? subjectText(a) : "", a.manifest_id ? subjectText({ manifest_id: a.manifest_id }) : "", a.detected_at, a.rule, a.threshold, a.facts]);
  download(`anomalies-${dayKey(Date.now())}.csv`, rows);
}

export default {
  name: "anomalies",
  init() {
    $("#filters").addEventListener("submit", (e) => {
      e.preventDefault();
      page = 0;
      load();
    });
    $("#filters").group.addEventListener("change", () => {
      page = 0;
      render();
    });
    $("#anomaly-table").addEventListener("click", (e) => {
      const pdf = e.target.closest("[data-pdf]");
      if (pdf) return openDocument(`/api/v1/manifests/${pdf.dataset.pdf}.pdf`).catch((err) => ($("#anomaly-error").textContent = errorText(err)));
      const tr = e.target.closest("tr[data-id]");
      if (!tr) return;
      const id = tr.dataset.id;
      if (e.target.closest("button.more")) return toggleDetails(id);
      const pick = e.target.closest("input.pick");
      if (pick) {
        if (pick.checked) picked.add(id);
        else picked.delete(id);
        return renderBulk();
      }
      const button = e.target.closest("button[data-step]");
      if (button) openStep([anomalies.find((a) => String(a.id) === id)], button.dataset.step);
    });
    // Tick every anomaly of this page that can still take a step.
    $("#pick-page").addEventListener("change", (e) => {
      for (const tr of document.querySelectorAll("#anomaly-table tbody tr[data-id]")) {
        if (tr.querySelector("input.pick:disabled")) continue;
        if (e.target.checked) picked.add(tr.dataset.id);
        else picked.delete(tr.dataset.id);
      }
      render();
    });
    $("#bulk").addEventListener("click", (e) => {
      const button = e.target.closest("button[data-step]");
      if (!button) return;
      if (button.dataset.step === "clear") {
        picked.clear();
        return render();
      }
      openStep(anomalies.filter((a) => picked.has(String(a.id))), button.dataset.step);
    });
    $("#pager-prev").addEventListener("click", () => {
      page = Math.max(0, page - 1);
      render();
    });
    $("#pager-next").addEventListener("click", () => {
      page += 1;
      render();
    });
    $("#export-anomalies").addEventListener("click", exportCsv);
  },
  show: load,
  language: () => {
    fillFilters();
    if (anomalies.length) render();
  },
  // A refresh every little while, unless the user is writing a note.
  poll() {
    if (!document.hidden && !$("#step-dialog").open) load();
  },
};
