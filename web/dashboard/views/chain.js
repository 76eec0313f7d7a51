// A container's chain of custody: its events (hash chain verified by the server), its
// anomalies and the manifests it travelled on; printable and exportable.

import { api, ApiError, escapeHtml as esc, listAll, openDocument } from "../shared/api.js";
import { t } from "../shared/i18n.js";
import { normalizeShortCode } from "../shared/codes.js";
import { errorText } from "../shared/problems.js";
import { $ } from "../shared/shell.js";
import { compareAnomalies, download, fmt, orgName } from "../common.js";

let current = null;

async function findContainer(text) {
  const value = text.trim();
  const code = normalizeShortCode(value);
  if (code) {
    const page = await api(`/api/v1/containers?short_code=${encodeURIComponent(code)}`);
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
      listAll(`/api/v1/anomalies?container_id=${encodeURIComponent(container.id)}`, 1000).catch(() => []),
    ]);
    const manifestIds = [...new Set(chain.events.map((e) => e.manifest_id).filter(Boolean))];
    const manifests = await Promise.all(manifestIds.map((id) => api(`/api/v1/manifests/${id}`).catch(() => ({ id, number: "—" }))));
    // Site names for the timeline, from the sites of the organizations that scanned.
    const siteOrgs = [...new Set(chain.events.filter((e) => e.site_id).map((e) => e.actor_organization_id).filter(Boolean))];
    const siteLists = await Promise.all(siteOrgs.map((id) => listAll(`/api/v1/organizations/${id}/sites`).catch(() => [])));
    const sites = new Map(siteLists.flat().map((site) => [site.id, site.name]));
    current = { container, chain, anomalies, manifests, sites };
    renderChain();
  } catch (error) {
    box.innerHTML = "";
    $("#chain-error").textContent = error instanceof ApiError && error.status === 404 ? t("c.notFound") : errorText(error);
  }
}

function renderChain() {
  const { container: c, chain, anomalies, manifests, sites } = current;
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

function exportCsv() {
  if (!current) return;
  const rows = [["seq", "action", "from_state", "to_state", "organization", "occurred_at", "recorded_at", "weight_kg", "latitude", "longitude", "site_id", "manifest_id", "method", "incident", "note", "hash", "prev_hash"]];
  for (const e of current.chain.events) rows.push([e.seq, e.action, e.from_state, e.to_state, orgName(e.actor_organization_id), e.occurred_at, e.recorded_at, e.weight_kg, e.latitude, e.longitude, e.site_id, e.manifest_id, e.method, e.incident, e.note, e.hash, e.prev_hash]);
  download(`chain-${current.container.id}.csv`, rows);
}

export default {
  name: "chain",
  init() {
    $("#chain-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const id = e.target.id.value.trim();
      if (id) loadChain(id);
    });
    $("#chain").addEventListener("click", (e) => {
      const pdf = e.target.closest("[data-pdf]");
      if (pdf) openDocument(`/api/v1/manifests/${pdf.dataset.pdf}.pdf`).catch((err) => ($("#chain-error").textContent = errorText(err)));
    });
    $("#chain-print").addEventListener("click", () => window.print());
    $("#chain-csv").addEventListener("click", exportCsv);
  },
  // #chain?id=<container id or short code>
  show(params) {
    const id = params.get("id");
    if (id && (!current || current.container.id !== id)) {
      $("#chain-form").id.value = id;
      loadChain(id);
    }
  },
  language() {
    if (current) renderChain();
  },
};
