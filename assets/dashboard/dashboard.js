// The supervisors' dashboard: plain script over the cityfix API, no build step.
// Every request rides on the HttpOnly session cookie set by POST /api/v1/session.
// What was drawn is written as JSON into #render-state, which the browser test
// reads and compares with the API.
"use strict";

const HEAT_COLOURS = ["#fff1a8", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"];
const REFRESH_AFTER_MOVE_MS = 250;
const REFRESH_AFTER_LIVE_MS = 1500;
const HOTSPOT_RECENT_DAYS = 7;
const HOTSPOT_HISTORY_DAYS = 365;
const DAY_MS = 86400000;

const rendered = {
  ready: false, jurisdictions: 0, heat: null, clusters: null, hotspots: null,
  figures: null, contractors: [], live: { reports: 0, report_ids: [] }, errors: [],
  // The last request behind each layer and panel, so a test can ask the API the same.
  requests: {},
};
const page = { map: null, layers: {}, summary: null, names: new Map(), timers: {} };

const $ = (id) => document.getElementById(id);
const fmt = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US"));
const hours = (h) => (h === null || h === undefined ? "–" : h.toFixed(1));
const share = (s) => (s === null || s === undefined ? "–" : Math.round(s * 100) + " %");

function publish() {
  $("render-state").textContent = JSON.stringify(rendered);
}

class Unauthenticated extends Error {}

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  if (response.status === 401) throw new Unauthenticated("sign in first");
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const message = body && body.error ? body.error.message : response.statusText;
    throw new Error(`${path.split("?")[0]}: ${message}`);
  }
  return body;
}

function showError(error) {
  if (error instanceof Unauthenticated) return showLogin();
  rendered.errors.push(String(error.message || error));
  publish();
}

function showLogin() {
  $("app").hidden = true;
  $("login").hidden = false;
  $("token").focus();
}

async function signIn(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  try {
    await api("/api/v1/session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: $("token").value }),
    });
    $("token").value = "";
    await start();
  } catch (error) {
    $("login-error").textContent = error.message;
  }
}

async function start() {
  const session = await api("/api/v1/session");
  $("login").hidden = true;
  $("app").hidden = false;
  buildMap();

  const [summary, boundaries] = await Promise.all([
    api("/api/v1/dashboard/summary"),
    api("/api/v1/jurisdictions?format=geojson"),
  ]);
  page.summary = summary;
  drawJurisdictions(boundaries);
  const own = page.names.get(session.jurisdiction_id) || `jurisdiction ${session.jurisdiction_id}`;
  $("who").textContent = `supervisor · ${own}`;
  fillFilters(summary);

  await refreshAll();
  listenLive();
  rendered.ready = true;
  publish();
}

function buildMap() {
  if (page.map) return;
  page.map = L.map("map", { preferCanvas: true, zoomSnap: 0.5 }).setView([0, 0], 2);
  page.layers.jurisdictions = L.geoJSON(null, {
    style: { color: "#44546a", weight: 1.2, fill: true, fillColor: "#ffffff", fillOpacity: 0.55 },
    onEachFeature: (feature, layer) => layer.bindTooltip(feature.properties.name, { sticky: true }),
  }).addTo(page.map);
  page.layers.heat = L.layerGroup().addTo(page.map);
  page.layers.hotspots = L.layerGroup().addTo(page.map);
  page.layers.clusters = L.layerGroup().addTo(page.map);
  page.layers.live = L.layerGroup().addTo(page.map);
  page.map.on("moveend", () => debounce("move", refreshMapLayers, REFRESH_AFTER_MOVE_MS));

  for (const name of ["heat", "clusters", "hotspots", "jurisdictions"]) {
    $(`l-${name}`).addEventListener("change", (event) => {
      const layer = page.layers[name];
      if (event.target.checked) layer.addTo(page.map);
      else page.map.removeLayer(layer);
    });
  }
  for (const id of ["f-category", "f-status", "f-period"]) {
    $(id).addEventListener("change", () => refreshAll().catch(showError));
  }
}

function drawJurisdictions(collection) {
  page.layers.jurisdictions.clearLayers().addData(collection);
  for (const feature of collection.features) page.names.set(feature.id, feature.properties.name);
  rendered.jurisdictions = collection.features.length;
  if (collection.features.length > 0) {
    page.map.fitBounds(page.layers.jurisdictions.getBounds(), { padding: [12, 12] });
  }
}

function fillFilters(summary) {
  for (const [id, values] of [["f-category", summary.categories], ["f-status", summary.statuses]]) {
    const select = $(id);
    const chosen = select.value;
    select.length = 1;
    for (const value of values) select.add(new Option(value.replace(/_/g, " "), value));
    select.value = values.includes(chosen) ? chosen : "";
  }
}

// The period ends at the latest report, so replayed history shows like a live city.
function period() {
  const last = page.summary && page.summary.last_report_at;
  const to = last ? new Date(Date.parse(last) + 1000) : new Date();
  const days = $("f-period").value;
  if (days === "all") return { to, from: null, label: "all history" };
  const from = new Date(to.getTime() - Number(days) * DAY_MS);
  return { to, from, label: `${from.toISOString().slice(0, 10)} – ${to.toISOString().slice(0, 10)}` };
}

