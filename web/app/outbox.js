// The scans waiting to reach the server, and sending them. Each scan leaves the queue only once
// the server has answered for it, and a retry carries the same client_event_id, so a scan is
// recorded exactly once.

import { api } from "./shared/api.js";
import { $, isNetworkError } from "./shared/shell.js";
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

export async function enqueue(scan, shortCode) {
  await store.put("queue", { client_event_id: scan.client_event_id, scan, queued_at: Date.now(), short_code: shortCode });
  await updateCount();
}

// The scans waiting to be sent, as last read from the phone's store.
export const queued = () => waiting;

// Read the queue again and show its length on the badge.
export async function updateCount() {
  waiting = await store.all("queue", "queued_at");
  const n = waiting.length;
  const badge = $("#queue-badge");
  badge.textContent = String(n);
  badge.dataset.count = String(n);
  badge.classList.toggle("waiting", n > 0);
  $("#queue-count").textContent = String(n);
  return n;
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
      const items = (await store.all("queue", "queued_at")).slice(0, 100);
      if (!items.length || !signedIn()) return;
      const results = await sendBatch(items);
      const byId = new Map(items.map((i) => [i.client_event_id, i]));
      for (const result of results) {
        const item = byId.get(result.client_event_id);
        if (!item) continue;
        await store.put("results", { ...result, at: Date.now(), action: item.scan.action, short_code: item.short_code });
        await store.remove("queue", result.client_event_id);
        for (const fn of listeners) fn(result, item);
      }
      if (results.length === items.length && (await store.count("queue"))) setTimeout(syncQueue, 0);
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

// Why the server refused a scan, as it said it.
export function reason(result) {
  const e = result.error || {};
  return e.detail || e.title || "";
}
