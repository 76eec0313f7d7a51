// Scan: read a label (camera or typed code), see what it is, record a custody action on it.
// The scan is queued on the phone first and sent from the queue, so it works offline.

import { escapeHtml, rfc3339, uuid } from "../shared/api.js";
import { fmtDateTime } from "../shared/format.js";
import { t } from "../shared/i18n.js";
import { normalizeShortCode, shortCodeOf } from "../shared/codes.js";
import { errorText } from "../shared/problems.js";
import { $ } from "../shared/shell.js";
import { codeOnly, lookupCode, resolve } from "../labels.js";
import { vocabulary, weightRequired } from "../vocabulary.js";
import { anomalyNotes } from "../explain.js";
import { enqueue, onResult, reason, syncQueue } from "../outbox.js";
import { currentTrip, deviceId, setManifest, tripAction, tripLabel } from "../phone.js";
import { Scanner } from "../scanner.js";
import { scanPosition } from "../geo.js";
import * as tripscan from "../tripscan.js";

// Actions that may carry a weight without requiring one: asked only if the user wants to.
const WEIGHT_OPTIONAL = new Set(["pickup", "inspect"]);
// The actions a scan is rarely for: never chosen for the user.
const SIDE_ACTIONS = new Set(["inspect", "report_incident"]);

let shell;
let scanner;
const state = { resolved: null, action: null, position: null };

async function handleCode(text) {
  $("#scan-error").textContent = "";
  $("#scan-outcome").hidden = true;
  $("#action-form").hidden = true;
  try {
    let payload = text.trim();
    if (!payload.startsWith("MW1.")) {
      const code = normalizeShortCode(payload);
      if (!code) throw new Error(t("scan.notALabel"));
      payload = (await lookupCode(code)).payload;
      // Offline and never seen on this phone: saved by its code, looked up when online.
      if (!payload) return renderResolved(codeOnly(code, shell.role));
    }
    renderResolved(await resolve(payload, shell.role));
  } catch (error) {
    $("#scan-error").textContent = errorText(error);
  }
}

// The code printed under the bag's QR label, however the phone knows the bag.
function shortCodeFor(info) {
  return info.container ? info.container.short_code : info.code || shortCodeOf(info.container_id);
}

function renderResolved(info) {
  state.resolved = info;
  const c = info.container;
  $("#resolved").hidden = false;
  $("#r-code").textContent = shortCodeFor(info);
  $("#r-what").textContent = c ? `${t(`cat.${c.category}`)} · ${c.department || ""}` : t(info.code ? "scan.notSeenOffline" : "scan.unknownContainer");
  const verdict = $("#r-label");
  verdict.dataset.verdict = info.label;
  verdict.textContent = t(`label.${info.label}`);
  const facts = [];
  if (c) {
    facts.push([t("scan.state"), t(`state.${c.state}`)]);
    facts.push([t("scan.since"), fmtDateTime(c.state_since)]);
    if (c.epidemic) facts.push([t("batch.epidemic"), "✔"]);
  }
  if (info.offline) facts.push([t("common.network"), t("common.offlineShort")]);
  if (info.error) facts.push([t("common.note"), info.error]);
  $("#r-facts").innerHTML = facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join("");
  const actions = info.payload || info.code ? info.actions : [];
  $("#r-actions").innerHTML = actions.length
    ? actions.map((a) => `<button type="button" class="action" data-action="${escapeHtml(a)}">${escapeHtml(t(`action.${a}`))}</button>`).join("")
    : `<p class="muted">${escapeHtml(t("scan.noActions"))}</p>`;
  $("#resolved").scrollIntoView({ block: "start" });
  const preselected = likelyAction(actions);
  if (preselected) chooseAction(preselected);
}

// The action the user almost certainly means: the current trip's, else the only one that is
// not an inspection or an incident report. null when there is a real choice.
function likelyAction(actions) {
  const tripped = tripAction(currentTrip(), shell.me);
  if (tripped && actions.includes(tripped)) return tripped;
  const main = actions.filter((a) => !SIDE_ACTIONS.has(a));
  return main.length === 1 ? main[0] : null;
}

// The disposal methods and incidents, in the user's language, as the server names them.
function fillChoices() {
  const words = vocabulary();
  $("#af-method").innerHTML = words.disposal_methods.map((m) => `<option value="${m}">${escapeHtml(t(`method.${m}`))}</option>`).join("");
  $("#af-incident").innerHTML = words.incidents.map((m) => `<option value="${m}">${escapeHtml(t(`incident.${m}`))}</option>`).join("");
}

