// The phone app: sign in, scan a label, record a custody action (queued offline, synced once),
// a driver's trip (and its track while it is open), a hospital's label batch. This module wires the views (views/*.js) into the
// shared shell and keeps the queue moving.

import { Shell, $ } from "./shared/shell.js";
import { t } from "./shared/i18n.js";
import { cacheLabelKeys } from "./labels.js";
import { cacheVocabulary } from "./vocabulary.js";
import * as outbox from "./outbox.js";
import { deviceId } from "./phone.js";
import * as track from "./track.js";
import batch from "./views/batch.js";
import home from "./views/home.js";
import queue from "./views/queue.js";
import scan from "./views/scan.js";
import trip from "./views/trip.js";

// Elements marked data-roles="..." show only for those roles (and admins).
function applyRoles(role) {
  for (const el of document.querySelectorAll("[data-roles]")) {
    el.hidden = !role || !(el.dataset.roles.split(" ").includes(role) || role === "admin");
  }
}

const shell = new Shell({
  views: [home, scan, queue, trip, batch],
  home: "home",
  titleKey: "app.title",
  deviceId,
  keepIdentityOffline: true,
  homeAfterSignIn: true,
  scrollOnShow: true,
  onSession(me) {
    applyRoles(me.role);
    cacheLabelKeys();
    cacheVocabulary();
    track.refresh(me);
  },
  onLanguage: renderNet,
});

function renderNet() {
  const net = $("#net");
  net.dataset.state = navigator.onLine ? "online" : "offline";
  net.textContent = navigator.onLine ? "" : t("common.offlineShort");
}

async function start() {
  outbox.init(() => shell.me !== null);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("sw.js", { scope: "./" }).catch((e) => console.warn("service worker", e));
  }
  await shell.start();
  $("#queue-badge").addEventListener("click", () => (location.hash = "#queue"));
  window.addEventListener("online", () => {
    renderNet();
    outbox.syncQueue();
    track.send();
  });
  window.addEventListener("offline", renderNet);
  document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && outbox.syncQueue());
  setInterval(() => navigator.onLine && outbox.syncQueue(), 30000);
  // The trip's state changes elsewhere (signatures, receipt): recording follows what the phone
  // last learnt of it, and the queued positions go out every minute.
  setInterval(async () => {
    await track.follow(shell.me);
    if (navigator.onLine && shell.me) track.send();
  }, 60000);
  window.addEventListener("hashchange", () => track.refresh(shell.me));
  await outbox.updateCount();
  if (shell.me) outbox.syncQueue();
  document.body.dataset.ready = "1";
}

start();
