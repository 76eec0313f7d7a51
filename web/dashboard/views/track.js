// A trip's track: the route the driver's phone recorded, its stops and the places the track
// rules flagged, drawn offline (no map tiles), with the anomalies listed below.

import { api, escapeHtml as esc, openDocument } from "../shared/api.js";
import { t } from "../shared/i18n.js";
import { errorText } from "../shared/problems.js";
import { $ } from "../shared/shell.js";
import { trackMap } from "../charts.js";
import { fmt } from "../common.js";

let current = null;

function render() {
  if (!current) return;
  const { manifest, geo, track } = current;
  const kinds = Object.fromEntries(track.anomalies.map((a) => [a.kind, t(`kind.${a.kind}`)]));
  const map = trackMap(geo, {
    label: t("tr.title"),
    names: { start: t("tr.start"), end: t("tr.end"), stop: t("tr.stop"), kinds },
  });
  const rows = track.anomalies
    .map((a) => `<tr data-kind="${esc(a.kind)}"><td><span class="sev sev-${esc(a.severity)}">${esc(t(`sev.${a.severity}`))}</span></td><td>${esc(t(`kind.${a.kind}`))}</td>
      <td class="nowrap">${esc(fmt(a.facts.from))}</td><td>${a.facts.minutes ?? "–"}</td>
      <td class="mono">${a.facts.latitude != null ? `${(+a.facts.latitude).toFixed(5)}, ${(+a.facts.longitude).toFixed(5)}` : "–"}</td>
      <td>${esc((a.facts.containers || []).length)}</td></tr>`)
    .join("");
  const first = track.points[0];
  const last = track.points[track.points.length - 1];
  $("#track").innerHTML = `
    <div class="panel"><div class="row"><div class="grow"><b class="mono">${esc(manifest.number)}</b>
      <span class="muted">${esc(manifest.vehicle_plate)}</span></div>
      <button type="button" class="ghost dark" data-pdf="${esc(manifest.id)}">PDF</button></div>
      <p class="muted" data-testid="track-summary">${esc(t("tr.summary", { n: track.points.length, stops: track.stops.length }))}${first ? ` · ${esc(fmt(first.recorded_at))} – ${esc(fmt(last.recorded_at))}` : ""}</p>
      <div class="map">${map}</div></div>
    <table class="grid" data-testid="track-anomalies"><thead><tr><th>${esc(t("f.severity"))}</th><th>${esc(t("f.kind"))}</th><th>${esc(t("tr.from"))}</th><th>min</th><th>${esc(t("tr.place"))}</th><th>${esc(t("tr.onboard"))}</th></tr></thead>
      <tbody>${rows || `<tr><td colspan="6" class="muted">${esc(t("tr.none"))}</td></tr>`}</tbody></table>`;
}

async function load(id) {
  $("#track-error").textContent = "";
  $("#track").innerHTML = `<p class="muted">${esc(t("common.loading"))}</p>`;
  try {
    const path = `/api/v1/manifests/${encodeURIComponent(id)}`;
    const [manifest, track, geo] = await Promise.all([api(path), api(`${path}/track`), api(`${path}/track.geojson`)]);
    current = { manifest, track, geo };
    render();
  } catch (error) {
    current = null;
    $("#track").innerHTML = "";
    $("#track-error").textContent = errorText(error);
  }
}

export default {
  name: "track",
  init() {
    $("#track").addEventListener("click", (e) => {
      const pdf = e.target.closest("[data-pdf]");
      if (pdf) openDocument(`/api/v1/manifests/${pdf.dataset.pdf}.pdf`).catch((err) => ($("#track-error").textContent = errorText(err)));
    });
  },
  // #track?manifest=<manifest id>
  show(params) {
    const id = params.get("manifest");
    if (id) load(id);
  },
  language() {
    render();
  },
};
