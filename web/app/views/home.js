// Home: who is signed in, the trip in progress, the tiles to the other views.

import { escapeHtml } from "../shared/api.js";
import { t } from "../shared/i18n.js";
import { $ } from "../shared/shell.js";
import { currentTrip, tripLabel } from "../phone.js";

let shell;

export default {
  name: "home",
  init(s) {
    shell = s;
  },
  show() {
    const me = shell.me;
    $("#who-name").textContent = me.user.display_name || me.user.username;
    $("#who-org").textContent = me.organization ? me.organization.name : "";
    $("#who-role").textContent = t(`role.${me.role}`);
    const box = $("#home-manifest");
    const trip = currentTrip();
    box.hidden = !trip;
    if (trip) box.innerHTML = `<a href="#trip">${escapeHtml(t("trip.current"))}: <b class="mono">${escapeHtml(tripLabel(trip))}</b></a>`;
  },
};
