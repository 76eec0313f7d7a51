// The regulators' dashboard: the anomaly queue, a container's chain, the region's figures, a
// trip's track. This
// module wires the views (views/*.js) into the shared shell.

import { Shell, $ } from "./shared/shell.js";
import { t } from "./shared/i18n.js";
import { loadOrgs } from "./common.js";
import anomalies, { fillFilters } from "./views/anomalies.js";
import chain from "./views/chain.js";
import region from "./views/region.js";
import track from "./views/track.js";

const POLL_MS = 20000;

function showWho(me) {
  $("#who").textContent = me ? `${me.user.display_name || me.user.username} · ${t(`role.${me.role}`)}` : "";
}

const shell = new Shell({
  views: [anomalies, chain, region, track],
  home: "anomalies",
  titleKey: "dash.title",
  async onSession(me) {
    showWho(me);
    await loadOrgs();
    fillFilters();
  },
  onLanguage: () => showWho(shell.me),
});

async function start() {
  await shell.start();
  setInterval(() => shell.me && shell.current === "anomalies" && anomalies.poll(), POLL_MS);
  document.body.dataset.ready = "1";
}

start();
