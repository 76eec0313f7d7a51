// Small SVG charts drawn by hand: horizontal bars, grouped bars over time, stacked bars, a
// histogram grid and a site map (an equirectangular projection around the sites' mean latitude).

const NS = "http://www.w3.org/2000/svg";
export const PALETTE = ["#0b5d4b", "#d98c00", "#3d6fb6", "#b3261e", "#7a4fa3", "#2f8f83", "#8c6d1f", "#c2477b", "#5b6b66"];

function esc(value) {
  return String(value ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

function svg(width, height, body, label) {
  return `<svg xmlns="${NS}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(label)}" class="chart">${body}</svg>`;
}

function niceMax(value) {
  if (value <= 0) return 1;
  const exp = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * exp >= value) return m * exp;
  return 10 * exp;
}

// Text widths measured with the page's own font (Chinese glyphs are twice as wide as Latin
// ones: estimating from the number of characters makes labels overlap).
let ruler = null;
let family = null;

export function measure(text, px = 12, weight = 400) {
  ruler ||= document.createElement("canvas").getContext("2d");
  family ||= getComputedStyle(document.body).fontFamily || "sans-serif";
  ruler.font = `${weight} ${px}px ${family}`;
  return ruler.measureText(String(text)).width;
}

// The text, cut with an ellipsis so that it is at most maxWidth wide.
export function fit(text, maxWidth, px = 12, weight = 400) {
  const s = String(text ?? "");
  if (measure(s, px, weight) <= maxWidth) return s;
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (measure(`${s.slice(0, mid)}…`, px, weight) <= maxWidth) lo = mid;
    else hi = mid - 1;
  }
  return `${s.slice(0, lo)}…`;
}

// Items laid out one after another by the measured width of their labels, wrapping before
// maxWidth: {svg, rows}.
function legend(series, x, y, maxWidth = 560) {
  let dx = 0;
  let row = 0;
  const out = series
    .map((s) => {
      const width = 18 + measure(s.label, 12) + 14;
      if (dx > 0 && dx + width > maxWidth) {
        dx = 0;
        row += 1;
      }
      const item = `<g transform="translate(${x + dx},${y + row * 16})" class="legend-item"><rect width="12" height="12" rx="2" fill="${s.color}"/><text x="18" y="11" class="lg">${esc(s.label)}</text></g>`;
      dx += width;
      return item;
    })
    .join("");
  return { svg: out, rows: series.length ? row + 1 : 0 };
}

export function empty(message) {
  return `<div class="chart-empty">${esc(message)}</div>`;
}

// rows: [{label, value (0..1), note}]
export function percentBars(rows, { label = "", good = 0.95, warn = 0.8 } = {}) {
  const rowH = 30;
  const left = 230;
  const width = 640;
  const height = rows.length * rowH + 30;
  const w = width - left - 70;
  let body = "";
  rows.forEach((r, i) => {
    const y = 10 + i * rowH;
    const v = Math.max(0, Math.min(1, r.value ?? 0));
    const colour = r.value == null ? "#c9d3d0" : v >= good ? "#1b7f3b" : v >= warn ? "#d98c00" : "#b3261e";
    body += `<text x="${left - 8}" y="${y + 15}" text-anchor="end" class="tick">${esc(fit(r.label, left - 16, 11))}<title>${esc(r.label)}</title></text>`;
    body += `<rect x="${left}" y="${y + 3}" width="${w}" height="16" rx="3" fill="#eef2f1"/>`;
    body += `<rect x="${left}" y="${y + 3}" width="${(w * v).toFixed(1)}" height="16" rx="3" fill="${colour}"><title>${esc(r.note || "")}</title></rect>`;
    body += `<text x="${left + w + 6}" y="${y + 15}" class="val">${r.value == null ? "–" : `${Math.round(v * 100)}%`}</text>`;
  });
  const gx = left + w * good;
  body += `<line x1="${gx}" x2="${gx}" y1="6" y2="${height - 18}" stroke="#1b7f3b" stroke-dasharray="3 3"/>`;
  body += `<text x="${gx}" y="${height - 4}" text-anchor="middle" class="tick">${Math.round(good * 100)}%</text>`;
  return svg(width, height, body, label);
}

