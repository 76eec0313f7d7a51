// The anomaly queue: counts by severity, filters, and acknowledging, resolving or dismissing an
// anomaly with a note.

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
];
const STATUSES = ["open", "acknowledged", "resolved", "dismissed"];

let anomalies = [];

export function fillFilters() {
  const f = $("#filters");
  const keep = Object.fromEntries(new FormData(f));
  const opts = (values, label, all) => `<option value="">${esc(all)}</option>` + values.map((v) => `<option value="${esc(v)}">${esc(label(v))}</option>`).join("");
  f.status.innerHTML = opts(STATUSES, (s) => t(`astatus.${s}`), t("f.any"));
  f.severity.innerHTML = opts(["critical", "warning", "info"], (s) => t(`sev.${s}`), t("f.any"));
  f.kind.innerHTML = opts(KINDS, (k) => t(`kind.${k}`), t("f.any"));
  f.organization_id.innerHTML = opts(orgs.filter((o) => o.kind !== "regulator").map((o) => o.id), orgName, t("f.any"));
  f.status.value = keep.status ?? "open";
  for (const k of ["severity", "kind", "organization_id"]) if (keep[k]) f[k].value = keep[k];
}

function filters() {
  return Object.fromEntries(new FormData($("#filters")));
}

async function fetchAnomalies(f) {
  const q = new URLSearchParams();
  for (const key of ["status", "kind", "severity", "organization_id"]) if (f[key]) q.set(key, f[key]);
  // The days of the filter are the jurisdiction's days.
  if (f.from) q.set("since", new Date(zoneInstant(f.from)).toISOString());
  const items = await listAll(`/api/v1/anomalies${q.toString() ? `?${q}` : ""}`, 2000);
  const until = f.to ? zoneInstant(f.to, 23, 59, 59, 999) : null;
  return items.filter((a) => !until || new Date(a.detected_at).getTime() <= until).sort(compareAnomalies);
}

async function load() {
  $("#anomaly-error").textContent = "";
  try {
    anomalies = await fetchAnomalies(filters());
    await loadManifestNumbers(anomalies.map((a) => a.manifest_id));
    render();
    await renderCounts();
  } catch (error) {
    $("#anomaly-error").textContent = errorText(error);
  }
}

function describeFacts(a) {
  const facts = a.facts || {};
  const bits = Object.entries(facts)
    .slice(0, 4)
    .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`);
  return [a.rule, a.threshold ? `(${a.threshold})` : "", bits.join("; ")].filter(Boolean).join(" ");
}

function render() {
  const body = $("#anomaly-table tbody");
  body.innerHTML = anomalies
    .map((a) => {
      const buttons = [];
      if (a.status === "open") buttons.push("acknowledge");
      if (a.status === "open" || a.status === "acknowledged") buttons.push("resolve", "dismiss");
      const subject = a.container_id
        ? `<a href="#chain?id=${encodeURIComponent(a.container_id)}" class="mono" data-testid="subject">${esc(subjectText(a))}</a>`
        : a.manifest_id
          ? `<button type="button" class="link mono" data-pdf="${esc(a.manifest_id)}" data-testid="subject">${esc(t("a.manifest"))} ${esc(subjectText(a))}</button>`
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
  $("#anomaly-empty").hidden = anomalies.length > 0;
  $("#updated").textContent = `${t("common.updated")} ${fmtTime(Date.now())}`;
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

function openStep(anomaly, step) {
  const dialog = $("#step-dialog");
  $("#step-title").textContent = `${t(`step.${step}`)} — ${t(`kind.${anomaly.kind}`)}`;
  $("#step-subject").textContent = `${orgName(anomaly.organization_id)} · ${subjectText(anomaly)}`;
  $("#step-note").value = "";
  dialog.returnValue = "";
  dialog.onclose = async () => {
    if (dialog.returnValue !== "ok") return;
    try {
      await api(`/api/v1/anomalies/${anomaly.id}/${step}`, { method: "POST", body: { note: $("#step-note").value.trim() } });
    } catch (error) {
      $("#anomaly-error").textContent = errorText(error);
    }
    load();
  };
  dialog.showModal();
  $("#step-note").focus();
}

function exportCsv() {
  const rows = [["id", "severity", "kind", "status", "organization", "container_id", "manifest_id", "detected_at", "rule", "threshold", "facts"]];
  for (const a of anomalies) rows.push([a.id, a.severity, a.kind, a.status, orgName(a.organization_id), a.container_id, a.manifest_id, a.detected_at, a.rule, a.threshold, a.facts]);
  download(`anomalies-${dayKey(Date.now())}.csv`, rows);
}

export default {
  name: "anomalies",
  init() {
    $("#filters").addEventListener("submit", (e) => {
      e.preventDefault();
      load();
    });
    $("#anomaly-table").addEventListener("click", (e) => {
      const pdf = e.target.closest("[data-pdf]");
      if (pdf) return openDocument(`/api/v1/manifests/${pdf.dataset.pdf}.pdf`).catch((err) => ($("#anomaly-error").textContent = errorText(err)));
      const button = e.target.closest("button[data-step]");
      if (!button) return;
      const row = button.closest("tr");
      openStep(anomalies.find((a) => String(a.id) === row.dataset.id), button.dataset.step);
    });
    $("#export-anomalies").addEventListener("click", exportCsv);
  },
  show: load,
  language: fillFilters,
  // A refresh every little while, unless the user is writing a note.
  poll() {
    if (!document.hidden && !$("#step-dialog").open) load();
  },
};
