// Labels: register a batch of containers at one of the organization's sites and print the sheet.

import { api, escapeHtml, listAll, openDocument } from "../shared/api.js";
import { t } from "../shared/i18n.js";
import { errorText } from "../shared/problems.js";
import { $ } from "../shared/shell.js";
import { rememberLabel } from "../labels.js";

const CATEGORIES = ["infectious", "sharps", "pathological", "pharmaceutical", "chemical"];

let shell;

async function prepare() {
  const form = $("#batch-form");
  if (!form.category.options.length) {
    form.category.innerHTML = CATEGORIES.map((c) => `<option value="${c}">${escapeHtml(t(`cat.${c}`))}</option>`).join("");
  }
  const org = shell.me.organization;
  if (!form.site_id.options.length && org) {
    const sites = await listAll(`/api/v1/organizations/${org.id}/sites`).catch((error) => {
      $("#batch-error").textContent = errorText(error);
      return [];
    });
    form.site_id.innerHTML = sites.map((s) => `<option value="${s.id}">${escapeHtml(s.name)}</option>`).join("");
  }
}

async function submit(e) {
  e.preventDefault();
  const form = e.target;
  $("#batch-error").textContent = "";
  try {
    const body = {
      count: Number(form.count.value),
      category: form.category.value,
      site_id: form.site_id.value,
      epidemic: form.epidemic.checked,
    };
    if (form.department.value.trim()) body.department = form.department.value.trim();
    const made = await api("/api/v1/containers", { method: "POST", body });
    for (const c of made.containers) await rememberLabel(c, c.qr_payload);
    const box = $("#batch-result");
    box.hidden = false;
    box.innerHTML = `<p><b>${made.containers.length}</b> ${escapeHtml(t("batch.made"))}</p>
      <p class="mono small">${made.containers.map((c) => escapeHtml(c.short_code)).join(" · ")}</p>
      <button type="button" class="primary wide" id="batch-print">${escapeHtml(t("batch.print"))}</button>`;
    $("#batch-print").onclick = () =>
      openDocument(`/api/v1/labels/sheet.pdf?batch_id=${made.batch_id}`, `labels-${made.batch_id}.pdf`).catch((err) => ($("#batch-error").textContent = errorText(err)));
  } catch (error) {
    $("#batch-error").textContent = errorText(error);
  }
}

export default {
  name: "batch",
  init(s) {
    shell = s;
    $("#batch-form").addEventListener("submit", submit);
  },
  show: prepare,
  language() {
    $("#batch-form").category.innerHTML = ""; // refilled in the new language when shown
  },
};
