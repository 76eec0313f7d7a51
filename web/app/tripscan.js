// Scanning a whole trip: while a trip is open the camera stays on, every bag read gets the
// trip's action (a driver's pickup, the destination's receipt), each read is confirmed by a
// beep, a buzz and a running count, and a weight is asked only where the action requires one.
// Each scan goes through the queue like any other (offline too, exactly once).

import { escapeHtml, rfc3339, uuid } from "./shared/api.js";
import { t } from "./shared/i18n.js";
import { errorText } from "./shared/problems.js";
import { $ } from "./shared/shell.js";
import * as cues from "./cues.js";
import { anomalyNotes } from "./explain.js";
import { parsePayload, resolve } from "./labels.js";
import { weightRequired } from "./vocabulary.js";
import { enqueue, onResult, reason, syncQueue } from "./outbox.js";
import { scanPosition } from "./geo.js";
import { currentTrip, deviceId, tripAction, tripLabel } from "./phone.js";

let shell;
let scanner;
// One run of the camera over one trip.
const run = { trip: null, action: null, seen: new Set(), count: 0, waiting: [], position: null, watch: null, live: false };

export function init(s, sharedScanner) {
  shell = s;
  scanner = sharedScanner;
  $("#ts-start").addEventListener("click", () => {
    cues.unlock();
    start();
  });
  $("#ts-stop").addEventListener("click", stop);
  $("#ts-weight-form").addEventListener("submit", (e) => {
    e.preventDefault();
    submitWeight();
  });
  // A scan this run queued and the server refused: said on its line, with the reason.
  // and any anomaly a scan raised, explained.
  onResult((result, item) => {
    if (!result) return;
    const line = document.querySelector(`#ts-list li[data-id="${CSS.escape(result.client_event_id)}"]`);
    if (!line) return;
    if (result.anomalies && result.anomalies.length) line.insertAdjacentHTML("beforeend", anomalyNotes(result.anomalies));
    if (result.status !== "rejected") return;
    line.dataset.status = "rejected";
    line.querySelector(".why").textContent = `${t("status.rejected")}: ${reason(result, item.scan.action)}`;
    cues.fail();
  });
}

// The trip panel, when the user has a trip and an action for it; true if shown.
export function render() {
  const trip = currentTrip();
  const action = tripAction(trip, shell.me);
  const panel = $("#trip-scan");
  panel.hidden = !action;
  if (!action) {
    stop();
    return false;
  }
  if (!run.trip || run.trip.id !== trip.id || run.action !== action) {
    Object.assign(run, { trip, action, seen: new Set(), count: 0, waiting: [] });
    $("#ts-list").innerHTML = "";
  }
  $("#ts-trip").textContent = `${t("trip.current")}: ${tripLabel(trip)}`;
  $("#ts-action").textContent = t(`action.${action}`);
  $("#ts-count").textContent = String(run.count);
  $("#ts-hint").textContent = t(weightRequired(action) ? "ts.hintWeighed" : "ts.hint");
  $("#ts-start").hidden = run.live;
  $("#ts-stop").hidden = !run.live;
  return true;
}

export async function start() {
  if (!render()) return;
  $("#scan-error").textContent = "";
  $("#camera-box").classList.add("live");
  $("#camera-status").textContent = t("scan.looking");
  try {
    const engine = await scanner.start(onRead, { continuous: true });
    $("#camera-box").dataset.engine = engine;
    run.live = true;
    watchPosition();
  } catch (error) {
    $("#camera-box").classList.remove("live");
    $("#camera-status").textContent = "";
    $("#scan-error").textContent = `${t("scan.noCamera")} (${error.message})`;
    $("#manual").open = true;
  }
  render();
}

export function stop() {
  if (!run.live) return;
  run.live = false;
  scanner.stop();
  $("#camera-box").classList.remove("live");
  $("#camera-status").textContent = "";
  if (run.watch !== null && navigator.geolocation) navigator.geolocation.clearWatch(run.watch);
  run.watch = null;
  $("#ts-start").hidden = false;
  $("#ts-stop").hidden = true;
}

export const active = () => run.live;

function watchPosition() {
  if (!navigator.geolocation || run.watch !== null) return;
  run.watch = navigator.geolocation.watchPosition(
    (pos) => (run.position = scanPosition(pos)),
    () => (run.position = null),
    { enableHighAccuracy: true, maximumAge: 30000 },
  );
}

function line(code, status, why = "", id = "") {
  for (const old of document.querySelectorAll(`#ts-list li[data-status=waiting][data-code="${CSS.escape(code)}"]`)) old.remove();
  const li = document.createElement("li");
  li.dataset.status = status;
  li.dataset.code = code;
  if (id) li.dataset.id = id;
  li.innerHTML = `<span class="mono">${escapeHtml(code)}</span> <span class="why">${escapeHtml(why)}</span>`;
  $("#ts-list").prepend(li);
  return li;
}

// A label read by the camera (or a code typed while the run is on).
export async function onRead(text) {
  const parsed = parsePayload(text);
  if (!parsed) {
    cues.fail();
    line("?", "refused", t("scan.notALabel"));
    return;
  }
  if (run.seen.has(parsed.container_id)) return; // this bag is done for this trip
  run.seen.add(parsed.container_id);
  let info;
  try {
    info = await resolve(text, shell.role);
  } catch (error) {
    run.seen.delete(parsed.container_id);
    cues.fail();
    line("?", "refused", errorText(error));
    return;
  }
  const code = info.container ? info.container.short_code : parsed.container_id.slice(0, 8).toUpperCase();
  if (!info.actions.includes(run.action)) {
    cues.fail();
    const state = info.container ? t(`state.${info.container.state}`) : "";
    const why = info.label === "forged" ? t("label.forged") : t("ts.notPossible", { action: t(`action.${run.action}`), state });
    line(code, "refused", why);
    return;
  }
  if (weightRequired(run.action)) {
    run.waiting.push({ info, code });
    if (run.waiting.length === 1) askWeight();
    else line(code, "waiting", t("ts.waitingWeight"));
    return;
  }
  await record(info, code, null);
}

function askWeight() {
  const next = run.waiting[0];
  const form = $("#ts-weight-form");
  form.hidden = !next;
  if (!next) return;
  cues.ok();
  $("#ts-weight-code").textContent = next.code;
  $("#ts-weight").value = "";
  $("#ts-weight").focus();
}

async function submitWeight() {
  const input = $("#ts-weight");
  const weight = Number(input.value.replace(",", ".").trim());
  if (!(weight > 0 && weight <= 1000)) {
    input.setCustomValidity(t("scan.badWeight"));
    input.reportValidity();
    input.setCustomValidity("");
    return;
  }
  const { info, code } = run.waiting.shift();
  await record(info, code, weight);
  askWeight();
}

async function record(info, code, weight) {
  const scan = {
    qr_payload: info.payload,
    action: run.action,
    client_event_id: uuid(),
    scanned_at: rfc3339(),
    device_id: deviceId(),
    manifest_id: run.trip.id,
  };
  if (weight !== null) scan.weight_kg = weight;
  if (run.position) Object.assign(scan, run.position);
  await enqueue(scan, code);
  run.count += 1;
  $("#ts-count").textContent = String(run.count);
  line(code, "queued", weight !== null ? `✔ ${weight} kg` : "✔", scan.client_event_id);
  cues.ok();
  syncQueue();
}
