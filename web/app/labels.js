// A scanned label: its payload parsed, its Ed25519 signature checked on the phone with the
// published keys (so it works offline), and what the server says this user may do with it.

import { api, ApiError } from "./shared/api.js";
import { t } from "./shared/i18n.js";
import { isNetworkError } from "./shared/shell.js";
import * as store from "./store.js";
import { actionsFor } from "./vocabulary.js";

const KEYS_KEY = "medwaste.labelKeys";

export function parsePayload(text) {
  const m = /^MW1\.([A-Za-z0-9]+)\.([A-Za-z0-9]+)\.([A-Za-z0-9_-]+)$/.exec(text.trim());
  return m ? { container_id: m[1], key_id: m[2], signature: m[3], signed: `MW1.${m[1]}.${m[2]}` } : null;
}

function b64url(text) {
  const s = text.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(s + "=".repeat((4 - (s.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export async function cacheLabelKeys() {
  try {
    const body = await api("/api/v1/labels/keys");
    localStorage.setItem(KEYS_KEY, JSON.stringify(body.keys || []));
  } catch {
    // keep the last known keys
  }
}

// Verify the label's Ed25519 signature on the phone with the published keys (works offline).
async function verifyOnPhone(parsed) {
  try {
    const keys = JSON.parse(localStorage.getItem(KEYS_KEY) || "[]");
    const key = keys.find((k) => k.key_id === parsed.key_id);
    if (!key) return "unverified";
    const pub = await crypto.subtle.importKey("raw", b64url(key.public_key), { name: "Ed25519" }, false, ["verify"]);
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, pub, b64url(parsed.signature), new TextEncoder().encode(parsed.signed));
    return ok ? "valid" : "forged";
  } catch {
    return "unverified"; // no Ed25519 in this browser's WebCrypto
  }
}

function normalizeResolve(body, base) {
  // ResolveResult: {validity: valid|forged|unknown_key|malformed, detail, container, actions, open_manifests}
  const label = body.validity || base.label;
  return {
    ...base,
    container: body.container || base.container,
    label,
    actions: label === "valid" ? body.actions || [] : [],
    openManifests: body.open_manifests || [],
    error: label === "valid" ? base.error : body.detail || base.error,
    source: "server",
  };
}

// The label behind a typed short code ("XXXX-XXXX"): from the labels this phone has seen, else
// the server's look-up. Offline, a code this phone has never seen gives {payload: null}: the
// scan can still be saved by its code and looked up when the network is back.
export async function lookupCode(code) {
  const cached = await store.byIndex("labels", "short_code", code);
  if (cached) return { payload: cached.payload };
  try {
    const body = await api(`/mobile/v1/resolve?code=${encodeURIComponent(code)}`);
    if (body.qr_payload) return { payload: body.qr_payload };
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) throw new Error(t("scan.noSuchCode"));
    if (error instanceof ApiError) throw error;
    if (isNetworkError(error)) return { payload: null };
    throw error;
  }
  throw new Error(t("scan.noSuchCode"));
}

// What the phone shows for a typed code it has never seen, offline: the actions the role has.
export function codeOnly(code, role) {
  return { payload: null, code, container_id: null, container: null, label: "code_entered", offline: true, actions: actionsFor(role, null), source: "phone" };
}

// What the phone shows for a scanned payload: the container, the label's verdict and the actions
// `role` may take. Offline, the label is checked on the phone and the container comes from what
// this phone saw of it last.
export async function resolve(payload, role) {
  const parsed = parsePayload(payload);
  if (!parsed) throw new Error(t("scan.notALabel"));
  let info = { payload, container_id: parsed.container_id, container: null, label: "unverified", actions: [], source: "phone" };
  try {
    info = normalizeResolve(await api(`/mobile/v1/resolve?qr=${encodeURIComponent(payload)}`), info);
  } catch (error) {
    if (error instanceof ApiError) {
      const type = String(error.problem.type || "");
      if (/forged|signature/.test(type)) info.label = "forged";
      info.error = error.message;
    } else {
      const cached = await store.get("labels", parsed.container_id);
      info.container = cached ? cached.container : null;
      if (isNetworkError(error)) info.offline = true;
      else info.error = error.message;
    }
    if (info.label !== "forged") info.label = await verifyOnPhone(parsed);
    info.actions = info.label === "forged" ? [] : actionsFor(role, info.container && info.container.state);
  }
  if (info.container && info.label !== "forged") {
    await rememberLabel(info.container, payload);
  }
  return info;
}

// Keep a label this phone has seen, so that it can be looked up by its short code offline.
export function rememberLabel(container, payload) {
  return store.put("labels", { container_id: container.id, short_code: container.short_code, payload, container });
}
