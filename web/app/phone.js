// What this phone remembers besides the session: its device id and the trip it is working on.

import { uuid } from "./shared/api.js";

const DEVICE_KEY = "medwaste.device";
const MANIFEST_KEY = "medwaste.manifest";

export function deviceId() {
  let id = localStorage.getItem(DEVICE_KEY);
  if (!id) {
    id = `phone-${uuid()}`;
    localStorage.setItem(DEVICE_KEY, id);
  }
  return id;
}

// The manifest (trip) scans are made onto, or null.
export const manifestId = () => localStorage.getItem(MANIFEST_KEY);

export function setManifest(id) {
  if (id) localStorage.setItem(MANIFEST_KEY, id);
  else localStorage.removeItem(MANIFEST_KEY);
}
