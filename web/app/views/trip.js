// Trip: the transfer manifest this phone works on (its containers, weights, discrepancies and
// signatures), opening another one, starting a new one.

import { api, escapeHtml, listAll, openDocument } from "../shared/api.js";
import { fmtDateTime } from "../shared/format.js";
import { t } from "../shared/i18n.js";
import { discrepancyHtml } from "../shared/discrepancies.js";
import { errorText } from "../shared/problems.js";
import { $ } from "../shared/shell.js";
import * as bulk from "../bulk.js";
import { onResult } from "../outbox.js";
import { manifestId, rememberTrip, setManifest, tripAction } from "../phone.js";

let shell;
let refreshAfterSync = false; // a "receive all" or "dispose all" is on its way

function orgName(party) {
  return party ? party.name : "";
}

async function render() {
  $("#trip-error").textContent = "";
  fillNewTripForm();
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
    box.innerHTML = `<p class="error">${escapeHtml(errorText(error))}</p>
      <button class="secondary" type="button" id="trip-close">${escapeHtml(t("trip.leave"))}</button>`;
    $("#trip-close").onclick = () => {
      setManifest(null);
      render();
    };
    return;
  }
  rememberTrip(m);
  const totals = m.totals;
  const signed = new Map((m.signatures || []).map((s) => [s.party, s]));
  const role = shell.role;
  const receiving = role === "storage_operator" || role === "disposal_operator";
  const rows = (m.containers || [])
    .map((c) => {
      const missing = receiving && !c.received_at && m.state !== "open";
      const diff = c.receipt_weight_kg != null && c.collection_weight_kg != null ? c.receipt_weight_kg - c.collection_weight_kg : null;
      const flag = missing ? `<span class="status s-rejected">${escapeHtml(t("trip.missing"))}</span>` : diff !== null && Math.abs(diff) >= 0.2 ? `<span class="status s-warn">${diff > 0 ? "+" : ""}${diff.toFixed(1)} kg</span>` : "";
      return `<tr><td class="mono">${escapeHtml(c.short_code)}</td><td>${escapeHtml(t(`cat.${c.category}`))}</td><td>${c.collection_weight_kg ?? "–"}</td><td>${c.receipt_weight_kg ?? "–"}</td><td>${flag}</td></tr>`;
    })
    .join("");
  // Each party's signature, and a button only for the party the user's organization is.
  const myOrg = shell.me.organization ? shell.me.organization.id : null;
  const sigs = ["origin", "transporter", "destination"]
    .map((p) => {
      const s = signed.get(p);
      if (s) return `<li>✔ ${escapeHtml(t(`party.${p}`))}: <b>${escapeHtml(s.printed_name)}</b> <span class="muted">${escapeHtml(fmtDateTime(s.signed_at))}</span></li>`;
      if (m[`${p}_organization_id`] === myOrg) return `<li><button type="button" class="secondary sign" data-party="${p}">${escapeHtml(t("trip.signAs"))} ${escapeHtml(t(`party.${p}`))}</button></li>`;
      return `<li class="muted">${escapeHtml(t("trip.notSigned", { party: t(`party.${p}`) }))}: ${escapeHtml(orgName(m[p]))}</li>`;
    })
    .join("");
  const disc = m.discrepancies ? discrepancyHtml(m.discrepancies, m.containers) : "";
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
    ${bulk.html(m, shell.me)}
    <p id="trip-bulk-status" class="muted" aria-live="polite"></p>
    <ul class="list sigs">${sigs}</ul>
    <div class="actions">
      <a class="button primary" id="trip-scan-link" href="${tripAction(m, shell.me) ? "#scan?trip=go" : "#scan"}">${escapeHtml(t("trip.scanOnto"))}</a>
      <button type="button" class="secondary" id="trip-pdf">${escapeHtml(t("trip.pdf"))}</button>
      <button type="button" class="secondary" id="trip-close">${escapeHtml(t("trip.leave"))}</button>
    </div>`;
  for (const b of box.querySelectorAll("button.sign")) b.onclick = () => sign(m, b.dataset.party);
  bulk.bind(box, m, shell.me, (text) => {
    $("#trip-bulk-status").textContent = text;
    refreshAfterSync = true;
  });
  $("#trip-pdf").onclick = () => openDocument(`/api/v1/manifests/${m.id}.pdf`, `${m.number}.pdf`).catch((e) => ($("#trip-error").textContent = errorText(e)));
  $("#trip-close").onclick = () => {
    setManifest(null);
    render();
  };
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
    let refused = null;
    try {
      await api(`/api/v1/manifests/${m.id}/sign`, { method: "POST", body: { party, printed_name: name } });
    } catch (error) {
      refused = errorText(error);
    }
    await render();
    // After the trip is shown again (which clears old messages), so that the refusal stays.
    if (refused) $("#trip-error").textContent = refused;
  };
  dialog.showModal();
}

let orgsCache = null;
function organizations() {
  orgsCache ||= listAll("/api/v1/organizations").catch(() => []);
  return orgsCache;
}

// The vehicle and the driver's papers change rarely: the phone offers the last ones used.
const PAPERS_KEY = "medwaste.trip.papers";

function lastPapers() {
  try {
    return JSON.parse(localStorage.getItem(PAPERS_KEY)) || {};
  } catch {
    return {};
  }
}

async function fillNewTripForm() {
  const form = $("#trip-new-form");
  if (form.origin.options.length) return;
  const papers = lastPapers();
  form.plate.value = papers.plate || "";
  form.licence.value = papers.licence || "";
  form.permit.value = papers.permit || "";
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
        render();
      };
    }
  } catch {
    list.innerHTML = "";
  }
}

export default {
  name: "trip",
  init(s) {
    shell = s;
    // Once the bags of a "receive all" or "dispose all" have been answered, show the trip anew.
    onResult((result) => {
      if (result || !refreshAfterSync || $("#view-trip").hidden) return;
      refreshAfterSync = false;
      render();
    });
    // A manifest number as printed (or, from an integrator, its id).
    $("#trip-open-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const text = e.target.number.value.replace(/\s/g, "");
      if (!text) return;
      $("#trip-error").textContent = "";
      let id = /^[0-9a-f-]{36}$/i.test(text) ? text : null;
      if (!id) {
        try {
          const found = (await listAll("/api/v1/manifests", 2000)).find((m) => m.number === text);
          id = found ? found.id : null;
        } catch (error) {
          $("#trip-error").textContent = errorText(error);
          return;
        }
      }
      if (!id) {
        $("#trip-error").textContent = t("trip.noSuchNumber");
        return;
      }
      setManifest(id);
      $("#trip-open").open = false;
      render();
    });
    $("#trip-new-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const form = e.target;
      const papers = { plate: form.plate.value.trim(), licence: form.licence.value.trim(), permit: form.permit.value.trim() };
      const body = { origin_organization_id: form.origin.value, destination_organization_id: form.destination.value, vehicle_plate: papers.plate };
      if (papers.licence) body.driver_licence_number = papers.licence;
      if (papers.permit) body.transport_permit_number = papers.permit;
      try {
        const m = await api("/api/v1/manifests", { method: "POST", body });
        localStorage.setItem(PAPERS_KEY, JSON.stringify(papers));
        setManifest(m.id);
        $("#trip-new").open = false;
        render();
      } catch (error) {
        $("#trip-error").textContent = errorText(error);
      }
    });
  },
  show: render,
};
