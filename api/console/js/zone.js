// @ts-check
// A campaign's zone, three ways: drawn on the map (Geoman: polygons with
// holes, circles), typed from the keyboard (a circle's centre and radius, or a
// polygon's vertices and holes) or imported from a GeoJSON file; or "around
// these shops, within R metres", which the API keeps as {shops} so that the
// zone follows a shop that moves.
import { t, num } from "./i18n.js";
import { h, mount, field, readText } from "./ui.js";
import { makeMap, fit } from "./map.js";

/** @typedef {import("./api.js").components["schemas"]["GeofenceInput"]} GeofenceInput */
/** @typedef {import("./api.js").components["schemas"]["Shop"]} Shop */

const L = () => /** @type {any} */ (window).L;
const DEFAULT_RADIUS = 300;

/**
 * Reads the drawn layers into the API's geofence shape, or null.
 * @returns {GeofenceInput|null}
 */
function drawnZone(map) {
  const layers = map.pm.getGeomanLayers().filter((l) => l instanceof L().Polygon || l instanceof L().Circle);
  const circles = layers.filter((l) => l instanceof L().Circle);
  const polys = layers.filter((l) => !(l instanceof L().Circle));
  if (!layers.length) return null;
  if (circles.length && !polys.length) {
    return { circles: circles.map((c) => ({ center: { lat: c.getLatLng().lat, lng: c.getLatLng().lng }, radiusM: Math.round(c.getRadius()) })) };
  }
  const coords = [];
  for (const p of polys) {
    const g = p.toGeoJSON().geometry;
    if (g.type === "Polygon") coords.push(g.coordinates);
    else if (g.type === "MultiPolygon") coords.push(...g.coordinates);
  }
  for (const c of circles) coords.push([circlePolygon(c)]); // mixed: circles become polygons
  return coords.length === 1 ? { type: "Polygon", coordinates: coords[0] } : { type: "MultiPolygon", coordinates: coords };
}

function circlePolygon(c) {
  const { lat, lng } = c.getLatLng();
  const r = c.getRadius();
  const ring = [];
  for (let i = 0; i <= 32; i++) {
    const a = (2 * Math.PI * i) / 32;
    ring.push([lng + (r * Math.sin(a)) / (111320 * Math.cos((lat * Math.PI) / 180)), lat + (r * Math.cos(a)) / 110540]);
  }
  return ring;
}

/** Draws a geofence (API shape or GeoJSON geometry) as editable layers. */
function drawZone(map, g) {
  const out = [];
  const ring = (r) => r.map(([lng, lat]) => [lat, lng]);
  if (g.type === "Polygon") out.push(L().polygon(g.coordinates.map(ring)));
  if (g.type === "MultiPolygon") for (const p of g.coordinates) out.push(L().polygon(p.map(ring)));
  for (const c of g.circles || []) out.push(L().circle([c.center.lat, c.center.lng], { radius: c.radiusM }));
  for (const l of out) l.addTo(map);
  return out;
}

/** The geometry of an imported GeoJSON file: a geometry, a Feature, or a FeatureCollection of polygons. */
function importedZone(json) {
  const geoms = [];
  const walk = (o) => {
    if (!o) return;
    if (o.type === "FeatureCollection") o.features.forEach(walk);
    else if (o.type === "Feature") walk(o.geometry);
    else if (o.type === "Polygon") geoms.push(o.coordinates);
    else if (o.type === "MultiPolygon") geoms.push(...o.coordinates);
  };
  walk(json);
  if (!geoms.length) throw new Error(t("zone.noPolygon"));
  return geoms.length === 1 ? { type: "Polygon", coordinates: geoms[0] } : { type: "MultiPolygon", coordinates: geoms };
}

/**
 * Parses typed vertices: one "latitude, longitude" a line, an empty line
 * before each hole. Returns Leaflet rings ([lat, lng]) or throws, naming the line.
 * @param {string} text
 * @returns {number[][][]}
 */
export function parseRings(text) {
  const rings = [[]];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line) {
      if (rings[rings.length - 1].length) rings.push([]);
      return;
    }
    const parts = line.split(/[\s,;]+/).filter(Boolean).map(Number);
    const [lat, lng] = parts;
    if (parts.length !== 2 || !(Math.abs(lat) <= 90) || !(Math.abs(lng) <= 180)) throw new Error(t("zone.badLine", { n: i + 1 }));
    rings[rings.length - 1].push([lat, lng]);
  });
  const full = rings.filter((r) => r.length);
  if (!full.length) throw new Error(t("zone.noVertices"));
  full.forEach((r, i) => {
    const [a, b] = [r[0], r[r.length - 1]];
    if (r.length > 1 && a[0] === b[0] && a[1] === b[1]) r.pop(); // typed closed: Leaflet closes rings itself
    if (r.length < 3) throw new Error(t("zone.fewVertices", { ring: i === 0 ? t("zone.outer") : t("zone.hole", { n: i }) }));
  });
  return full;
}

