// The scans waiting to reach the server, and sending them. Each scan leaves the queue only once
// the server has answered for it, and a retry carries the same client_event_id, so a scan is
// recorded exactly once. A refused scan stays "unread" until the user has read why.

import { api, ApiError } from "./shared/api.js";
import { t } from "./shared/i18n.js";
import { problemText } from "./shared/problems.js";
import { $, isNetworkError } from "./shared/shell.js";
import { rememberLabel } from "./labels.js";
import { deviceId } from "./phone.js";
import * as store from "./store.js";

let signedIn = () => false;
let syncing = false;
let waiting = []; // the queue as last read, oldest first, so that a view can show it at once
const listeners = [];

// isSignedIn(): whether there is a user to send as.
export function init(isSignedIn) {
  signedIn = isSignedIn;
}

// fn(result, item) for each scan the server answered; fn() once a sync has ended.
export function onResult(fn) {
  listeners.push(fn);
}

// Queue a scan. `code`: the typed short code of a bag this phone has not seen (the scan has no
// label payload yet; the code is looked up before sending).
export async function enqueue(scan, shortCode, code = null) {
  await store.put("queue", { client_event_id: scan.client_event_id, scan, queued_at: Date.now(), short_code: shortCode, code });
  await updateCount();
}

// The scans waiting to be sent, as last read from the phone's store.
export const queued = () => waiting;

// Refused scans whose reason the user has not read yet, newest first.
export async function unreadRefusals() {
  return (await store.all("results", "at")).filter((r) => r.status === "rejected" && !r.read).reverse();
}

export async function markRefusalsRead() {
  for (const r of await unreadRefusals()) await store.put("results", { ...r, read: true });
  await updateCount();
}

// Read the queue again; show its length on the badge and any unread refusal on every view.
export async function updateCount() {
  waiting = await store.all("queue", "queued_at");
  const n = waiting.length;
  const refused = (await unreadRefusals()).length;
  const badge = $("#queue-badge");
  badge.textContent = String(n);
  badge.dataset.count = String(n);
  badge.classList.toggle("waiting", n > 0);
  badge.classList.toggle("refused", refused > 0);
  $("#queue-count").textContent = String(n);
  const banner = $("#refusal-banner");
  banner.hidden = refused === 0;
  banner.dataset.count = String(refused);
  banner.textContent = t("refused.banner", { n: refused });
  return n;
}

const serverFault = (problem) => Boolean(problem) && Number(problem.status) >= 500;

async function record(item, result) {
  await store.put("results", {
    ...result,
    at: Date.now(),
    action: item.scan.action,
    short_code: item.short_code,
    scanned_at: item.scan.scanned_at,
    read: result.status !== "rejected",
  });
  await store.remove("queue", item.client_event_id);
  for (const fn of listeners) fn(result, item);
}

// Scans saved by a typed code: find the label behind each code. A code the server does not know
// (or that several containers share) refuses the scan, as the server would.
async function resolveCodes(items) {
  const ready = [];
  for (const item of items) {
    if (item.scan.qr_payload) {
      ready.push(item);
      continue;
    }
    try {
      const body = await api(`/mobile/v1/resolve?code=${encodeURIComponent(item.code)}`);
      item.scan.qr_payload = body.qr_payload;
      if (body.container) {
        item.short_code = body.container.short_code;
        await rememberLabel(body.container, body.qr_payload);
      }
      await store.put("queue", item);
      ready.push(item);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status === 401) throw error;
      if (error.status >= 500) continue; // the server's fault: ask again next sync
      await record(item, { client_event_id: item.client_event_id, status: "rejected", error: error.problem, anomalies: [] });
    }
  }
  return ready;
}

async function sendBatch(items) {
  const body = await api("/mobile/v1/sync", { method: "POST", body: { device_id: deviceId(), scans: items.map((i) => i.scan) } });
  return body.results;
}

export async function syncQueue() {
  const run = async () => {
    if (syncing) return;
    syncing = true;
    document.body.classList.add("syncing");
    try {
      const queuedItems = (await store.all("queue", "queued_at")).slice(0, 100);
      if (!queuedItems.length || !signedIn()) return;
      const items = await resolveCodes(queuedItems);
      const results = items.length ? await sendBatch(items) : [];
      const byId = new Map(items.map((i) => [i.client_event_id, i]));
      let recorded = 0;
      for (const result of results) {
        const item = byId.get(result.client_event_id);
        // A server fault is not a refusal: the scan stays queued and goes again next sync.
        if (!item || serverFault(result.error)) continue;
        await record(item, result);
        recorded += 1;
      }
      if (recorded && results.length === items.length && (await store.count("queue"))) setTimeout(syncQueue, 0);
    } catch (error) {
      if (!isNetworkError(error)) console.warn("sync failed", error);
    } finally {
      syncing = false;
      document.body.classList.remove("syncing");
      await updateCount();
      for (const fn of listeners) fn();
    }
  };
  if (navigator.locks) return navigator.locks.request("medwaste-sync", run);
  return run();
}

// Why the server refused a scan, in the user's language.
export function reason(result, action = result.action) {
  return result.error ? problemText(result.error, { action }) : "";
}
