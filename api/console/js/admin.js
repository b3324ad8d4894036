// @ts-check
// The admin's screens: users and their roles, every shop (create, place on
// the map, import, export, managers), the notifications that failed, and
// the audit trail.
import { client, ok, send, text, listShops, ApiError } from "./api.js";
import { t, getLang, label } from "./i18n.js";
import { h, mount, field, flash, when, readText } from "./ui.js";
import { makeMap, drawShops, fit } from "./map.js";

/** @type {import("./api.js").components["schemas"]["RolesRequest"]["roles"]} */
const ROLES = ["customer", "marketer", "manager", "admin"];
const notYet = (endpoint) => h("p", { class: "hint" }, t("notYet", { endpoint }));
const missing = (e) => e instanceof ApiError && (e.status === 404 || e.status === 405);

/** #/admin/users */
export async function users(el, query = {}) {
  const q = h("input", { type: "search", name: "q", value: query.q || "" });
  const role = h("select", { name: "role" }, h("option", { value: "" }, t("users.any")), ROLES.map((r) => h("option", { value: r }, label("role", r))));
  /** @type {HTMLSelectElement} */ (role).value = query.role || "";
  const results = h("div", {});
  mount(
    el,
    h("h1", {}, t("users.title")),
    h(
      "form",
      { class: "card row", role: "search", onsubmit: (ev) => (ev.preventDefault(), users(el, { q: /** @type {HTMLInputElement} */ (q).value, role: /** @type {HTMLSelectElement} */ (role).value })) },
      field(t("common.search"), q),
      field(t("users.role"), role),
      h("button", { type: "submit", class: "primary" }, t("common.search")),
    ),
    results,
  );
  try {
    const page = await ok(client.GET("/v1/admin/users", { params: { query: { q: query.q || undefined, role: query.role || undefined, limit: 50 } } }));
    mount(results, h("ul", { class: "cards" }, (page.items || []).map((u) => userCard(u))));
  } catch (e) {
    if (!missing(e)) throw e;
    mount(results, notYet("GET /v1/admin/users"));
  }
}

function userCard(u) {
  const boxes = ROLES.map((r) => h("input", { type: "checkbox", name: "role", value: r, checked: (u.roles || []).includes(r) }));
  return h(
    "li",
    { class: "card" },
    h("h2", {}, u.displayName || u.email),
    h("p", {}, u.email, " · ", h("code", {}, u.id)),
    h(
      "form",
      {
        onsubmit: async (ev) => {
          ev.preventDefault();
          const roles = ROLES.filter((_, i) => /** @type {HTMLInputElement} */ (boxes[i]).checked);
          try {
            await ok(client.POST("/v1/admin/users/{id}/roles", { params: { path: { id: u.id } }, body: { roles } }));
            flash(t("users.rolesSaved"), "ok");
          } catch (e) {
            flash(e.message, "bad");
          }
        },
      },
      h("fieldset", { class: "days" }, h("legend", {}, t("users.roles")), boxes.map((b, i) => h("label", { class: "check" }, b, label("role", ROLES[i])))),
      h("button", { type: "submit" }, t("users.saveRoles")),
    ),
  );
}