/** A number typed into an input, or NaN. */
const numberOf = (el) => (/** @type {HTMLInputElement} */ (el).value.trim() === "" ? NaN : Number(/** @type {HTMLInputElement} */ (el).value));

/** The keyboard alternative to drawing: a circle by centre and radius, a polygon by its vertices. */
function typedPanel(getMap, onAdded) {
  const inp = (a) => h("input", { type: "number", step: "any", ...a });
  const lat = inp({ name: "circleLat", min: -90, max: 90, placeholder: "48.8566" });
  const lng = inp({ name: "circleLng", min: -180, max: 180, placeholder: "2.3522" });
  const radius = inp({ name: "circleRadius", min: 10, max: 50000, step: 1, value: DEFAULT_RADIUS });
  const vertices = h("textarea", { name: "vertices", rows: 6, spellcheck: "false", placeholder: "48.8600, 2.3500\n48.8600, 2.3600\n48.8540, 2.3600\n48.8540, 2.3500\n\n48.8580, 2.3540\n48.8580, 2.3560\n48.8560, 2.3560" });
  const err = h("p", { class: "error", role: "alert" });
  const addCircle = () => {
    err.textContent = "";
    const [a, o, r] = [numberOf(lat), numberOf(lng), numberOf(radius)];
    if (!(Math.abs(a) <= 90)) return (err.textContent = t("zone.badLat"));
    if (!(Math.abs(o) <= 180)) return (err.textContent = t("zone.badLng"));
    if (!(r >= 10 && r <= 50000)) return (err.textContent = t("zone.badRadius"));
    onAdded([L().circle([a, o], { radius: r }).addTo(getMap())], t("zone.circleAdded", { m: num(r) }));
  };
  const addPolygon = () => {
    err.textContent = "";
    try {
      const rings = parseRings(/** @type {HTMLTextAreaElement} */ (vertices).value);
      onAdded([L().polygon(rings).addTo(getMap())], t("zone.polygonAdded", { holes: rings.length - 1 }));
    } catch (e) {
      err.textContent = e.message;
    }
  };
  return h(
    "div",
    { class: "typed", "data-testid": "typed-zone" },
    h("h3", {}, t("zone.typed")),
    h("p", { class: "hint" }, t("zone.typedHelp")),
    h(
      "fieldset",
      {},
      h("legend", {}, t("zone.circle")),
      h("div", { class: "row" }, field(t("zone.centerLat"), lat), field(t("zone.centerLng"), lng), field(t("zone.radius"), radius)),
      h("button", { type: "button", onclick: addCircle }, t("zone.addCircle")),
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, t("zone.polygon")),
      field(t("zone.vertices"), vertices, t("zone.verticesHelp")),
      h("button", { type: "button", onclick: addPolygon }, t("zone.addPolygon")),
    ),
    err,
  );
}

/** "Around these shops": a checkbox per shop and the radius; circles show it on the map. */
function shopsPanel(shops, chosen, radiusM, onChange) {
  const radius = h("input", { type: "number", name: "shopRadius", min: 10, max: 50000, step: 10, value: radiusM || DEFAULT_RADIUS, oninput: onChange });
  const filter = h("input", { type: "search", name: "shopFilter", autocomplete: "off" });
  const boxes = shops
    .filter((s) => s.location)
    .map((s) => ({ shop: s, box: /** @type {HTMLInputElement} */ (h("input", { type: "checkbox", name: "zoneShop", value: s.id, checked: chosen.includes(s.id), onchange: onChange })) }));
  const items = boxes.map(({ shop, box }) => h("li", {}, h("label", { class: "check" }, box, shop.name, h("span", { class: "hint" }, " · " + shop.address))));
  filter.addEventListener("input", () => {
    const q = /** @type {HTMLInputElement} */ (filter).value.trim().toLowerCase();
    boxes.forEach(({ shop }, i) => (items[i].hidden = !!q && !`${shop.name} ${shop.address}`.toLowerCase().includes(q)));
  });
  const el = h(
    "div",
    { class: "around", "data-testid": "shops-zone" },
    h("p", { class: "hint" }, t("zone.shopsHelp")),
    field(t("zone.radius"), radius),
    shops.length > 6 ? field(t("zone.shopFilter"), filter) : null,
    h("fieldset", {}, h("legend", {}, t("zone.shops")), boxes.length ? h("ul", { class: "shop-picks" }, items) : h("p", { class: "hint" }, t("zone.noShops"))),
  );
  return {
    el,
    picked: () => boxes.filter(({ box }) => box.checked).map(({ shop }) => shop),
    radius: () => numberOf(radius),
  };
}

