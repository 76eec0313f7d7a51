// A transfer manifest's discrepancies (computed by the server when the destination signs) as
// sentences with the bags' short codes: what did not arrive, what arrived unannounced, which
// weights moved beyond the tolerance, and the totals.

import { escapeHtml } from "./api.js";
import { shortCodeOf } from "./codes.js";
import { t } from "./i18n.js";

const kg = (v) => `${(+v).toFixed(2).replace(/\.?0+$/, "")} kg`;
const signed = (v, unit) => `${v > 0 ? "+" : v < 0 ? "−" : "±"}${Math.abs(v).toFixed(unit === "%" ? 1 : 2).replace(/\.?0+$/, "")}${unit === "%" ? " %" : " kg"}`;

// containers: the manifest's containers ({container_id, short_code}), to name the bags.
export function discrepancyLines(d, containers = []) {
  const codes = new Map(containers.map((c) => [c.container_id, c.short_code]));
  const code = (id) => codes.get(id) || shortCodeOf(id);
  const lines = [];
  const missing = (d.missing && d.missing.container_ids) || [];
  if (missing.length) lines.push(t("disc.missingLine", { n: missing.length, codes: missing.map(code).join(", ") }));
  const unexpected = (d.unexpected && d.unexpected.container_ids) || [];
  if (unexpected.length) lines.push(t("disc.unexpectedLine", { n: unexpected.length, codes: unexpected.map(code).join(", ") }));
  for (const w of d.weight || []) {
    const pct = w.difference_pct == null ? "" : `, ${signed(w.difference_pct, "%")}`;
    lines.push(`${code(w.container_id)}: ${kg(w.collection_weight_kg)} → ${kg(w.receipt_weight_kg)} (${signed(w.difference_kg, "kg")}${pct})`);
  }
  if (d.total && d.total.flagged) {
    const pct = d.total.difference_pct == null ? "" : `, ${signed(d.total.difference_pct, "%")}`;
    lines.push(t("disc.totalLine", { sent: kg(d.total.collection_weight_kg), got: kg(d.total.receipt_weight_kg), diff: `${signed(d.total.difference_kg, "kg")}${pct}` }));
  }
  return lines;
}

export function discrepancyHtml(d, containers = []) {
  const lines = discrepancyLines(d, containers);
  if (!lines.length) return `<div class="ok" data-testid="discrepancies">${escapeHtml(t("trip.noDiscrepancies"))}</div>`;
  const tolerance = d.tolerance ? `<p class="muted small">${escapeHtml(t("disc.tolerance", { pct: d.tolerance.percent, floor: d.tolerance.floor_kg }))}</p>` : "";
  return `<div class="alert" data-testid="discrepancies"><b>${escapeHtml(t("trip.discrepancies"))}</b><ul>${lines.map((l) => `<li>${escapeHtml(l)}</li>`).join("")}</ul>${tolerance}</div>`;
}