/** #/admin/shops */
export async function shops(el) {
  const [list, managers] = await Promise.all([
    listShops({}),
    ok(client.GET("/v1/admin/users", { params: { query: { role: "manager", limit: 200 } } })).catch(() => ({ items: [] })),
  ]);
  /** @type {Map<string, User>} */
  const names = new Map((managers.items || []).map((u) => [u.id, u]));
  const m = makeMap(t("ashops.title"));
  const inp = (a) => h("input", a);
  const name = inp({ name: "name", required: true });
  const address = inp({ name: "address", required: true });
  const tz = inp({ name: "timezone", value: "Europe/Paris", required: true });
  const hours = inp({ name: "openingHours", placeholder: "Mon-Sat 10:00-19:00" });
  const lat = inp({ type: "number", step: "any", name: "lat", required: true });
  const lng = inp({ type: "number", step: "any", name: "lng", required: true });
  const file = inp({ type: "file", name: "import", accept: ".csv,.geojson,.json,text/csv,application/geo+json" });
  const report = h("div", { "aria-live": "polite" });
  const v = (x) => /** @type {HTMLInputElement} */ (x).value;
  mount(
    el,
    h("h1", {}, t("ashops.title")),
    h(
      "div",
      { class: "split" },
      h("div", { class: "col" }, m.el),
      h(
        "div",
        { class: "col" },
        h(
          "form",
          {
            class: "card",
            onsubmit: async (ev) => {
              ev.preventDefault();
              try {
                await ok(client.POST("/v1/shops", { body: { name: v(name), address: v(address), timezone: v(tz), openingHours: v(hours), location: { lat: Number(v(lat)), lng: Number(v(lng)) } } }));
                flash(t("common.saved"), "ok");
                shops(el);
              } catch (e) {
                flash(e.message, "bad");
              }
            },
          },
          h("h2", {}, t("ashops.new")),
          field(t("common.name"), name),
          field(t("ashops.address"), address),
          h("div", { class: "row" }, field(t("ashops.timezone"), tz), field(t("ashops.hours"), hours)),
          h("p", { class: "hint" }, t("ashops.place")),
          h("div", { class: "row" }, field(t("ashops.lat"), lat), field(t("ashops.lng"), lng)),
          h("button", { type: "submit", class: "primary" }, t("common.create")),
        ),
        h(
          "section",
          { class: "card" },
          h("h2", {}, t("ashops.import")),
          field(t("ashops.importFile"), file, t("ashops.importHint")),
          report,
          h("p", {}, t("ashops.export"), ": ", h("button", { type: "button", class: "ghost", onclick: () => download("csv") }, "CSV"), " ", h("button", { type: "button", class: "ghost", onclick: () => download("geojson") }, "GeoJSON")),
        ),
      ),
    ),
    h("h2", {}, t("ashops.title") + ` (${list.length})`),
    h("ul", { class: "cards", "data-testid": "shop-list" }, list.map((s) => shopCard(s, names))),
  );
  file.addEventListener("change", async () => {
    const f = /** @type {HTMLInputElement} */ (file).files?.[0];
    if (!f) return;
    const body = await readText(f);
    const csv = /\.csv$/i.test(f.name) || f.type === "text/csv";
    try {
      const r = await send("POST", "/v1/admin/shops/import", {}, body, csv ? "text/csv" : "application/geo+json");
      const errs = r.errors || [];
      flash(t("ashops.imported", { created: r.created, updated: r.updated, errors: errs.length }), errs.length ? "bad" : "ok");
      await shops(el);
      el.querySelector("[data-testid=import-report]")?.remove();
      if (errs.length) el.prepend(h("ul", { class: "error", "data-testid": "import-report" }, errs.map((e) => h("li", {}, typeof e === "string" ? e : JSON.stringify(e)))));
    } catch (e) {
      mount(report, missing(e) ? notYet("POST /v1/admin/shops/import") : h("p", { class: "error" }, e.message));
    }
  });
  const map = await m.ready;
  const layer = drawShops(map, list);
  fit(map, [layer]);
  let pin = null;
  map.on("click", (e) => {
    const L = /** @type {any} */ (window).L;
    /** @type {HTMLInputElement} */ (lat).value = e.latlng.lat.toFixed(6);
    /** @type {HTMLInputElement} */ (lng).value = e.latlng.lng.toFixed(6);
    if (pin) pin.remove();
    pin = L.circleMarker(e.latlng, { radius: 9, color: "#1d3557", fillColor: "#ffb703", fillOpacity: 1 }).addTo(map);
  });
}