/**
 * The zone editor of a campaign. existing: the campaign's geofence, or null.
 * Returns the section, the map once ready, and geofence() for the request
 * (null when nothing is drawn, chosen or typed).
 * @param {any} existing
 * @param {Shop[]} shops
 */
export function zoneEditor(existing, shops) {
  const m = makeMap(t("camp.zone"));
  const fromShops = !!(existing && existing.shops);
  /** @type {any} */
  let map = null;
  let mode = fromShops ? "shops" : "draw";
  let stashed = [];
  const status = h("p", { class: "hint", role: "status" });
  const err = h("p", { class: "error", role: "alert" });
  const fileIn = h("input", { type: "file", accept: ".geojson,.json,application/geo+json,application/json", name: "zoneFile" });
  const added = (layers, msg) => {
    fit(map, layers);
    status.textContent = msg;
  };
  const around = shopsPanel(shops, fromShops ? existing.shops.shopIds : [], fromShops ? existing.shops.radiusM : 0, () => showAround());
  const draw = h(
    "div",
    { class: "draw" },
    h("p", { class: "hint" }, t("camp.zoneHelp")),
    h("div", { class: "row" }, field(t("camp.importZone"), fileIn), h("button", { type: "button", class: "ghost", onclick: () => clear() }, t("camp.clearZone"))),
    typedPanel(() => map, added),
  );
  const radios = ["draw", "shops"].map((k) =>
    h("label", { class: "check" }, h("input", { type: "radio", name: "zoneKind", value: k, checked: mode === k, onchange: () => setMode(k) }), t("zone.kind." + k)),
  );
  around.el.hidden = mode !== "shops";
  draw.hidden = mode !== "draw";
  const el = h("div", {}, h("fieldset", { class: "zone-kind" }, h("legend", {}, t("zone.kind")), radios), m.el, status, err, draw, around.el);

  let circles = null;
  function showAround() {
    if (circles) circles.remove();
    circles = null;
    if (!map || mode !== "shops") return;
    const r = around.radius();
    circles = L().featureGroup(
      around.picked().map((s) => L().circle([s.location.lat, s.location.lng], { radius: r > 0 ? r : DEFAULT_RADIUS, pmIgnore: true, interactive: false, color: "#6f42c1", weight: 2, fillOpacity: 0.15 })),
    ).addTo(map);
    status.textContent = t("zone.aroundStatus", { n: around.picked().length, m: num(r || 0) });
  }
  function clear() {
    map.pm.getGeomanLayers().forEach((l) => l.remove());
    status.textContent = "";
  }
  function setMode(k) {
    mode = k;
    draw.hidden = k !== "draw";
    around.el.hidden = k !== "shops";
    if (!map) return;
    if (k === "shops") {
      stashed = map.pm.getGeomanLayers();
      stashed.forEach((l) => l.remove());
      map.pm.removeControls();
    } else {
      stashed.forEach((l) => l.addTo(map));
      stashed = [];
      addTools(map);
    }
    showAround();
  }
  onImport(fileIn, err, (g, name) => {
    clear();
    added(drawZone(map, g), t("zone.imported", { name }));
  });

  const ready = m.ready.then((mp) => {
    map = mp;
    if (mode === "draw") addTools(map);
    const zone = existing && !fromShops ? drawZone(map, existing) : [];
    showAround();
    return { map, zone: zone.length ? zone : circles ? [circles] : [] };
  });

  /** @returns {GeofenceInput|null} */
  function geofence() {
    if (mode === "shops") {
      const ids = around.picked().map((s) => s.id);
      return ids.length ? { shops: { shopIds: ids, radiusM: around.radius() } } : null;
    }
    return map ? drawnZone(map) : null;
  }
  return { el, ready, geofence, mode: () => mode };
}

/** Reads a GeoJSON file chosen in input into a zone for use, or says why it cannot. */
function onImport(input, err, use) {
  input.addEventListener("change", async () => {
    const f = /** @type {HTMLInputElement} */ (input).files?.[0];
    if (!f) return;
    err.textContent = "";
    try {
      use(importedZone(JSON.parse(await readText(f))), f.name);
    } catch (e) {
      err.textContent = t("zone.importFailed", { msg: e.message });
    }
  });
}

function addTools(map) {
  map.pm.addControls({
    position: "topleft",
    drawMarker: false,
    drawCircleMarker: false,
    drawPolyline: false,
    drawText: false,
    rotateMode: false,
    dragMode: false,
    drawRectangle: true,
    drawPolygon: true,
    drawCircle: true,
    cutPolygon: true,
    editMode: true,
    removalMode: true,
  });
}
