// Dates as people read them: in the interface's language and in the time zone of the user's
// jurisdiction (a Chinese region's day starts at 00:00 Beijing time, not at UTC midnight),
// whatever zone the browser itself is set to.

import { lang } from "./i18n.js";

// The zone of a jurisdiction (ISO 3166-2, e.g. "CN-15"), by country. Countries spanning
// several zones (the US) are left to the browser's own zone.
const ZONES = { CN: "Asia/Shanghai", HK: "Asia/Hong_Kong", MO: "Asia/Macau", IN: "Asia/Kolkata" };

let zone; // undefined: the browser's zone

export function zoneOf(jurisdiction) {
  return ZONES[String(jurisdiction || "").split("-")[0].toUpperCase()];
}

export function setTimeZone(value) {
  zone = value || undefined;
}

export const timeZone = () => zone;

// A date and time, e.g. "02/11/2026, 16:05" or "2026/11/2 16:05"; "" for no value.
export function fmtDateTime(value, dateStyle = "short") {
  if (!value) return "";
  return new Date(value).toLocaleString(lang() === "zh" ? "zh-CN" : "en-GB", { dateStyle, timeStyle: "short", timeZone: zone });
}

export function fmtTime(value) {
  return new Date(value).toLocaleTimeString(lang() === "zh" ? "zh-CN" : "en-GB", { timeZone: zone });
}

function parts(instant) {
  const out = {};
  const format = new Intl.DateTimeFormat("en-GB", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  for (const p of format.formatToParts(new Date(instant))) out[p.type] = p.value;
  return out;
}

// The calendar day ("2026-11-02") an instant falls on in the zone.
export function dayKey(value) {
  const p = parts(new Date(value).getTime());
  return `${p.year}-${p.month}-${p.day}`;
}

// The instant (ms) at which the zone's clock shows `day` ("2026-11-02") at hh:mm:ss.ms.
export function zoneInstant(day, h = 0, m = 0, s = 0, ms = 0) {
  const [y, mo, d] = day.split("-").map(Number);
  const wall = Date.UTC(y, mo - 1, d, h, m, s, ms);
  let guess = wall;
  for (let i = 0; i < 2; i++) {
    const p = parts(guess);
    const shown = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second, guess % 1000);
    guess += wall - shown;
  }
  return guess;
}