function chooseAction(action) {
  state.action = action;
  if (!$("#af-method").options.length) fillChoices();
  $("#af-title").textContent = t(`action.${action}`);
  for (const b of document.querySelectorAll("#r-actions button[data-action]")) b.classList.toggle("chosen", b.dataset.action === action);
  $("#af-weight-row").hidden = !weightRequired(action);
  $("#af-weight-add").hidden = !WEIGHT_OPTIONAL.has(action);
  $("#af-weight").required = weightRequired(action);
  $("#af-weight").value = "";
  $("#af-method-row").hidden = action !== "dispose";
  $("#af-method").required = action === "dispose";
  $("#af-incident-row").hidden = action !== "report_incident";
  $("#af-incident").required = action === "report_incident";
  $("#af-note").value = "";
  const trip = currentTrip();
  const mid = trip ? trip.id : null;
  const open = (state.resolved && state.resolved.openManifests) || [];
  const select = $("#af-manifest-select");
  select.innerHTML = open.map((m) => `<option value="${escapeHtml(m.id)}">${escapeHtml(m.number)} · ${escapeHtml(m.vehicle_plate)}</option>`).join("");
  if (mid && !open.some((m) => m.id === mid)) select.insertAdjacentHTML("afterbegin", `<option value="${escapeHtml(mid)}">${escapeHtml(t("trip.current"))} ${escapeHtml(tripLabel(trip))}</option>`);
  if (mid) select.value = mid;
  $("#af-manifest-row").hidden = action !== "pickup";
  select.required = action === "pickup";
  $("#af-manifest").textContent = mid && action === "receive" ? `${t("trip.current")}: ${tripLabel(trip)}` : "";
  $("#action-form").hidden = false;
  locate();
  // The keyboard opens only where a weight is required.
  (weightRequired(action) ? $("#af-weight") : $("#af-submit")).focus();
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
      state.position = scanPosition(pos);
      line.textContent = `${t("gps.at")} ${state.position.latitude}, ${state.position.longitude} (±${Math.round(pos.coords.accuracy)} m)`;
    },
    () => (line.textContent = t("gps.none")),
    { enableHighAccuracy: true, timeout: 8000, maximumAge: 60000 },
  );
}

async function submitAction(e) {
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
    action,
    client_event_id: uuid(),
    scanned_at: rfc3339(),
    device_id: deviceId(),
  };
  if (weight !== null && (weightRequired(action) || WEIGHT_OPTIONAL.has(action))) scan.weight_kg = weight;
  if (state.position) Object.assign(scan, state.position);
  if (action === "dispose") scan.method = $("#af-method").value;
  if (action === "report_incident") scan.incident = $("#af-incident").value;
  const note = $("#af-note").value.trim();
  if (note) scan.note = note;
  if (action === "pickup" && $("#af-manifest-select").value) {
    scan.manifest_id = $("#af-manifest-select").value;
    setManifest(scan.manifest_id);
  }
  // A bag known only by its typed code is saved by that code and looked up when online.
  if (info.payload) scan.qr_payload = info.payload;
  const shortCode = shortCodeFor(info);
  await enqueue(scan, shortCode, info.payload ? null : info.code);
  $("#action-form").hidden = true;
  $("#resolved").hidden = true;
  const outcome = $("#scan-outcome");
  outcome.hidden = false;
  outcome.dataset.status = "queued";
  outcome.dataset.id = scan.client_event_id;
  const saved = !info.payload ? "queue.byCode" : navigator.onLine ? "queue.queued" : "queue.savedOffline";
  outcome.innerHTML = `<b>${escapeHtml(t(`action.${action}`))}</b> · ${escapeHtml(shortCode)}<br>${escapeHtml(t(saved))}`;
  syncQueue();
}

// The server's answer for the scan this view is showing.
function showOutcome(result, item) {
  const outcome = $("#scan-outcome");
  if (outcome.dataset.id !== result.client_event_id) return;
  outcome.dataset.status = result.status;
  outcome.innerHTML =
    `<b>${escapeHtml(t(`action.${item.scan.action}`))}</b> · ${escapeHtml(item.short_code)}<br>` +
    `<span class="status s-${escapeHtml(result.status)}">${escapeHtml(t(`status.${result.status}`))}</span> ${escapeHtml(reason(result, item.scan.action))}` +
    anomalyNotes(result.anomalies);
}

async function startCamera() {
  tripscan.stop();
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
}

export default {
  name: "scan",
  init(s) {
    shell = s;
    scanner = new Scanner($("#video"));
    tripscan.init(shell, scanner);
    $("#af-weight-add").addEventListener("click", () => {
      $("#af-weight-add").hidden = true;
      $("#af-weight-row").hidden = false;
      $("#af-weight").focus();
    });
    $("#r-actions").addEventListener("click", (e) => {
      const button = e.target.closest("button[data-action]");
      if (button) chooseAction(button.dataset.action);
    });
    $("#af-cancel").addEventListener("click", () => ($("#action-form").hidden = true));
    $("#action-form").addEventListener("submit", submitAction);
    $("#camera-start").addEventListener("click", startCamera);
    $("#manual-form").addEventListener("submit", (e) => {
      e.preventDefault();
      handleCode($("#manual-code").value);
    });
    onResult((result, item) => result && showOutcome(result, item));
  },
  // #scan?trip=go: straight into scanning the current trip's bags.
  show(params) {
    tripscan.render();
    if (params.get("trip") === "go") {
      history.replaceState(null, "", "#scan");
      if (!tripscan.active()) tripscan.start();
    }
  },
  leave() {
    tripscan.stop();
    scanner.stop();
  },
  language() {
    fillChoices();
  },
};
