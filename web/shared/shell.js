// What the phone app and the dashboard share around their views: the language switch, signing
// in and out, the session kept across reloads, and a hash router over <section id="view-NAME">.
//
// A view is a module's default export: { name, init?(shell), show?(params), leave?(),
// language?() }. `show` runs each time the view is opened (params: the hash's query string),
// `leave` when another view is opened, `language` when the user switches language.

import { api, ApiError, currentUser, login, logout, session } from "./api.js";
import { applyI18n, initLang, lang, setLang, t } from "./i18n.js";
import { setTimeZone, zoneOf } from "./format.js";
import { errorText } from "./problems.js";

export const $ = (sel, root = document) => root.querySelector(sel);

// A failed fetch (no network) rather than an answer from the server.
export function isNetworkError(error) {
  return error instanceof TypeError || !navigator.onLine;
}

export class Shell {
  // views: the view modules; home: the view shown for an empty or unknown hash; titleKey: the
  // page title's i18n key; deviceId: a function giving the device id a sign-in names (phones);
  // keepIdentityOffline: without a network, stay signed in as the last known user (phones);
  // homeAfterSignIn: go to the home view after signing in; scrollOnShow: scroll to the top when
  // a view opens; onSession(me): after signing in or restoring a session; onLanguage(): after
  // the language changed.
  constructor({ views, home, titleKey, deviceId = null, keepIdentityOffline = false, homeAfterSignIn = false, scrollOnShow = false, onSession = () => {}, onLanguage = () => {} }) {
    this.views = new Map(views.map((v) => [v.name, v]));
    this.home = home;
    this.options = { titleKey, deviceId, keepIdentityOffline, homeAfterSignIn, scrollOnShow, onSession, onLanguage };
    this.me = null;
    this.current = null;
  }

  // The signed-in user ({user, role, organization}) or null; dates follow their jurisdiction.
  set me(value) {
    this._me = value;
    setTimeZone(value && value.organization ? zoneOf(value.organization.jurisdiction) : undefined);
  }

  get me() {
    return this._me;
  }

  get role() {
    return this.me ? this.me.role : null;
  }

  async start() {
    initLang();
    this.applyLanguage();
    this.bindSignIn();
    this.bindLanguageSwitch();
    for (const view of this.views.values()) if (view.init) view.init(this);
    await this.restore();
    window.addEventListener("hashchange", () => this.route());
    this.route();
  }

  // The session saved by an earlier visit: asks the server who it belongs to.
  async restore() {
    if (!session()) return;
    try {
      this.me = await api("/api/v1/me");
    } catch (error) {
      const signedOut = error instanceof ApiError && error.status === 401;
      this.me = !signedOut && this.options.keepIdentityOffline ? currentUser() : null;
    }
    if (this.me) await this.options.onSession(this.me);
  }

  bindSignIn() {
    const form = $("#login-form");
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      $("#login-error").textContent = "";
      const deviceId = this.options.deviceId ? this.options.deviceId() : null;
      try {
        this.me = await login(form.username.value.trim(), form.password.value, deviceId);
      } catch (error) {
        $("#login-error").textContent = error instanceof ApiError && error.status === 401 ? t("login.failed") : errorText(error);
        return;
      }
      form.password.value = "";
      await this.options.onSession(this.me);
      if (this.options.homeAfterSignIn) location.hash = `#${this.home}`;
      this.route();
    });
    $("#signout").addEventListener("click", async () => {
      await logout();
      this.me = null;
      this.route();
    });
    window.addEventListener("medwaste:signed-out", () => {
      this.me = null;
      this.route();
    });
  }

  bindLanguageSwitch() {
    $("#lang").addEventListener("click", () => {
      setLang(lang() === "zh" ? "en" : "zh");
      this.applyLanguage();
      this.route();
    });
  }

  applyLanguage() {
    applyI18n(document);
    $("#lang").textContent = lang() === "zh" ? "EN" : "中文";
    document.title = t(this.options.titleKey);
    for (const view of this.views.values()) if (view.language) view.language();
    this.options.onLanguage();
  }

  // The view named by the hash ("#name" or "#name?key=value"), the sign-in form when signed out.
  route() {
    const [name, query] = (location.hash || `#${this.home}`).slice(1).split("?");
    this.show(this.views.has(name) && name !== "login" ? name : this.home, new URLSearchParams(query || ""));
  }

  show(name, params = new URLSearchParams()) {
    if (!this.me) name = "login";
    const previous = this.current;
    this.current = name;
    for (const v of [...this.views.keys(), "login"]) {
      const section = $(`#view-${v}`);
      if (section) section.hidden = v !== name;
    }
    $("#tabs").hidden = !this.me;
    $("#signout").hidden = !this.me;
    for (const a of document.querySelectorAll("#tabs a")) a.classList.toggle("on", a.getAttribute("href") === `#${name}`);
    if (previous && previous !== name && this.views.get(previous) && this.views.get(previous).leave) this.views.get(previous).leave();
    const view = this.views.get(name);
    if (view && view.show) view.show(params);
    if (this.options.scrollOnShow) window.scrollTo(0, 0);
  }
}
