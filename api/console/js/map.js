// @ts-check
// The map: Leaflet with the base map configured on the server
// (HYPERLIEU_CONSOLE_TILES) or none, in which case shops, zones and cells
// are drawn on a plain background and nothing is fetched from elsewhere.
import { h } from "./ui.js";
import { t } from "./i18n.js";

/** @type {Promise<{tiles: string}>|null} */
let settings = null;
const config = () => (settings ||= fetch("config.json").then((r) => r.json()).catch(() => ({ tiles: "" })));

const PARIS = [48.8566, 2.3522];

/**
 * A map in a labelled container. Returns {el, ready}, ready resolving to
 * the Leaflet map once it is laid out.
 * @param {string} label what the map shows, for screen readers
 */
export function makeMap(label) {
  const L = /** @type {any} */ (window).L;
  const el = h("div", { class: "map", role: "region", "aria-label": label });
  const note = h("p", { class: "hint map-note" });
  const wrap = h("div", { class: "map-wrap" }, el, note);
  const ready = config().then((cfg) => {
    const map = L.map(el, { center: PARIS, zoom: 13, keyboard: true, zoomControl: true, attributionControl: true });
    if (cfg.tiles) {
      L.tileLayer(cfg.tiles, { maxZoom: 19, attribution: "© OpenStreetMap" }).addTo(map);
    } else {
      el.classList.add("plain");
      note.textContent = t("map.offline");
    }
    // Laid out after the container is in the page.
    requestAnimationFrame(() => map.invalidateSize());
    return map;
  });
  return { el: wrap, ready };
}

/** Draws shops as labelled dots. */
export function drawShops(map, shops, onClick) {
  const L = /** @type {any} */ (window).L;
  const group = L.featureGroup().addTo(map);
  for (const s of shops) {
    if (!s.location) continue;
    const m = L.circleMarker([s.location.lat, s.location.lng], { radius: 8, color: "#1d3557", weight: 2, fillColor: "#e63946", fillOpacity: 0.9, pmIgnore: true })
      .bindTooltip(s.name, { permanent: shops.length <= 12, direction: "right", className: "shop-label" })
      .addTo(group);
    m.shop = s;
    if (onClick) m.on("click", () => onClick(s));
  }
  return group;
}

/** Draws a campaign's H3 cells: wholly inside in one colour, boundary in another. */
export function drawCells(map, collection) {
  const L = /** @type {any} */ (window).L;
  return L.geoJSON(collection, {
    pmIgnore: true,
    interactive: false,
    style: (f) =>
      f.properties && f.properties.inside
        ? { color: "#2a6f97", weight: 1, fillColor: "#2a6f97", fillOpacity: 0.25 }
        : { color: "#b5651d", weight: 1, dashArray: "3 3", fillColor: "#f4a261", fillOpacity: 0.2 },
  }).addTo(map);
}

/** Fits the map to the layers that have bounds. */
export function fit(map, layers) {
  const L = /** @type {any} */ (window).L;
  let b = null;
  for (const l of layers) {
    if (!l || !l.getBounds) continue;
    const lb = l.getBounds();
    if (!lb.isValid()) continue;
    b = b ? b.extend(lb) : L.latLngBounds(lb.getSouthWest(), lb.getNorthEast());
  }
  // Room on the right for the shops' labels; no animation, so that what
  // follows (a click, a screenshot) sees the final view.
  if (b) map.fitBounds(b.pad(0.15), { maxZoom: 17, animate: false, paddingTopLeft: [20, 20], paddingBottomRight: [150, 20] });
}