// days: ["2026-11-01", ...]; series: [{label, color, values: [..per day]}]
export function groupedBars(days, series, { label = "", unit = "" } = {}) {
  const width = 640;
  const height = 260;
  const key = legend(series, 48, 6);
  const pad = { l: 48, r: 10, t: 14 + 16 * key.rows, b: 34 };
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const plotW = width - pad.l - pad.r;
  const plotH = height - pad.t - pad.b;
  const groupW = plotW / Math.max(1, days.length);
  const barW = Math.max(2, Math.min(18, (groupW - 6) / series.length));
  let body = key.svg;
  for (let i = 0; i <= 5; i++) {
    const y = pad.t + plotH - (plotH * i) / 5;
    body += `<line x1="${pad.l}" x2="${width - pad.r}" y1="${y}" y2="${y}" stroke="#e3e9e7"/>`;
    body += `<text x="${pad.l - 6}" y="${y + 4}" text-anchor="end" class="tick">${+((max * i) / 5).toFixed(1)}</text>`;
  }
  body += `<text x="6" y="${pad.t - 8}" class="tick">${esc(unit)}</text>`;
  const every = Math.ceil(days.length / 10);
  days.forEach((day, d) => {
    const gx = pad.l + d * groupW + (groupW - barW * series.length) / 2;
    series.forEach((s, k) => {
      const v = s.values[d] || 0;
      const h = (plotH * v) / max;
      body += `<rect x="${(gx + k * barW).toFixed(1)}" y="${(pad.t + plotH - h).toFixed(1)}" width="${(barW - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${s.color}"><title>${esc(`${day} ${s.label}: ${v.toFixed(1)} ${unit}`)}</title></rect>`;
    });
    if (d % every === 0) body += `<text x="${(pad.l + d * groupW + groupW / 2).toFixed(1)}" y="${height - 14}" text-anchor="middle" class="tick">${esc(day.slice(5))}</text>`;
  });
  return svg(width, height, body, label);
}

