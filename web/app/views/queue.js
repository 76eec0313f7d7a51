// The queue: scans waiting to be sent, and what the server answered for the last ones.

import { escapeHtml } from "../shared/api.js";
import { fmtDateTime } from "../shared/format.js";
import { t } from "../shared/i18n.js";
import { $ } from "../shared/shell.js";
import { anomalyNotes } from "../explain.js";
import { markRefusalsRead, onResult, queued, reason, syncQueue, unreadRefusals, updateCount } from "../outbox.js";
import * as store from "../store.js";

function renderWaiting() {
  const items = queued();
  $("#queue-list").innerHTML = items.length
    ? items.map((q) => `<li><b>${escapeHtml(t(`action.${q.scan.action}`))}</b> ${escapeHtml(q.short_code)} <span class="muted">${escapeHtml(fmtDateTime(q.scan.scanned_at))}</span></li>`).join("")
    : `<li class="muted">${escapeHtml(t("queue.empty"))}</li>`;
}

// One answered scan: what, which bag, when it was scanned, and why it was refused.
function resultItem(r) {
  return (
    `<li data-status="${escapeHtml(r.status)}"><span class="status s-${escapeHtml(r.status)}">${escapeHtml(t(`status.${r.status}`))}</span> ` +
    `<b>${escapeHtml(t(`action.${r.action}`))}</b> <span class="mono">${escapeHtml(r.short_code)}</span>` +
    (r.scanned_at ? ` <span class="muted">${escapeHtml(t("queue.scannedAt"))} ${escapeHtml(fmtDateTime(r.scanned_at))}</span>` : "") +
    (r.status === "rejected" ? `<div class="error">${escapeHtml(reason(r))}</div>` : "") +
    anomalyNotes(r.anomalies) +
    `</li>`
  );
}

async function render() {
  renderWaiting(); // at once from what was last read, then as the store has it now
  await updateCount();
  renderWaiting();
  const refused = await unreadRefusals();
  $("#refusals").hidden = refused.length === 0;
  $("#refusals-list").innerHTML = refused.map(resultItem).join("");
  const results = (await store.all("results", "at")).reverse().slice(0, 50);
  $("#results-list").innerHTML = results.map(resultItem).join("");
}

export default {
  name: "queue",
  init() {
    $("#sync-now").addEventListener("click", () => syncQueue());
    $("#refusals-read").addEventListener("click", async () => {
      await markRefusalsRead();
      render();
    });
    onResult((result) => {
      if (!result && !$("#view-queue").hidden) render();
    });
  },
  show: render,
};
