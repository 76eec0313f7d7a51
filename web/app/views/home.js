// Home: who is signed in, the trip in progress, the tiles to the other views.

import { escapeHtml } from "../shared/api.js";
import { t } from "../shared/i18n.js";
import { $ } from "../shared/shell.js";
import { manifestId } from "../phone.js";

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
    const id = manifestId();
    box.hidden = !id;
    if (id) box.innerHTML = `<a href="#trip">${escapeHtml(t("trip.current"))}: <b class="mono">${escapeHtml(id.slice(0, 8))}…</b></a>`;
  },
};
