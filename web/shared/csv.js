// CSV for spreadsheets. A text cell that begins with = + - @, a tab or a carriage return would
// be read as a formula (a note typed on a phone could run in a regulator's spreadsheet): it
// gets a leading apostrophe, as OWASP recommends. Numbers stay numbers.
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(v) {
  let s = v == null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
  if (typeof v === "string" && FORMULA_START.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(rows) {
  return rows.map((r) => r.map(csvCell).join(",")).join("\r\n");
}
