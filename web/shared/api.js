// The REST client both front ends use: bearer tokens, one refresh on 401, RFC 7807 errors.
// A network failure (offline) is thrown as the browser's own TypeError so callers can queue.

const KEY = "medwaste.session";

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

export function session() {
  try {
    return JSON.parse(localStorage.getItem(KEY)) || null;
  } catch {
    return null;
  }
}

function save(value) {
  if (value) localStorage.setItem(KEY, JSON.stringify(value));
  else localStorage.removeItem(KEY);
}

function fromPair(pair, extra = {}) {
  return {
    ...session(),
    ...extra,
    access_token: pair.access_token,
    refresh_token: pair.refresh_token || null,
    expires_at: Date.now() + (pair.expires_in || 900) * 1000,
  };
}

async function problemOf(response) {
  try {
    return await response.json();
  } catch {
    return { title: response.statusText };
  }
}

// A phone passes its device id, so that an admin can revoke a lost phone's sessions.
export async function login(username, password, deviceId = null) {
  const form = new URLSearchParams({ username, password });
  if (deviceId) form.set("device_id", deviceId);
  const response = await fetch("/api/v1/auth/token", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: form,
  });
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  save(fromPair(await response.json(), { username }));
  const me = await api("/api/v1/me");
  save({ ...session(), me });
  return me;
}

let refreshing = null;

// Exchange the refresh token for a new pair (the old one stops working: never run twice at once).
async function refresh() {
  const current = session();
  if (!current || !current.refresh_token) return false;
  refreshing ||= (async () => {
    try {
      const response = await fetch("/api/v1/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: current.refresh_token }),
      });
      if (!response.ok) return false;
      save(fromPair(await response.json()));
      return true;
    } finally {
      setTimeout(() => (refreshing = null), 0);
    }
  })();
  return refreshing;
}

export async function request(path, { method = "GET", body, headers = {} } = {}) {
  const attempt = () => {
    const current = session();
    const h = { Accept: "application/json, application/problem+json, */*", ...headers };
    if (current && current.access_token) h.Authorization = `Bearer ${current.access_token}`;
    let payload = body;
    if (body !== undefined && !(body instanceof FormData) && typeof body !== "string") {
      h["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    return fetch(path, { method, headers: h, body: payload });
  };
  const current = session();
  if (current && current.refresh_token && current.expires_at && current.expires_at - Date.now() < 30000) {
    await refresh();
  }
  let response = await attempt();
  if (response.status === 401 && (await refresh())) response = await attempt();
  if (response.status === 401) {
    const event = new CustomEvent("medwaste:signed-out");
    window.dispatchEvent(event);
  }
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  return response;
}

export async function api(path, options) {
  const response = await request(path, options);
  if (response.status === 204) return null;
  return response.json();
}

// Every page of a cursor-paginated list, up to `max` items.
export async function listAll(path, max = 1000) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const page = await api(`${path}${sep}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    items.push(...(page.items || []));
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

// Open an authenticated download (a PDF) in a new tab: links cannot carry the bearer token.
// target: a tab opened already (window.open must run in the tap itself, before any wait).
export async function openDocument(path, filename, target = window.open("", "_blank")) {
  let response;
  try {
    response = await request(path, { headers: { Accept: "application/pdf, */*" } });
  } catch (error) {
    if (target) target.close();
    throw error;
  }
  const url = URL.createObjectURL(await response.blob());
  if (target) {
    target.location.href = url;
  } else {
    const a = document.createElement("a");
    a.href = url;
    a.download = filename || "document.pdf";
    a.click();
  }
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

export async function logout() {
  const current = session();
  if (current && current.refresh_token) {
    try {
      await fetch("/api/v1/auth/logout", {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Authorization: `Bearer ${current.access_token}`,
        },
        body: JSON.stringify({ refresh_token: current.refresh_token }),
      });
    } catch {
      // Offline: the token simply expires.
    }
  }
  save(null);
}

export function currentUser() {
  const current = session();
  return current && current.me ? current.me : null;
}

// RFC 3339 with the phone's own offset, e.g. 2026-11-02T16:05:09.120+08:00.
export function rfc3339(date = new Date()) {
  const pad = (n, w = 2) => String(Math.abs(n)).padStart(w, "0");
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}` +
    `${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`
  );
}

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function escapeHtml(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