function filterParams() {
  const params = new URLSearchParams();
  if ($("f-category").value) params.set("category", $("f-category").value);
  if ($("f-status").value) params.set("status", $("f-status").value);
  return params;
}

function boxParam() {
  const b = page.map.getBounds();
  const clamp = (v, limit) => Math.max(-limit, Math.min(limit, v));
  return [clamp(b.getWest(), 180), clamp(b.getSouth(), 85), clamp(b.getEast(), 180), clamp(b.getNorth(), 85)]
    .map((v) => v.toFixed(5)).join(",");
}

async function refreshAll() {
  const { label } = period();
  $("period-note").textContent = `period: ${label}`;
  $("figures-period").textContent = label;
  await Promise.all([refreshMapLayers(), refreshHotspots(), refreshFigures()]);
  publish();
}

async function refreshMapLayers() {
  const zoom = Math.round(page.map.getZoom());
  const { from, to } = period();
  const heat = filterParams();
  heat.set("bbox", boxParam());
  heat.set("zoom", String(zoom));
  if (from) heat.set("from", from.toISOString());
  heat.set("to", to.toISOString());
  try {
    rendered.requests.heatmap = `/api/v1/heatmap?${heat}`;
    rendered.requests.clusters = `/api/v1/clusters?bbox=${boxParam()}&zoom=${zoom}`;
    const [cells, clusters] = await Promise.all([
      api(rendered.requests.heatmap),
      api(rendered.requests.clusters),
    ]);
    drawHeat(cells);
    drawClusters(clusters);
  } catch (error) {
    showError(error);
  }
  publish();
}

function heatColour(count, max) {
  const level = max <= 1 ? 1 : Math.log(count) / Math.log(max);
  return HEAT_COLOURS[Math.min(HEAT_COLOURS.length - 1, Math.floor(level * HEAT_COLOURS.length))];
}

function drawHeat(collection) {
  const max = collection.max_count || 1;
  const layer = L.geoJSON(collection, {
    style: (f) => ({ fillColor: heatColour(f.properties.count, max), fillOpacity: 0.8, color: "#ffffff", weight: 0.4 }),
    onEachFeature: (f, l) => l.bindTooltip(`${fmt(f.properties.count)} reports`, { sticky: true }),
  });
  page.layers.heat.clearLayers().addLayer(layer);
  rendered.heat = { resolution: collection.resolution, cells: collection.features.length, total: collection.total, max_count: max };
  $("legend").innerHTML = `reports per hexagon (H3 res ${collection.resolution}) ` +
    HEAT_COLOURS.map((c) => `<i style="background:${c}"></i>`).join("") + ` 1 – ${fmt(max)}`;
}

function drawClusters(collection) {
  page.layers.clusters.clearLayers();
  for (const feature of collection.features) {
    const [lon, lat] = feature.geometry.coordinates;
    const { count, expansion_zoom: expansion } = feature.properties;
    if (count > 1) {
      const size = Math.round(18 + 7 * Math.log10(count));
      const icon = L.divIcon({ className: "", iconSize: [size, size],
        html: `<div class="cluster-icon" style="width:${size}px;height:${size}px">${fmt(count)}</div>` });
      const marker = L.marker([lat, lon], { icon, title: `${count} incidents` });
      marker.on("click", () => page.map.setView([lat, lon], expansion || page.map.getZoom() + 2));
      page.layers.clusters.addLayer(marker);
    } else {
      page.layers.clusters.addLayer(L.circleMarker([lat, lon], { radius: 5, color: "#1f5fbf", weight: 2, fillOpacity: 0.8 })
        .bindTooltip(`incident ${feature.properties.id}`));
    }
  }
  rendered.clusters = { zoom: collection.zoom, features: collection.features.length, total: collection.total };
}

async function refreshHotspots() {
  const params = filterParams();
  params.set("until", period().to.toISOString());
  params.set("days", String(HOTSPOT_RECENT_DAYS));
  params.set("history_days", String(HOTSPOT_HISTORY_DAYS));
  try {
    rendered.requests.hotspots = `/api/v1/hotspots?${params}`;
    const collection = await api(rendered.requests.hotspots);
    page.layers.hotspots.clearLayers().addLayer(L.geoJSON(collection, {
      style: { color: "#c0162c", weight: 3, dashArray: "5 3", fill: false },
      onEachFeature: (f, l) => l.bindTooltip(hotspotText(f.properties)),
    }));
    $("hotspot-note").textContent = `last ${HOTSPOT_RECENT_DAYS} days vs the ${HOTSPOT_HISTORY_DAYS} before; ${fmt(collection.cells_tested)} cells tested`;
    $("hotspot-list").innerHTML = collection.features.slice(0, 15)
      .map((f) => `<li>${hotspotText(f.properties)}</li>`).join("") || "<li>none</li>";
    rendered.hotspots = { count: collection.features.length, cells: collection.features.map((f) => f.properties.cell) };
  } catch (error) {
    showError(error);
  }
}

