// Labels: register a batch of containers at one of the organization's sites; its label sheet
// opens at once. Batches whose labels are not all used yet are listed, to print again.

import { api, escapeHtml, listAll, openDocument } from "../shared/api.js";
import { fmtDateTime } from "../shared/format.js";
import { t } from "../shared/i18n.js";
import { errorText } from "../shared/problems.js";
import { $ } from "../shared/shell.js";
import { rememberLabel } from "../labels.js";
import { vocabulary, vocabularyReady } from "../vocabulary.js";

const PRINTED_KEY = "medwaste.printedBatches";
// The label stock this phone's printer takes: A4 sheets or a thermal roll (kept per phone).
const STOCK_KEY = "medwaste.labelStock";

let shell;
let busy = false;

const printed = () => new Set(JSON.parse(localStorage.getItem(PRINTED_KEY) || "[]"));

function print(batchId, target) {
  const done = printed();
  done.add(batchId);
  localStorage.setItem(PRINTED_KEY, JSON.stringify([...done].slice(-200)));
  const stock = $("#batch-form").stock.value || "a4";
  localStorage.setItem(STOCK_KEY, stock);
  return openDocument(`/api/v1/labels/sheet.pdf?batch_id=${batchId}&stock=${stock}`, `labels-${batchId}-${stock}.pdf`, target);
}

async function prepare() {
  const form = $("#batch-form");
  form.stock.value = localStorage.getItem(STOCK_KEY) || "a4";
  if (!form.category.options.length) {
    await vocabularyReady();
    form.category.innerHTML = vocabulary().categories.map((c) => `<option value="${c}">${escapeHtml(t(`cat.${c}`))}</option>`).join("");
  }
  const org = shell.me.organization;
  if (!form.site_id.options.length && org) {
    const sites = await listAll(`/api/v1/organizations/${org.id}/sites`).catch((error) => {
      $("#batch-error").textContent = errorText(error);
      return [];
    });
    form.site_id.innerHTML = sites.map((s) => `<option value="${s.id}">${escapeHtml(s.name)}</option>`).join("");
  }
  listUnused();
}

// The organization's batches with labels not used yet (no bag collected under them), newest
// first, each printable again; "printed here" marks what this phone has printed.
async function listUnused() {
  const org = shell.me.organization;
  const box = $("#batch-unused");
  if (!org) return;
  let labelled;
  try {
    labelled = await listAll(`/api/v1/containers?state=labelled&organization_id=${org.id}`, 5000);
  } catch (error) {
    box.innerHTML = `<li class="error">${escapeHtml(errorText(error))}</li>`;
    return;
  }
  const batches = new Map();
  for (const c of labelled) {
    const b = batches.get(c.batch_id) || { id: c.batch_id, count: 0, category: c.category, department: c.department, created_at: c.created_at };
    b.count += 1;
    batches.set(c.batch_id, b);
  }
  const done = printed();
  const rows = [...batches.values()].sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
  box.innerHTML = rows.length
    ? rows
        .map(
          (b) => `<li data-batch="${escapeHtml(b.id)}"><b>${b.count}</b> ${escapeHtml(t(`cat.${b.category}`))} ${escapeHtml(b.department || "")}
          <span class="muted">${escapeHtml(fmtDateTime(b.created_at))}${done.has(b.id) ? ` · ${escapeHtml(t("batch.printedHere"))}` : ""}</span>
          <button type="button" class="secondary print" data-batch="${escapeHtml(b.id)}">${escapeHtml(t("batch.printAgain"))}</button></li>`,
        )
        .join("")
    : `<li class="muted">${escapeHtml(t("batch.noneUnused"))}</li>`;
}

async function submit(e) {
  e.preventDefault();
  if (busy) return; // a second tap while the first is on its way creates nothing
  const form = e.target;
  const button = form.querySelector("button[type=submit]");
  $("#batch-error").textContent = "";
  const body = {
    count: Number(form.count.value),
    category: form.category.value,
    site_id: form.site_id.value,
    epidemic: form.epidemic.checked,
  };
  if (form.department.value.trim()) body.department = form.department.value.trim();
  busy = true;
  button.disabled = true;
  // The sheet's tab opens in the tap itself (a tab opened after the wait would be blocked).
  const target = window.open("", "_blank");
  try {
    const made = await api("/api/v1/containers", { method: "POST", body });
    for (const c of made.containers) await rememberLabel(c, c.qr_payload);
    const box = $("#batch-result");
    box.hidden = false;
    box.dataset.batch = made.batch_id;
    box.innerHTML = `<p><b>${made.containers.length}</b> ${escapeHtml(t("batch.made"))}</p>
      <p class="mono small">${made.containers.map((c) => escapeHtml(c.short_code)).join(" · ")}</p>
      <button type="button" class="secondary wide" id="batch-print">${escapeHtml(t("batch.printAgain"))}</button>
      <button type="button" class="primary wide" id="batch-another">${escapeHtml(t("batch.another"))}</button>`;
    $("#batch-print").onclick = () => print(made.batch_id).catch((err) => ($("#batch-error").textContent = errorText(err)));
    $("#batch-another").onclick = () => {
      box.hidden = true;
      button.disabled = false;
    };
    await print(made.batch_id, target).catch((err) => ($("#batch-error").textContent = errorText(err)));
    listUnused();
  } catch (error) {
    if (target) target.close();
    $("#batch-error").textContent = errorText(error);
    button.disabled = false;
  } finally {
    busy = false;
  }
}

export default {
  name: "batch",
  init(s) {
    shell = s;
    $("#batch-form").addEventListener("submit", submit);
    $("#batch-unused").addEventListener("click", (e) => {
      const button = e.target.closest("button.print");
      if (button) print(button.dataset.batch).then(listUnused, (err) => ($("#batch-error").textContent = errorText(err)));
    });
  },
  show: prepare,
  language() {
    $("#batch-form").category.innerHTML = ""; // refilled in the new language when shown
  },
};
