// At the destination, a whole trip at once: "receive all", with each bag's weight typed in one
// list, and "dispose all received" with one method. Each bag still gets its own scan, queued
// and sent like any other (exactly once, offline too), found by its short code.

import { escapeHtml, rfc3339, uuid } from "./shared/api.js";
import { t } from "./shared/i18n.js";
import { enqueue, syncQueue } from "./outbox.js";
import { deviceId } from "./phone.js";
import { vocabulary } from "./vocabulary.js";

const RECEIVERS = new Set(["storage_operator", "disposal_operator"]);

function mine(m, me) {
  return me && me.organization && m.destination_organization_id === me.organization.id;
}

// The bags still to receive on this trip, for the destination's operators.
function toReceive(m, me) {
  if (!RECEIVERS.has(me.role) || !mine(m, me) || m.state !== "in_transit") return [];
  return m.containers.filter((c) => !c.received_at);
}

// The bags of this trip received here and not disposed of yet, for a disposal plant.
function toDispose(m, me) {
  if (me.role !== "disposal_operator" || !mine(m, me)) return [];
  return m.containers.filter((c) => c.received_at && (c.state === "received" || c.state === "stored"));
}

export function html(m, me) {
  const receive = toReceive(m, me);
  const dispose = toDispose(m, me);
  let out = "";
  if (receive.length) {
    const rows = receive
      .map(
        (c) => `<tr><td class="mono">${escapeHtml(c.short_code)}</td><td>${c.collection_weight_kg ?? "–"}</td>
        <td><input class="bulk-weight" data-code="${escapeHtml(c.short_code)}" inputmode="decimal" autocomplete="off" enterkeyhint="next"
          pattern="[0-9]*[.,]?[0-9]*" aria-label="${escapeHtml(t("ts.weightFor"))} ${escapeHtml(c.short_code)}"></td></tr>`,
      )
      .join("");
    out += `<form id="receive-all" class="stack bulk" data-testid="receive-all">
      <h2>${escapeHtml(t("bulk.receiveTitle"))}</h2>
      <p class="muted">${escapeHtml(t("bulk.receiveHint"))}</p>
      <table class="grid"><thead><tr><th>${escapeHtml(t("trip.code"))}</th><th>kg ↑</th><th>kg ↓</th></tr></thead><tbody>${rows}</tbody></table>
      <button class="primary wide" type="submit">${escapeHtml(t("bulk.receiveBtn"))}</button></form>`;
  }
  if (dispose.length) {
    out += `<form id="dispose-all" class="stack bulk" data-testid="dispose-all">
      <h2>${escapeHtml(t("bulk.disposeTitle", { n: dispose.length }))}</h2>
      <label><span>${escapeHtml(t("scan.method"))}</span><select name="method">${vocabulary().disposal_methods.map((x) => `<option value="${x}">${escapeHtml(t(`method.${x}`))}</option>`).join("")}</select></label>
      <button class="primary wide" type="submit">${escapeHtml(t("bulk.disposeBtn", { n: dispose.length }))}</button></form>`;
  }
  return out;
}

function scan(action, m, extra) {
  return { action, client_event_id: uuid(), scanned_at: rfc3339(), device_id: deviceId(), ...extra, ...(m ? { manifest_id: m.id } : {}) };
}

// Wire the forms html() made; say(text) reports what was saved, or what is wrong.
export function bind(box, m, me, say) {
  const receive = box.querySelector("#receive-all");
  if (receive) {
    receive.addEventListener("submit", async (e) => {
      e.preventDefault();
      const weighed = [];
      for (const input of receive.querySelectorAll("input.bulk-weight")) {
        const text = input.value.replace(",", ".").trim();
        if (!text) continue;
        const weight = Number(text);
        if (!(weight > 0 && weight <= 1000)) {
          input.setCustomValidity(t("scan.badWeight"));
          input.reportValidity();
          input.setCustomValidity("");
          return;
        }
        weighed.push({ code: input.dataset.code, weight });
      }
      if (!weighed.length) return say(t("bulk.noneWeighed"));
      for (const { code, weight } of weighed) await enqueue(scan("receive", m, { weight_kg: weight }), code, code);
      say(t(navigator.onLine ? "bulk.saved" : "bulk.savedOffline", { n: weighed.length }));
      syncQueue();
    });
    // Enter in one weight moves to the next; in the last one it receives the list.
    const inputs = [...receive.querySelectorAll("input.bulk-weight")];
    inputs.forEach((input, i) =>
      input.addEventListener("keydown", (e) => {
        if (e.key !== "Enter" || i === inputs.length - 1) return;
        e.preventDefault();
        inputs[i + 1].focus();
      }),
    );
  }
  const dispose = box.querySelector("#dispose-all");
  if (dispose) {
    dispose.addEventListener("submit", async (e) => {
      e.preventDefault();
      const bags = toDispose(m, me);
      for (const c of bags) await enqueue(scan("dispose", null, { method: dispose.method.value }), c.short_code, c.short_code);
      say(t(navigator.onLine ? "bulk.saved" : "bulk.savedOffline", { n: bags.length }));
      syncQueue();
    });
  }
}