async function download(format) {
  try {
    const body = await text("/v1/admin/shops/export", { query: { format } });
    const a = h("a", { href: URL.createObjectURL(new Blob([body], { type: format === "csv" ? "text/csv" : "application/geo+json" })), download: `shops.${format}` });
    document.body.append(a);
    /** @type {HTMLAnchorElement} */ (a).click();
    a.remove();
  } catch (e) {
    flash(missing(e) ? t("notYet", { endpoint: "GET /v1/admin/shops/export" }) : e.message, "bad");
  }
}

/** @typedef {import("./api.js").components["schemas"]["User"]} User */
/** @typedef {import("./api.js").components["schemas"]["Shop"]} Shop */

/**
 * A shop's card: its managers by name, each removable, and a user picker to
 * add one. names: the known managers by id (ids not in it show as ids).
 * @param {Shop} s
 * @param {Map<string, User>} names
 */
function shopCard(s, names) {
  const nameOf = (id) => (names.has(id) ? names.get(id).displayName : id);
  const label = (id) => (names.has(id) ? `${nameOf(id)} (${names.get(id).email})` : id);
  const redraw = (shop) => card.replaceWith(shopCard(shop, names));
  const remove = async (id) => {
    try {
      await ok(client.DELETE("/v1/shops/{id}/managers/{userId}", { params: { path: { id: s.id, userId: id } } }));
      flash(t("picker.removed", { name: nameOf(id), shop: s.name }), "ok");
      redraw(await ok(client.GET("/v1/shops/{id}", { params: { path: { id: s.id } } })));
    } catch (e) {
      flash(e.message, "bad");
    }
  };
  const add = async (/** @type {User} */ u) => {
    try {
      if (!u.roles.includes("manager")) {
        await ok(client.POST("/v1/admin/users/{id}/roles", { params: { path: { id: u.id } }, body: { roles: [...u.roles, "manager"] } }));
      }
      const shop = await ok(client.POST("/v1/shops/{id}/managers", { params: { path: { id: s.id } }, body: { userId: u.id } }));
      names.set(u.id, u);
      flash(t("picker.done", { name: u.displayName, shop: s.name }), "ok");
      redraw(shop);
    } catch (e) {
      flash(e.message, "bad");
    }
  };
  const ids = s.managerIds || [];
  const card = h(
    "li",
    { class: "card", "data-shop": s.id },
    h("h3", {}, h("a", { href: "#/shops/" + s.id }, s.name)),
    h("p", {}, s.address),
    h("p", { class: "hint" }, `${s.location.lat.toFixed(5)}, ${s.location.lng.toFixed(5)} · ${s.timezone}`),
    h("h4", {}, t("ashops.managers")),
    ids.length
      ? h("ul", { class: "managers" }, ids.map((id) => h("li", {}, h("span", {}, label(id)), h("button", { type: "button", class: "ghost small", "aria-label": `${t("picker.remove")} ${label(id)}`, onclick: () => remove(id) }, t("picker.remove")))))
      : h("p", { class: "hint" }, t("ashops.noManager")),
    userPicker(t("ashops.addManager"), add),
  );
  return card;
}

/**
 * Finds users by name or email (GET /v1/admin/users?q=) as the admin types,
 * and offers each as a button; the latest answer wins over slower earlier ones.
 * @param {string} title
 * @param {(u: User) => void} onPick
 */
