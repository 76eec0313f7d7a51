// Positions as scans carry them, and the distance between two positions, for deciding when the
// phone has moved far enough to keep a new position (the server judges distances with its own,
// service/geo.py).

const EARTH_RADIUS_M = 6371008.8;

export function haversineMetres(lat1, lon1, lat2, lon2) {
  const rad = Math.PI / 180;
  const dp = (lat2 - lat1) * rad;
  const dl = (lon2 - lon1) * rad;
  const a = Math.sin(dp / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dl / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.sqrt(Math.min(1, a)));
}

// A scan's position from a browser fix: six decimals (about 10 cm), and the fix's accuracy in
// metres, which the server's rules subtract from every distance they judge.
export function scanPosition(pos) {
  const c = pos.coords;
  const place = { latitude: +c.latitude.toFixed(6), longitude: +c.longitude.toFixed(6) };
  if (Number.isFinite(c.accuracy) && c.accuracy > 0) place.accuracy_m = Math.min(100000, Math.round(c.accuracy * 10) / 10);
  return place;
}