// Stacked bars per day: series as in groupedBars.
export function stackedBars(days, series, { label = "" } = {}) {
  const width = 640;
  const height = 260;
  const key = legend(series, 40, 6);
  const pad = { l: 40, r: 10, t: 14 + 16 * key.rows, b: 34 };
  const totals = days.map((_, d) => series.reduce((sum, s) => sum + (s.values[d] || 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const plotW = width - pad.l - pad.r;
  const plotH = height - pad.t - pad.b;
  const groupW = plotW / Math.max(1, days.length);
  const barW = Math.max(3, Math.min(34, groupW - 6));
  let body = key.svg;
  const steps = max <= 5 ? max : 5;
  for (let i = 0; i <= steps; i++) {
    const y = pad.t + plotH - (plotH * i) / steps;
    body += `<line x1="${pad.l}" x2="${width - pad.r}" y1="${y}" y2="${y}" stroke="#e3e9e7"/>`;
    body += `<text x="${pad.l - 6}" y="${y + 4}" text-anchor="end" class="tick">${Math.round((max * i) / steps)}</text>`;
  }
  const every = Math.ceil(days.length / 10);
  days.forEach((day, d) => {
    let y = pad.t + plotH;
    const x = pad.l + d * groupW + (groupW - barW) / 2;
    for (const s of series) {
      const v = s.values[d] || 0;
      if (!v) continue;
      const h = (plotH * v) / max;
      y -= h;
      body += `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${s.color}"><title>${esc(`${day} ${s.label}: ${v}`)}</title></rect>`;
    }
    if (d % every === 0) body += `<text x="${(x + barW / 2).toFixed(1)}" y="${height - 14}" text-anchor="middle" class="tick">${esc(day.slice(5))}</text>`;
  });
  return svg(width, height, body, label);
}

// rows: [{label, counts: [..per bucket]}]; buckets: labels. A heat grid with counts.
// rows: [{label, counts, limitIndex?}]: columns from limitIndex on are drawn red (a row's own
// limitIndex wins over the chart's).
export function histogramGrid(rows, buckets, { label = "", limitIndex = null, width = 1240 } = {}) {
  const left = 170;
  const cellW = (width - left - 10) / buckets.length;
  const rowH = 30;
  const height = rows.length * rowH + 36;
  const max = Math.max(1, ...rows.flatMap((r) => r.counts));
  let body = "";
  buckets.forEach((b, i) => {
    body += `<text x="${left + i * cellW + cellW / 2}" y="16" text-anchor="middle" class="tick">${esc(b)}</text>`;
  });
  rows.forEach((r, j) => {
    const y = 26 + j * rowH;
    body += `<text x="${left - 8}" y="${y + 20}" text-anchor="end" class="tick">${esc(fit(r.label, left - 16, 11))}</text>`;
    r.counts.forEach((n, i) => {
      const limit = r.limitIndex !== undefined ? r.limitIndex : limitIndex;
      const late = limit !== null && i >= limit;
      const alpha = n ? 0.15 + (0.85 * n) / max : 0;
      const fill = late ? `rgba(179,38,30,${alpha})` : `rgba(11,93,75,${alpha})`;
      body += `<rect x="${left + i * cellW + 1}" y="${y}" width="${cellW - 2}" height="${rowH - 4}" rx="4" fill="${n ? fill : "#f1f4f3"}"/>`;
      body += `<text x="${left + i * cellW + cellW / 2}" y="${y + 20}" text-anchor="middle" class="${alpha > 0.55 ? "val inv" : "val"}">${n || ""}</text>`;
    });
  });
  return svg(width, height, body, label);
}

// points: [{lat, lon, label, shortLabel, color, org, alert, focus}]
// width, height: the drawing's size (a dense region gets a bigger one, across the page).
// With some points in focus (one organization's sites), the others fade and lose their labels,
// and every focused site is named. A point with `alert` (its organization has critical open
// anomalies) wears a red ring.
export function siteMap(points, { label = "", kinds = [], width = 640, height = 380 } = {}) {
  if (!points.length) return svg(width, height, `<text x="${width / 2}" y="${height / 2}" text-anchor="middle" class="tick">–</text>`, label);
  const lat0 = points.reduce((s, p) => s + p.lat, 0) / points.length;
  const k = Math.cos((lat0 * Math.PI) / 180);
  const xs = points.map((p) => p.lon * k);
  const ys = points.map((p) => p.lat);
  const [minX0, maxX0, minY0, maxY0] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  // One scale for both axes that fits every site inside a margin (room for a dot and its ring).
  const margin = 24;
  const scale = Math.min((width - 2 * margin) / Math.max(maxX0 - minX0, 0.05), (height - 2 * margin) / Math.max(maxY0 - minY0, 0.05));
  const cx = (minX0 + maxX0) / 2;
  const cy = (minY0 + maxY0) / 2;
  const sx = (x) => width / 2 + (x - cx) * scale;
  const sy = (y) => height / 2 - (y - cy) * scale;
  const [minX, maxX] = [cx - width / 2 / scale, cx + width / 2 / scale];
  const [minY, maxY] = [cy - height / 2 / scale, cy + height / 2 / scale];
  const span = Math.max(maxX - minX, maxY - minY);
  let body = `<rect width="${width}" height="${height}" fill="#eef4f2" rx="10"/>`;
  // Graticule every 0.1, 0.5 or 1 degree, labelled.
  const step = span > 4 ? 1 : span > 1 ? 0.5 : 0.1;
  for (let lon = Math.ceil(minX / k / step) * step; lon * k <= maxX; lon += step) {
    const x = sx(lon * k);
    body += `<line x1="${x}" x2="${x}" y1="10" y2="${height - 10}" stroke="#d3e0dc"/><text x="${x + 3}" y="${height - 8}" class="tick">${lon.toFixed(1)}°E</text>`;
  }
  for (let lat = Math.ceil(minY / step) * step; lat <= maxY; lat += step) {
    const y = sy(lat);
    body += `<line x1="10" x2="${width - 10}" y1="${y}" y2="${y}" stroke="#d3e0dc"/><text x="14" y="${y - 3}" class="tick">${lat.toFixed(1)}°N</text>`;
  }
  // Labels where they fit: beside, above or below their site, never over another label, a
  // site or the legend; a site left without a label still names itself on hover.
  const focused = points.some((p) => p.focus);
  const r = points.length > 100 ? 4 : points.length > 30 ? 5 : 7;
  const legendBox = { x: width - 136, y: 8, w: 130, h: kinds.length * 18 + 10 };
  const taken = [legendBox];
  const at = points.map((p) => ({ p, x: sx(p.lon * k), y: sy(p.lat), r: p.focus ? r + 2 : r, named: !focused || p.focus }));
  // Faded sites first, so that the focused ones are drawn over them.
  at.sort((a, b) => Number(a.named) - Number(b.named));
  for (const { x, y, r: radius, named } of at) if (named) taken.push({ x: x - radius, y: y - radius, w: 2 * radius, h: 2 * radius });
  const overlaps = (b) => taken.some((o) => b.x < o.x + o.w && o.x < b.x + b.w && b.y < o.y + o.h && o.y < b.y + b.h);
  const dense = points.length > 60 && !focused;
  let labels = "";
  for (const { p, x, y, r: radius, named } of at) {
    const ring = p.alert ? ` stroke="#b3261e" stroke-width="2.5"` : ` stroke="#fff" stroke-width="${radius > 4 ? 2 : 1}"`;
    const classes = `site${p.focus ? " focus" : ""}${named ? "" : " faded"}${p.alert ? " alert" : ""}`;
    body += `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${radius}" fill="${p.color}"${ring} class="${classes}" data-org="${esc(p.org || "")}"${named ? "" : ' opacity="0.25"'}><title>${esc(`${p.label} (${p.lat.toFixed(4)}, ${p.lon.toFixed(4)})`)}</title></circle>`;
    if (!named) continue;
    const text = fit(focused ? p.siteLabel || p.label : dense ? p.shortLabel || p.label : p.label, dense ? 150 : 200, 12, 600);
    const w = measure(text, 12, 600) + 4;
    const h = 15;
    const spots = [
      { x: x + radius + 3, y: y - h / 2, anchor: "start" },
      { x: x - radius - 3 - w, y: y - h / 2, anchor: "end" },
      { x: x - w / 2, y: y - radius - 2 - h, anchor: "middle" },
      { x: x - w / 2, y: y + radius + 2, anchor: "middle" },
    ];
    const spot = spots.find((b) => b.x >= 2 && b.x + w <= width - 2 && b.y >= 2 && b.y + h <= height - 2 && !overlaps({ ...b, w, h }));
    if (!spot) continue;
    taken.push({ x: spot.x, y: spot.y, w, h });
    const tx = spot.anchor === "start" ? spot.x + 2 : spot.anchor === "end" ? spot.x + w - 2 : spot.x + w / 2;
    labels += `<text x="${tx.toFixed(1)}" y="${(spot.y + 11.5).toFixed(1)}" text-anchor="${spot.anchor}" class="map-label">${esc(text)}</text>`;
  }
  body += labels;
  body += `<rect x="${width - 136}" y="8" width="130" height="${kinds.length * 18 + 10}" rx="6" fill="#eef4f2" opacity="0.9"/>`;
  body += kinds.map((kd, i) => `<g transform="translate(${width - 130},${16 + i * 18})" class="map-legend"><circle cx="6" cy="6" r="${kd.ring ? 5 : 6}" fill="${kd.color}"${kd.ring ? ' stroke="#b3261e" stroke-width="2.5"' : ""}/><text x="16" y="10" class="lg">${esc(fit(kd.label, 108))}</text></g>`).join("");
  return svg(width, height, body, label);
}

// A trip's track from its GeoJSON (GET /api/v1/manifests/{id}/track.geojson): the route as a
// line, the stops as amber dots, the places the track rules flagged as red rings (each named
// on hover), over a graticule; the same projection as the site map.
export function trackMap(collection, { label = "", names = {}, width = 640, height = 380 } = {}) {
  const features = (collection && collection.features) || [];
  const route = features.find((f) => f.properties.feature === "route");
  const line = route ? (route.geometry.type === "LineString" ? route.geometry.coordinates : [route.geometry.coordinates]) : [];
  const marks = features.filter((f) => f.properties.feature !== "route");
  const all = [...line, ...marks.map((f) => f.geometry.coordinates)];
  if (!all.length) return svg(width, height, `<text x="${width / 2}" y="${height / 2}" text-anchor="middle" class="tick">–</text>`, label);
  const lat0 = all.reduce((s, [, lat]) => s + lat, 0) / all.length;
  const k = Math.cos((lat0 * Math.PI) / 180);
  const xs = all.map(([lon]) => lon * k);
  const ys = all.map(([, lat]) => lat);
  const span = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys), 0.01);
  const cx = (Math.min(...xs) + Math.max(...xs)) / 2;
  const cy = (Math.min(...ys) + Math.max(...ys)) / 2;
  const scale = Math.min(width - 40, height - 40) / (span * 1.1);
  const sx = (lon) => width / 2 + (lon * k - cx) * scale;
  const sy = (lat) => height / 2 - (lat - cy) * scale;
  let body = `<rect width="${width}" height="${height}" fill="#eef4f2" rx="10"/>`;
  const step = span > 4 ? 1 : span > 1 ? 0.5 : span > 0.2 ? 0.1 : 0.02;
  const digits = step < 0.1 ? 2 : 1;
  for (let lon = Math.ceil((cx - width / 2 / scale) / k / step) * step; sx(lon) <= width; lon += step) {
    body += `<line x1="${sx(lon).toFixed(1)}" x2="${sx(lon).toFixed(1)}" y1="10" y2="${height - 10}" stroke="#d3e0dc"/><text x="${(sx(lon) + 3).toFixed(1)}" y="${height - 8}" class="tick">${lon.toFixed(digits)}°E</text>`;
  }
  for (let lat = Math.ceil((cy - height / 2 / scale) / step) * step; sy(lat) >= 0; lat += step) {
    body += `<line x1="10" x2="${width - 10}" y1="${sy(lat).toFixed(1)}" y2="${sy(lat).toFixed(1)}" stroke="#d3e0dc"/><text x="14" y="${(sy(lat) - 3).toFixed(1)}" class="tick">${lat.toFixed(digits)}°N</text>`;
  }
  if (line.length > 1) {
    const path = line.map(([lon, lat]) => `${sx(lon).toFixed(1)},${sy(lat).toFixed(1)}`).join(" ");
    body += `<polyline points="${path}" fill="none" stroke="${PALETTE[2]}" stroke-width="3" stroke-linejoin="round" class="track-route"/>`;
  }
  if (line.length) {
    const [[lon0, la0], [lon1, la1]] = [line[0], line[line.length - 1]];
    body += `<circle cx="${sx(lon0).toFixed(1)}" cy="${sy(la0).toFixed(1)}" r="5" fill="${PALETTE[0]}"><title>${esc(names.start || "")}</title></circle>`;
    body += `<rect x="${(sx(lon1) - 5).toFixed(1)}" y="${(sy(la1) - 5).toFixed(1)}" width="10" height="10" fill="${PALETTE[0]}"><title>${esc(names.end || "")}</title></rect>`;
  }
  for (const f of marks) {
    const [lon, lat] = f.geometry.coordinates;
    const p = f.properties;
    const title = p.feature === "stop" ? `${names.stop || ""} ${p.minutes} min` : `${(names.kinds || {})[p.kind] || p.kind}${p.minutes != null ? ` ${p.minutes} min` : ""}`;
    body +=
      p.feature === "stop"
        ? `<circle cx="${sx(lon).toFixed(1)}" cy="${sy(lat).toFixed(1)}" r="7" fill="${PALETTE[1]}" stroke="#fff" stroke-width="2" class="track-stop"><title>${esc(title)}</title></circle>`
        : `<circle cx="${sx(lon).toFixed(1)}" cy="${sy(lat).toFixed(1)}" r="12" fill="none" stroke="${PALETTE[3]}" stroke-width="3" class="track-anomaly" data-kind="${esc(p.kind)}"><title>${esc(title)}</title></circle>`;
  }
  return svg(width, height, body, label);
}
