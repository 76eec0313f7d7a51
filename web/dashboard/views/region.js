// The region: the sites on a map, each organization's on-time rate, weights per day, anomalies
// per day and time spent in each stage, all computed by the server (GET /api/v1/reports/region,
// the same counting as each organization's compliance report): one request draws the view.

import { api, escapeHtml as esc } from "../shared/api.js";
import { t } from "../shared/i18n.js";
import { dayKey } from "../shared/format.js";
import { $ } from "../shared/shell.js";
import * as charts from "../charts.js";
import { download } from "../common.js";

const KIND_COLOURS = { hospital: "#0b5d4b", transporter: "#3d6fb6", storage: "#7a4fa3", disposal: "#b3261e", regulator: "#5b6b66" };

let region = null;

async function load() {
  if (region) return render();
  $("#region-note").textContent = t("common.loading");
  region = await api("/api/v1/reports/region");
  render();
}

// An organization's on-time figure: all its stages together (late / total).
function onTime(org) {
  const total = org.on_time.reduce((n, r) => n + r.total, 0);
  const late = org.on_time.reduce((n, r) => n + r.late, 0);
  return total ? { ok: total - late, late } : null;
}

// Bucket labels from the server's edges: "< 6 h", "6–12 h", ..., "> 168 h".
function bucketLabels(edges) {
  return [`< ${edges[0]} h`, ...edges.slice(1).map((e, i) => `${edges[i]}–${e} h`), `> ${edges[edges.length - 1]} h`];
}

function render() {
  const r = region;
  const anomalyCount = Object.values(r.anomalies_per_day).reduce((n, v) => n + v.reduce((a, b) => a + b, 0), 0);
  $("#region-note").textContent = `${t("r.basis")} ${r.containers} ${t("r.containers")} (${r.days[0]} – ${r.days[r.days.length - 1]}), ${anomalyCount} ${t("r.anomalyCount")}.`;
  fillMapChoice();
  renderMap();
  const rows = [];
  for (const org of r.organizations) {
    const v = onTime(org);
    if (v) rows.push({ label: org.name, value: v.ok / (v.ok + v.late), note: `${v.ok}/${v.ok + v.late}` });
  }
  $("#chart-ontime").innerHTML = rows.length ? charts.percentBars(rows, { label: t("r.ontime") }) : charts.empty(t("r.noData"));
  const w = r.weights_per_day;
  const series = [
    { label: t("r.collected"), color: "#0b5d4b", values: w.collected },
    { label: t("r.received"), color: "#3d6fb6", values: w.received },
    { label: t("r.disposed"), color: "#d98c00", values: w.disposed },
  ];
  $("#chart-weights").innerHTML = charts.groupedBars(r.days, series, { label: t("r.weights"), unit: "kg" });
  const anomalySeries = Object.entries(r.anomalies_per_day).map(([kind, values], i) => ({ label: t(`kind.${kind}`), color: charts.PALETTE[i % charts.PALETTE.length], values }));
  $("#chart-anomalies").innerHTML = anomalySeries.length ? charts.stackedBars(r.days, anomalySeries, { label: t("r.anomalies") }) : charts.empty(t("a.none"));
  // Two rows per stage, stays that ended and stays still going; red beyond the stage's limit.
  const stays = r.stages.flatMap((s) => {
    const limitIndex = s.limit_hours == null ? null : s.edges_hours.filter((e) => e <= s.limit_hours).length;
    return [
      { label: t(`stage.${s.stage}`), counts: s.ended, limitIndex },
      { label: `${t(`stage.${s.stage}`)} · ${t("r.ongoing")}`, counts: s.ongoing, limitIndex },
    ];
  });
  const any = stays.some((row) => row.counts.some((n) => n));
  $("#chart-dwell").innerHTML = any ? charts.histogramGrid(stays, bucketLabels(r.stages[0].edges_hours), { label: t("r.dwell") }) : charts.empty(t("r.noData"));
  renderOrgTable();
}

