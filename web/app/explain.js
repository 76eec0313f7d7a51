// An anomaly a scan raised, explained where the scan was made: what was found, whether the
// user did anything wrong, and what to do now.

import { escapeHtml } from "./shared/api.js";
import { t } from "./shared/i18n.js";

// A late truck is one anomaly about its manifest: name the trip and its late bags.
function lateTrip(a) {
  const facts = a.facts || {};
  if (!Array.isArray(facts.bags) || !facts.manifest_number) return "";
  const text = t("explain.lateTrip", { number: facts.manifest_number, bags: facts.bags.join(", "), hours: facts.overdue_hours });
  return `<p class="late-trip">${escapeHtml(text)}</p>`;
}

export function anomalyNotes(anomalies) {
  return (anomalies || [])
    .map(
      (a) => `<div class="anomaly sev-${escapeHtml(a.severity)}" data-kind="${escapeHtml(a.kind)}">
        <b>⚠ ${escapeHtml(t(`kind.${a.kind}`))}</b> <span class="muted">${escapeHtml(t(`sev.${a.severity}`))}</span>
        <p>${escapeHtml(t(`why.${a.kind}`))}</p>${lateTrip(a)}
        <p><b>${escapeHtml(t("explain.todo"))}:</b> ${escapeHtml(t(`todo.${a.kind}`))}</p></div>`,
    )
    .join("");
}
