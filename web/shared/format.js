// Dates as people read them, in the interface's language.

import { lang } from "./i18n.js";

// A date and time, e.g. "02/11/2026, 16:05" or "2026/11/2 16:05"; "" for no value.
export function fmtDateTime(value, dateStyle = "short") {
  if (!value) return "";
  return new Date(value).toLocaleString(lang() === "zh" ? "zh-CN" : "en-GB", { dateStyle, timeStyle: "short" });
}
