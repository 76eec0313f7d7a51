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

const TRIP_KEY = "medwaste.trip";

// What this phone last knew of the current trip: {id, number, state, the three parties'
// organization ids, vehicle_plate}; {id, number: null} when it has not been shown yet.
export function currentTrip() {
  const id = manifestId();
  if (!id) return null;
  try {
    const trip = JSON.parse(localStorage.getItem(TRIP_KEY));
    if (trip && trip.id === id) return trip;
  } catch {
    // a damaged copy: as if never shown
  }
  return { id, number: null };
}

export function rememberTrip(m) {
  const keep = ["id", "number", "state", "origin_organization_id", "transporter_organization_id", "destination_organization_id", "vehicle_plate"];
  localStorage.setItem(TRIP_KEY, JSON.stringify(Object.fromEntries(keep.map((k) => [k, m[k]]))));
}

// The trip's number for people, its id's head only while the number is not known yet.
export function tripLabel(trip) {
  return trip ? trip.number || `${trip.id.slice(0, 8)}…` : "";
}

// The scan a user makes on every bag of the trip: a driver picks up while the trip is open, the
// destination's operators receive once it is on the road. null when neither applies.
export function tripAction(trip, me) {
  if (!trip || !trip.state || !me || !me.organization) return null;
  const org = me.organization.id;
  if (me.role === "driver" && trip.state === "open" && trip.transporter_organization_id === org) return "pickup";
  const receiver = me.role === "storage_operator" || me.role === "disposal_operator";
  if (receiver && trip.state === "in_transit" && trip.destination_organization_id === org) return "receive";
  return null;
}