// The map's organization choice: every organization with sites, those with critical open
// anomalies first; "" shows them all alike.
function fillMapChoice() {
  const select = $("#map-org");
  const withSites = new Set(region.sites.map((s) => s.organization_id));
  const orgs = region.organizations
    .filter((o) => withSites.has(o.organization_id))
    .sort((a, b) => b.critical_open_anomalies - a.critical_open_anomalies || b.open_anomalies - a.open_anomalies || a.name.localeCompare(b.name));
  const kept = orgs.some((o) => o.organization_id === select.value) ? select.value : "";
  select.innerHTML = `<option value="">${esc(t("r.mapAll"))}</option>${orgs
    .map((o) => `<option value="${esc(o.organization_id)}">${esc(o.name)}${o.open_anomalies ? ` (${o.open_anomalies} ${esc(t("r.openShort"))})` : ""}</option>`)
    .join("")}`;
  select.value = kept;
}

// The sites, coloured by their organization's kind, ringed red where the organization has
// critical open anomalies; one organization's sites in focus and named when one is chosen.
// A dense region gets the page's width.
function renderMap() {
  const byId = new Map(region.organizations.map((o) => [o.organization_id, o]));
  const chosen = $("#map-org").value;
  const pts = region.sites.map((s) => {
    const org = byId.get(s.organization_id) || {};
    return {
      lat: s.latitude,
      lon: s.longitude,
      label: `${org.name} · ${s.name}`,
      shortLabel: org.name,
      siteLabel: s.name,
      color: KIND_COLOURS[org.kind] || "#555",
      org: s.organization_id,
      alert: org.critical_open_anomalies > 0,
      focus: s.organization_id === chosen,
    };
  });
  const kinds = ["hospital", "transporter", "storage", "disposal"].map((k) => ({ label: t(`okind.${k}`), color: KIND_COLOURS[k] }));
  if (pts.some((p) => p.alert)) kinds.push({ label: t("r.mapCritical"), color: "#eef4f2", ring: true });
  const dense = pts.length > 60;
  $("#map").closest(".panel").classList.toggle("wide", dense);
  $("#map").innerHTML = charts.siteMap(pts, { label: t("r.map"), kinds, ...(dense ? { width: 1240, height: 620 } : {}) });
}

function orgFigures() {
  return region.organizations.map((o) => {
    const ot = onTime(o);
    return {
      org: o,
      containers: o.containers,
      onTime: ot ? ot.ok / (ot.ok + ot.late) : null,
      open: o.open_anomalies,
      critical: o.critical_open_anomalies,
      expired: o.license_expires && new Date(o.license_expires) < new Date(),
      weights: o.weights,
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
      <td>${f.containers ?? "–"}</td><td>${f.onTime == null ? "–" : `${Math.round(f.onTime * 100)}%`}</td>
      <td>${kg(f.weights && f.weights.collected_kg)}</td><td>${kg(f.weights && f.weights.received_kg)}</td><td>${kg(f.weights && f.weights.disposed_kg)}</td>
      <td>${f.open}${f.critical ? ` <span class="sev sev-critical">${f.critical}</span>` : ""}</td></tr>`,
    )
    .join("");
}

function exportCsv() {
  if (!region) return;
  const rows = [["organization_id", "organization", "kind", "jurisdiction", "license_number", "license_expires", "containers", "on_time_rate", "collected_kg", "received_kg", "disposed_kg", "open_anomalies", "critical_open"]];
  for (const f of orgFigures()) {
    const w = f.weights || {};
    rows.push([f.org.organization_id, f.org.name, f.org.kind, f.org.jurisdiction, f.org.license_number, f.org.license_expires, f.containers, f.onTime == null ? "" : f.onTime.toFixed(3), w.collected_kg, w.received_kg, w.disposed_kg, f.open, f.critical]);
  }
  download(`region-${dayKey(Date.now())}.csv`, rows);
}

export default {
  name: "region",
  init() {
    $("#region-csv").addEventListener("click", exportCsv);
    $("#map-org").addEventListener("change", renderMap);
    // A click on a site puts its organization in focus (again: back to all).
    $("#map").addEventListener("click", (e) => {
      const site = e.target.closest("circle.site");
      if (!site) return;
      const select = $("#map-org");
      select.value = select.value === site.dataset.org ? "" : site.dataset.org;
      renderMap();
    });
  },
  show: load,
};