function hotspotText(p) {
  return `${fmt(p.recent_count)} reports, ${p.expected_count.toFixed(1)} expected · score ${p.score.toFixed(1)}`;
}

async function refreshFigures() {
  const { from, to } = period();
  const params = new URLSearchParams({ to: to.toISOString() });
  if (from) params.set("from", from.toISOString());
  try {
    rendered.requests.figures = `/api/v1/dashboard/figures?${params}`;
    const figures = await api(rendered.requests.figures);
    drawFigures(figures);
  } catch (error) {
    showError(error);
  }
}

function drawFigures(figures) {
  const totals = figures.totals;
  const overall = figures.compliance.overall;
  const tiles = [
    ["open", totals.open], ["overdue", totals.overdue, totals.overdue > 0], ["resolved", totals.resolved],
    ["met", overall.met], ["breached", overall.breached, overall.breached > 0], ["met share", share(overall.met_share)],
    ["median h", hours(overall.median_resolve_h)], ["p90 h", hours(overall.p90_resolve_h)], ["work orders", totals.work_orders],
  ];
  $("tiles").innerHTML = tiles.map(([name, value, bad]) =>
    `<div class="tile${bad ? " bad" : ""}" data-figure="${name}"><b>${typeof value === "number" ? fmt(value) : value}</b><span>${name}</span></div>`).join("");

  $("contractors").tBodies[0].innerHTML = figures.contractors.map((c) =>
    `<tr><td>${escapeHtml(c.contractor)}</td><td class="overdue">${fmt(c.overdue)}</td><td>${fmt(c.open)}</td>` +
    `<td>${fmt(c.met)}</td><td>${fmt(c.breached)}</td><td>${share(c.met_share)}</td><td>${hours(c.median_resolve_h)}</td></tr>`).join("");
  fillGroupTable("by-category", figures.compliance.by_category, (key) => key);
  fillGroupTable("by-jurisdiction", figures.compliance.by_jurisdiction, (key) => page.names.get(Number(key)) || key);

  rendered.figures = { ...totals, met: overall.met, breached: overall.breached };
  rendered.contractors = figures.contractors.map((c) => ({ contractor: c.contractor, overdue: c.overdue }));
}

function fillGroupTable(id, groups, label) {
  const rows = Object.entries(groups).sort((a, b) => (b[1].open + b[1].breached) - (a[1].open + a[1].breached));
  $(id).tBodies[0].innerHTML = rows.map(([key, g]) =>
    `<tr><td>${escapeHtml(label(key))}</td><td>${fmt(g.open)}</td><td>${fmt(g.met)}</td><td>${fmt(g.breached)}</td>` +
    `<td>${share(g.met_share)}</td><td>${hours(g.median_resolve_h)}</td><td>${hours(g.p90_resolve_h)}</td></tr>`).join("");
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function listenLive() {
  const source = new EventSource("/api/v1/events/stream");
  source.onopen = () => { $("live-state").textContent = "connected"; };
  source.onerror = () => { $("live-state").textContent = "reconnecting…"; };
  source.addEventListener("report_accepted", (message) => {
    const event = JSON.parse(message.data);
    L.circleMarker([event.lat, event.lon], { radius: 9, color: "#c0162c", weight: 3, fillOpacity: 0.3 })
      .bindTooltip(`new ${event.category} report ${event.report_id}`).addTo(page.layers.live);
    addLiveItem(`${new Date(event.at).toLocaleString()} · new ${event.category.replace(/_/g, " ")} report #${event.report_id}`);
    rendered.live.reports += 1;
    rendered.live.report_ids.push(event.report_id);
    publish();
    debounce("live", () => refreshAfterLive().catch(showError), REFRESH_AFTER_LIVE_MS);
  });
  source.addEventListener("status_changed", (message) => {
    const event = JSON.parse(message.data);
    addLiveItem(`incident #${event.incident_id} is now ${event.status.replace(/_/g, " ")}`);
    debounce("live", () => refreshAfterLive().catch(showError), REFRESH_AFTER_LIVE_MS);
  });
  source.addEventListener("deadline_breached", (message) => {
    const event = JSON.parse(message.data);
    const holder = event.contractor ? event.contractor : "the supervisors' queue";
    addLiveItem(`${new Date(event.at).toLocaleString()} · work order #${event.work_order_id} (${holder}) ` +
      `missed its ${event.deadline} deadline, due ${new Date(event.due_at).toLocaleString()}`);
    debounce("live", () => refreshAfterLive().catch(showError), REFRESH_AFTER_LIVE_MS);
  });
}

async function refreshAfterLive() {
  page.summary = await api("/api/v1/dashboard/summary");
  fillFilters(page.summary);
  await refreshAll();
}

function addLiveItem(text) {
  const item = document.createElement("li");
  item.textContent = text;
  $("live-list").prepend(item);
}

function debounce(name, work, delay_ms) {
  clearTimeout(page.timers[name]);
  page.timers[name] = setTimeout(work, delay_ms);
}

$("login-form").addEventListener("submit", signIn);
start().catch((error) => (error instanceof Unauthenticated ? showLogin() : showError(error)));
