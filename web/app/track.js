// The trip's track: while this phone's driver has a trip open (picked up, on the road), its
// position is recorded every 30 s or every 100 m, whichever comes first, kept in the phone's
// store (offline too) and sent in batches. Nothing is recorded without an open trip, and
// recording stops when the trip is received, left or signed out of.

import { api, ApiError, rfc3339 } from "./shared/api.js";
import { isNetworkError } from "./shared/shell.js";
import { currentTrip, deviceId, rememberTrip } from "./phone.js";
import { haversineMetres } from "./geo.js";
import * as store from "./store.js";

const EVERY_MS = 30000;
const EVERY_M = 100;
const BATCH = 500;
const OPEN_STATES = new Set(["open", "in_transit"]);

let watch = null;
let tripId = null;
let last = null; // the last point kept: {at (ms), latitude, longitude}
let sending = false;

// The trip this user records now, or null: a driver of the trip's transporter, trip open.
function recordingTrip(me) {
  const trip = currentTrip();
  if (!trip || !me || me.role !== "driver" || !me.organization) return null;
  if (!OPEN_STATES.has(trip.state) || trip.transporter_organization_id !== me.organization.id) return null;
  return trip;
}

// Start or stop recording to fit what the phone knows now (the user, the trip and its state).
export function refresh(me) {
  const trip = recordingTrip(me);
  if (!trip || !navigator.geolocation) {
    stop();
    return false;
  }
  if (watch !== null && tripId === trip.id) return true;
  stop();
  tripId = trip.id;
  watch = navigator.geolocation.watchPosition(keep, () => {}, { enableHighAccuracy: true, maximumAge: 10000 });
  document.body.dataset.tracking = "1";
  return true;
}

// Ask the server how the recorded trip stands (signed, received) and follow it: recording
// stops as soon as the phone learns the trip was received.
export async function follow(me) {
  if (tripId && navigator.onLine) {
    try {
      rememberTrip(await api(`/api/v1/manifests/${encodeURIComponent(tripId)}`));
    } catch (error) {
      if (!isNetworkError(error) && !(error instanceof ApiError)) console.warn("track", error);
    }
  }
  return refresh(me);
}

export function stop() {
  if (watch !== null && navigator.geolocation) navigator.geolocation.clearWatch(watch);
  watch = null;
  tripId = null;
  last = null;
  delete document.body.dataset.tracking;
}

async function keep(pos) {
  if (!tripId) return;
  const { latitude, longitude, accuracy, speed, heading } = pos.coords;
  const at = pos.timestamp || Date.now();
  if (last && at - last.at < EVERY_MS && haversineMetres(last.latitude, last.longitude, latitude, longitude) < EVERY_M) return;
  last = { at, latitude, longitude };
  const point = {
    manifest_id: tripId,
    recorded_at: rfc3339(new Date(at)),
    latitude: +latitude.toFixed(6),
    longitude: +longitude.toFixed(6),
    accuracy_m: Math.max(1, Math.round(accuracy || 1)),
  };
  if (Number.isFinite(speed) && speed >= 0) point.speed_mps = +speed.toFixed(1);
  if (Number.isFinite(heading) && heading >= 0 && heading < 360) point.heading_deg = Math.round(heading) % 360;
  await store.put("track", { key: `${point.manifest_id}|${point.recorded_at}`, point, queued_at: at });
}

// Send what is queued, a batch at a time. A point leaves the queue once the server has answered
// for it (stored, already stored, or refused); a server fault leaves it for the next round.
export async function send() {
  if (sending) return;
  sending = true;
  try {
    for (;;) {
      const items = (await store.all("track", "queued_at")).slice(0, BATCH);
      if (!items.length) return;
      const body = await api("/mobile/v1/tracks", { method: "POST", body: { device_id: deviceId(), points: items.map((i) => i.point) } });
      let answered = 0;
      for (const [i, result] of body.results.entries()) {
        if (result.error && Number(result.error.status) >= 500) continue;
        await store.remove("track", items[i].key);
        answered += 1;
      }
      if (answered < items.length) return;
    }
  } catch (error) {
    if (!isNetworkError(error) && !(error instanceof ApiError && error.status === 401)) console.warn("track", error);
  } finally {
    sending = false;
  }
}

export const queuedPoints = () => store.count("track");
