// Short codes as people type them from a label: "XXXX-XXXX", the first eight characters of the
// container id in capitals (service/labels/signing.py: short_code). Base32 uses A–Z and 2–7
// only, so the look-alikes 0, 1 and 8 can only mean O, I and B.

const LOOK_ALIKES = { 0: "O", 1: "I", 8: "B" };

// "abcd ef23", "ABCD-EF23", "aBcDeF23", "0B1E-8C23" → "ABCD-EF23" (…"OBIE-BC23"); null if the
// text cannot be a short code.
export function normalizeShortCode(text) {
  const compact = String(text ?? "")
    .toUpperCase()
    .replace(/[\s\-_.·]/g, "")
    .replace(/[018]/g, (c) => LOOK_ALIKES[c]);
  return /^[A-Z2-7]{8}$/.test(compact) ? `${compact.slice(0, 4)}-${compact.slice(4)}` : null;
}

// The short code of a container id (for ids the server lists without their code).
export function shortCodeOf(containerId) {
  const head = String(containerId || "").slice(0, 8).toUpperCase();
  return head.length === 8 ? `${head.slice(0, 4)}-${head.slice(4)}` : String(containerId || "");
}
