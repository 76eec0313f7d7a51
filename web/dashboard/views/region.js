// The region: the sites on a map, each organization's on-time rate (from its compliance
// report), weights per day, anomalies per day, time spent in each stage, and a table of the
// organizations.

import { api, escapeHtml as esc, listAll } from "../shared/api.js";
import { t } from "../shared/i18n.js";
import { dayKey } from "../shared/format.js";
import { $ } from "../shared/shell.js";
import * as charts from "../charts.js";
import { download, orgName, orgs } from "../common.js";

const KIND_COLOURS = { hospital: "#0b5d4b", transporter: "#3d6fb6", storage: "#7a4fa3", disposal: "#b3261e", regulator: "#5b6b66" };
const HOUR = 3600000;
const day = dayKey; // days start at midnight in the jurisdiction's zone

let region = null;

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

// Figures per day over the last 14 days and stays per stage, from the containers' chains.
function analyse(containers, chains, anomalies) {
  const days = [];
  const now = Date.now();
  for (let d = 13; d >= 0; d--) days.push(day(now - d * 24 * HOUR));
  const weights = { collected: days.map(() => 0), received: days.map(() => 0), disposed: days.map(() => 0) };
  const buckets = [6, 12, 24, 48, 96, Infinity];
  const dwell = {};
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
    });
  });
  const kinds = [...new Set(anomalies.map((a) => a.kind))];
  const anomalySeries = kinds.map((k, i) => ({
    label: t(`kind.${k}`),
    color: charts.PALETTE[i % charts.PALETTE.length],
    values: days.map((d) => anomalies.filter((a) => a.kind === k && day(a.detected_at) === d).length),
  }));
  return { days, weights, dwell, anomalySeries };
}

async function load() {
  if (region) return render();
  $("#region-note").textContent = t("common.loading");
  const containers = await listAll("/api/v1/containers", 400).catch(() => []);
  const chains = await pool(containers, 6, (c) => api(`/api/v1/containers/${c.id}/events`));
  const anomalies = await listAll("/api/v1/anomalies", 5000).catch(() => []);
  const reportOrgs = orgs.filter((o) => o.kind !== "regulator");
  const reports = await pool(reportOrgs, 4, (o) => api(`/api/v1/reports/compliance?organization_id=${o.id}&format=json`));
  const report = new Map(reportOrgs.map((o, i) => [o.id, reports[i]]).filter(([, r]) => r));
  const siteLists = await pool(orgs, 4, (org) => listAll(`/api/v1/organizations/${org.id}/sites`));
  const sites = orgs.flatMap((org, i) => (siteLists[i] || []).map((s) => ({ ...s, org })));
  region = { containers, anomalies, report, sites, ...analyse(containers, chains, anomalies) };
  render();
}

// The compliance report's on-time figure: all its rules together (late / total).
function reportOnTime(report) {
  if (!report || !Array.isArray(report.on_time)) return null;
  const total = report.on_time.reduce((n, r) => n + (r.total || 0), 0);
  const late = report.on_time.reduce((n, r) => n + (r.late || 0), 0);
  return total ? { ok: total - late, late } : null;
}

function render() {
  const r = region;
  $("#region-note").textContent = `${t("r.basis")} ${r.containers.length} ${t("r.containers")}, ${r.anomalies.length} ${t("r.anomalyCount")}.`;
  // Map: the sites, coloured by their organization's kind.
  // Many sites: a map across the page, each labelled with its organization only where room is.
  const pts = r.sites.map((s) => ({ lat: s.latitude, lon: s.longitude, label: `${s.org.name} · ${s.name}`, shortLabel: s.org.name, color: KIND_COLOURS[s.org.kind] || "#555" }));
  const kinds = ["hospital", "transporter", "storage", "disposal"].map((k) => ({ label: t(`okind.${k}`), color: KIND_COLOURS[k] }));
  const dense = pts.length > 60;
  $("#map").closest(".panel").classList.toggle("wide", dense);
  $("#map").innerHTML = charts.siteMap(pts, { label: t("r.map"), kinds, ...(dense ? { width: 1240, height: 620 } : {}) });
  const rows = [];
  for (const [id, rep] of r.report) {
    const v = reportOnTime(rep);
    if (v) rows.push({ label: orgName(id), value: v.ok / (v.ok + v.late), note: `${v.ok}/${v.ok + v.late}` });
  }
  $("#chart-ontime").innerHTML = rows.length ? charts.percentBars(rows, { label: t("r.ontime") }) : charts.empty(t("r.noData"));
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
  const r = region;
  return orgs
    .filter((o) => o.kind !== "regulator")
    .map((o) => {
      const rep = r.report.get(o.id) || null;
      const open = r.anomalies.filter((a) => a.organization_id === o.id && (a.status === "open" || a.status === "acknowledged"));
      const ot = reportOnTime(rep);
      return {
        org: o,
        containers: rep ? rep.containers : null,
        onTime: ot ? ot.ok / (ot.ok + ot.late) : null,
        open: open.length,
        critical: open.filter((a) => a.severity === "critical").length,
        expired: o.license_expires && new Date(o.license_expires) < new Date(),
        weights: rep ? rep.weights : null,
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
    rows.push([f.org.id, f.org.name, f.org.kind, f.org.jurisdiction, f.org.license_number, f.org.license_expires, f.containers, f.onTime == null ? "" : f.onTime.toFixed(3), w.collected_kg, w.received_kg, w.disposed_kg, f.open, f.critical]);
  }
  download(`region-${dayKey(Date.now())}.csv`, rows);
}

export default {
  name: "region",
  init() {
    $("#region-csv").addEventListener("click", exportCsv);
  },
  show: load,
};