function userPicker(title, onPick) {
  const q = /** @type {HTMLInputElement} */ (h("input", { type: "search", name: "userQuery", autocomplete: "off", spellcheck: "false" }));
  const list = h("ul", { class: "picks", "aria-live": "polite" });
  let seq = 0;
  let timer = 0;
  const search = async () => {
    const text = q.value.trim();
    const mine = ++seq;
    if (text.length < 2) return list.replaceChildren();
    const page = await ok(client.GET("/v1/admin/users", { params: { query: { q: text, limit: 8 } } })).catch((e) => (flash(e.message, "bad"), null));
    if (mine !== seq || !page) return;
    const items = page.items || [];
    mount(
      list,
      items.length
        ? items.map((u) =>
            h(
              "li",
              {},
              h("span", { class: "who-is" }, h("strong", {}, u.displayName), " ", h("span", { class: "hint" }, `${u.email} · ${u.roles.map((r) => label("role", r)).join(", ")}`)),
              h("button", { type: "button", class: "small", onclick: () => onPick(u) }, u.roles.includes("manager") ? t("picker.make") : t("picker.grant")),
            ),
          )
        : h("li", { class: "hint" }, t("picker.none", { q: text })),
    );
  };
  q.addEventListener("input", () => {
    clearTimeout(timer);
    timer = window.setTimeout(search, 250);
  });
  q.addEventListener("keydown", (ev) => {
    if (ev.key !== "Enter") return;
    ev.preventDefault();
    clearTimeout(timer);
    search();
  });
  return h("div", { class: "picker" }, h("h4", {}, title), field(t("picker.find"), q, t("picker.help")), list);
}

/** #/admin/failed */
export async function failed(el) {
  const page = await ok(client.GET("/v1/admin/notifications", { params: { query: { status: "failed", limit: 100 } } }));
  const lang = getLang();
  const items = page.items || [];
  mount(
    el,
    h("h1", {}, t("fail.title")),
    items.length === 0
      ? h("p", { class: "empty" }, t("fail.none"))
      : h(
          "table",
          {},
          h("thead", {}, h("tr", {}, [t("fail.at"), t("fail.kind"), t("fail.user"), t("camp.title"), t("fail.reason")].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", {}, items.map((n) => h("tr", {}, h("td", {}, when(n.createdAt, lang)), h("td", {}, n.kind), h("td", {}, h("code", {}, n.userId)), h("td", {}, n.title), h("td", {}, n.reason || "")))),
        ),
  );
}

/**
 * #/admin/audit — who did what for whom, oldest first, a page at a time
 * (the API pages by cursor; the console keeps the cursors it has passed
 * so that "Previous" goes back).
 * @param {HTMLElement} el
 * @param {string[]} [cursors] the after= of each page up to this one
 */
export async function audit(el, cursors = [""]) {
  const after = cursors[cursors.length - 1];
  const [page, shops] = await Promise.all([
    ok(client.GET("/v1/admin/audit", { params: { query: { limit: 50, ...(after ? { after } : {}) } } })),
    listShops({}).catch(() => []),
  ]);
  /** @type {Map<string, string>} */
  const shopName = new Map(shops.map((s) => /** @type {[string, string]} */ ([s.id, s.name])));
  const lang = getLang();
  const items = page.items || [];
  const cols = ["audit.at", "audit.action", "audit.actor", "audit.user", "common.shop", "audit.object"];
  mount(
    el,
    h("h1", {}, t("audit.title")),
    h("p", { class: "hint" }, t("audit.help")),
    items.length === 0
      ? h("p", { class: "empty" }, t("audit.none"))
      : h("div", { class: "scroll" }, h(
          "table",
          { "data-testid": "audit" },
          h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, t(c))))),
          h("tbody", {}, items.map((a) =>
            h("tr", { "data-action": a.action },
              h("td", {}, when(a.at, lang)),
              h("td", {}, label("audit", a.action), a.kind ? ` (${label("activity", a.kind)})` : ""),
              h("td", {}, h("code", {}, a.actorId), " ", label("role", a.actorRole)),
              h("td", {}, h("code", {}, a.userId)),
              h("td", {}, a.shopId ? shopName.get(a.shopId) || h("code", {}, a.shopId) : "—"),
              h("td", {}, h("code", {}, a.objectId)),
            ))),
        )),
    h("div", { class: "actions" },
      cursors.length > 1 ? h("button", { type: "button", onclick: () => audit(el, cursors.slice(0, -1)) }, "← " + t("audit.prev")) : null,
      page.next ? h("button", { type: "button", onclick: () => audit(el, [...cursors, /** @type {string} */ (page.next)]) }, t("audit.next") + " →") : null),
  );
}
