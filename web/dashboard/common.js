// What the dashboard's views share: the organizations of the jurisdiction, dates, the order of
// the anomaly queue and CSV downloads.

import { api, listAll } from "./shared/api.js";
import { shortCodeOf } from "./shared/codes.js";
import { toCsv } from "./shared/csv.js";
import { fmtDateTime } from "./shared/format.js";

const SEVERITY_RANK = { critical: 3, warning: 2, info: 1 };

// The organizations the signed-in user may see, loaded once after signing in.
export const orgs = [];

export async function loadOrgs() {
  const items = await listAll("/api/v1/organizations").catch(() => []);
  orgs.splice(0, orgs.length, ...items);
}

export const orgName = (id) => (orgs.find((o) => o.id === id) || {}).name || (id ? `${String(id).slice(0, 8)}…` : "–");

// Manifest numbers by id, fetched once each: people read numbers, not ids.
const manifestNumbers = new Map();

export async function loadManifestNumbers(ids) {
  const missing = [...new Set(ids)].filter((id) => id && !manifestNumbers.has(id));
  await Promise.all(
    missing.map((id) =>
      api(`/api/v1/manifests/${id}`)
        .then((m) => manifestNumbers.set(id, m.number))
        .catch(() => manifestNumbers.set(id, null)),
    ),
  );
}

export const manifestNumber = (id) => manifestNumbers.get(id) || null;

// What an anomaly is about, as people name it: a bag's short code, a trip's number.
export function subjectText(a) {
  if (a.container_id) return shortCodeOf(a.container_id);
  if (a.manifest_id) return manifestNumber(a.manifest_id) || "…";
  return "–";
}

export const fmt = (v) => fmtDateTime(v, "medium");

// Most severe first, then the most recent.
export function compareAnomalies(a, b) {
  return (SEVERITY_RANK[b.severity] || 0) - (SEVERITY_RANK[a.severity] || 0) || String(b.detected_at).localeCompare(String(a.detected_at));
}

// Save rows as a CSV file (with a BOM, so that spreadsheet programs read the Chinese).
export function download(name, rows) {
  const blob = new Blob(["\ufeff", toCsv(rows)], { type: "text/csv;charset=utf-8" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 30000);
}
