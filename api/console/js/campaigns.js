// @ts-check
// The marketer's screens: the campaign list with its funnel, the editor with
// the zone on the map, the live push preview, and the fan segments.
import { client, ok, listShops, ApiError } from "./api.js";
import { t, num, getLang, label } from "./i18n.js";
import { h, mount, field, flash, localInput } from "./ui.js";
import { drawCells, drawShops, fit } from "./map.js";
import { zoneEditor } from "./zone.js";
import { experimentEditor, experimentTable } from "./experiment.js";

const STAGES = ["entered", "triggered", "pushed", "opened", "redeemed"];

/** The funnel as a bar chart, each bar labelled with its number. */
export function funnel(stats, compact = false) {
  const max = Math.max(1, ...STAGES.map((s) => stats[s] || 0));
  const rows = STAGES.map((s) => bar(t("camp." + s), stats[s] || 0, max, s));
  for (const [reason, n] of Object.entries(stats.suppressed || {})) {
    if (!compact || n) rows.push(bar(t("camp.suppressed", { reason: label("reason", reason) }), n, max, "suppressed"));
  }
  return h("dl", { class: "funnel" + (compact ? " compact" : ""), "data-testid": "funnel" }, rows);
}

function bar(label, n, max, kind) {
  const fill = h("span", { class: "bar-fill " + kind });
  fill.style.width = `${Math.round((100 * n) / max)}%`; // CSSOM, allowed by the CSP
  return h("div", { class: "bar", "data-stage": kind }, h("dt", {}, label), h("dd", {}, h("span", { class: "bar-track" }, fill), h("b", { class: "bar-n" }, num(n))));
}

const statusBadge = (s) => h("span", { class: "badge " + s }, t("status." + s));

/** #/campaigns */
export async function list(el) {
  const cs = await ok(client.GET("/v1/campaigns"));
  const stats = await Promise.all(cs.map((c) => ok(client.GET("/v1/campaigns/{id}/stats", { params: { path: { id: c.id } } })).catch(() => null)));
  mount(
    el,
    h("div", { class: "head" }, h("h1", {}, t("camp.list")), h("a", { class: "button primary", href: "#/campaigns/new" }, t("camp.new"))),
    cs.length === 0
      ? h("p", { class: "empty" }, t("camp.none"))
      : h(
          "ul",
          { class: "cards" },
          cs.map((c, i) =>
            h(
              "li",
              { class: "card campaign" },
              h("h2", {}, h("a", { href: "#/campaigns/" + c.id }, c.name), " ", statusBadge(c.status)),
              stats[i] ? funnel(stats[i], true) : null,
            ),
          ),
        ),
  );
}

/** @typedef {import("./api.js").components["schemas"]} schemas */
/** @type {schemas["ScheduleInput"]["days"]} */
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/** "FR · tu (familiar)", "EN · formal": a text's language and tone, as the screen names them. */
const toneOf = (x) => `${x.locale.toUpperCase()} · ${x.locale === "fr" ? t(x.formality === "familiar" ? "camp.tu" : "camp.vous") : t("camp.enFormal")}`;

/** The status changes, each its own operation. */
const transition = {
  activate: (id) => client.POST("/v1/campaigns/{id}/activate", { params: { path: { id } } }),
  pause: (id) => client.POST("/v1/campaigns/{id}/pause", { params: { path: { id } } }),
  end: (id) => client.POST("/v1/campaigns/{id}/end", { params: { path: { id } } }),
};
/** @type {[schemas["OfferTextInput"]["locale"], schemas["OfferTextInput"]["formality"]][]} */
const TEXTS = [
  ["fr", "familiar"],
  ["fr", "formal"],
  ["en", "formal"],
];

/** #/campaigns/new and #/campaigns/:id */
export async function edit(el, id) {
  const [c, segs, shops] = await Promise.all([
    id ? ok(client.GET("/v1/campaigns/{id}", { params: { path: { id } } })) : null,
    ok(client.GET("/v1/admin/segments")).catch(() => ({ total: 0, counts: {} })),
    listShops({}).catch((e) => (console.warn("shops", e), [])),
  ]);
  const inp = (attrs) => h("input", attrs);
  const name = inp({ name: "name", required: true, value: c ? c.name : "", maxlength: 120 });
  const trigger = h("select", { name: "trigger" }, h("option", { value: "enter" }, t("camp.trigger.enter")), h("option", { value: "dwell" }, t("camp.trigger.dwell")), h("option", { value: "exit" }, t("camp.trigger.exit")));
  /** @type {HTMLSelectElement} */ (trigger).value = c ? c.trigger.kind : "enter";
  const dwell = inp({ type: "number", name: "dwell", min: 10, max: 86400, value: c && c.trigger.dwellSeconds ? c.trigger.dwellSeconds : 300 });
  const minDwell = inp({ type: "number", name: "minDwell", min: 0, max: 86400, value: c && c.trigger.minDwellSeconds ? c.trigger.minDwellSeconds : 0 });
  const dwellField = field(t("camp.dwell"), dwell);
  const minDwellField = field(t("camp.minDwell"), minDwell, t("camp.minDwellHelp"));
  // Only the number the chosen trigger uses is shown.
  const showTriggerFields = () => {
    const k = /** @type {HTMLSelectElement} */ (trigger).value;
    dwellField.hidden = k !== "dwell";
    minDwellField.hidden = k !== "exit";
  };
  trigger.addEventListener("change", showTriggerFields);
  showTriggerFields();
  const sc = (c && c.schedule) || {};
  const startsAt = inp({ type: "datetime-local", name: "startsAt", value: localInput(sc.startsAt) });
  const endsAt = inp({ type: "datetime-local", name: "endsAt", value: localInput(sc.endsAt) });
  const tz = inp({ name: "timezone", value: sc.timezone || Intl.DateTimeFormat().resolvedOptions().timeZone || "Europe/Paris" });
  const days = DAYS.map((d) => inp({ type: "checkbox", name: "day", value: d, checked: (sc.days || []).includes(d) }));
  const from = inp({ name: "from", pattern: "\\d\\d:\\d\\d", placeholder: "09:00", value: sc.hours ? sc.hours.from : "" });
  const to = inp({ name: "to", pattern: "\\d\\d:\\d\\d", placeholder: "19:00", value: sc.hours ? sc.hours.to : "" });
  /** @type {string[]} */
  const chosen = c ? c.audience.segments.filter((s) => s !== "all") : [];
  const segBoxes = Object.entries(segs.counts || {}).map(([s, n]) => [s, n, inp({ type: "checkbox", name: "segment", value: s, checked: chosen.includes(s) })]);
  const newcomers = inp({ type: "checkbox", name: "newcomers", checked: c ? c.audience.newcomers : false });
  const o = (c && c.offer) || { texts: [], value: "", validityHours: 24, budget: 0 };
  const value = inp({ name: "value", value: o.value, maxlength: 60 });
  const validity = inp({ type: "number", name: "validity", min: 1, max: 8760, value: o.validityHours || 24 });
  const budget = inp({ type: "number", name: "budget", min: 0, value: o.budget || 0 });
  const perCustomer = inp({ type: "number", name: "perCustomer", min: 0, max: 1000, value: c ? c.caps.perCustomer : 1 });
  const cooldown = inp({ type: "number", name: "cooldown", min: 0, value: c ? Math.round(c.caps.cooldownSeconds / 3600) : 0 });

  // Texts per language and tone, each with its phone preview.
  const texts = TEXTS.map(([locale, formality]) => {
    const found = o.texts.find((x) => x.locale === locale && x.formality === formality) || { title: "", body: "" };
    const title = inp({ name: `title-${locale}-${formality}`, value: found.title, maxlength: 80 });
    const body = h("textarea", { name: `body-${locale}-${formality}`, rows: 2, maxlength: 240 }, found.body);
    return { locale, formality, title, body };
  });
  const previews = h("div", { class: "previews", "aria-live": "polite" });
  const preview = () =>
    mount(
      previews,
      texts.map((x) =>
        h(
          "figure",
          { class: "phone", "data-tone": `${x.locale}-${x.formality}` },
          h("figcaption", {}, toneOf(x)),
          h(
            "div",
            { class: "push" },
            h("span", { class: "push-app" }, "Hyperlieu"),
            h("strong", {}, /** @type {HTMLInputElement} */ (x.title).value || "…"),
            h("p", {}, /** @type {HTMLTextAreaElement} */ (x.body).value || "…"),
          ),
        ),
      ),
    );
  texts.forEach((x) => {
    x.title.addEventListener("input", preview);
    x.body.addEventListener("input", preview);
  });
  preview();

  const zone = zoneEditor(c ? c.geofence : null, shops);
  const experiment = experimentEditor(c);
  const info = h("div", { class: "zone-info", "aria-live": "polite" });
  const err = h("div", { class: "error", role: "alert" });
  const actions = h("div", { class: "actions" });
  const funnelBox = h("section", { class: "card" });

  const form = h(
    "form",
    { class: "editor", novalidate: true },
    h("div", { class: "head" }, h("h1", {}, c ? c.name : t("camp.new")), c ? statusBadge(c.status) : null, h("a", { href: "#/campaigns", class: "button ghost" }, t("common.back"))),
    h(
      "div",
      { class: "split" },
      h(
        "section",
        { class: "card zone" },
        h("h2", {}, t("camp.zone")),
        zone.el,
        info,
      ),
      h(
        "div",
        { class: "col" },
        h("section", { class: "card" }, field(t("common.name"), name), h("div", { class: "row" }, field(t("camp.trigger"), trigger), dwellField, minDwellField)),
        h(
          "section",
          { class: "card" },
          h("h2", {}, t("camp.schedule")),
          h("div", { class: "row" }, field(t("camp.startsAt"), startsAt), field(t("camp.endsAt"), endsAt)),
          field(t("camp.timezone"), tz),
          h("fieldset", { class: "days" }, h("legend", {}, t("camp.days")), days.map((d, i) => h("label", { class: "check" }, d, t("day." + DAYS[i])))),
          h("div", { class: "row" }, field(t("camp.hoursFrom"), from), field(t("camp.hoursTo"), to)),
        ),
        h(
          "section",
          { class: "card" },
          h("h2", {}, t("camp.audience")),
          h("fieldset", {}, h("legend", {}, t("camp.segments")), segBoxes.map(([s, n, box]) => h("label", { class: "check" }, box, `${label("segment", s)} (${num(n)})`))),
          h("label", { class: "check" }, newcomers, t("camp.newcomers")),
        ),
      ),
    ),
    h(
      "section",
      { class: "card" },
      h("h2", {}, t("camp.offer")),
      h("div", { class: "row" }, field(t("camp.value"), value), field(t("camp.validity"), validity), field(t("camp.budget"), budget)),
      h("h3", {}, t("camp.caps")),
      h("div", { class: "row" }, field(t("camp.perCustomer"), perCustomer), field(t("camp.cooldown"), cooldown)),
      h("h3", {}, t("camp.texts")),
      h(
        "div",
        { class: "texts" },
        texts.map((x) =>
          h(
            "fieldset",
            {},
            h("legend", {}, toneOf(x)),
            field(t("camp.title"), x.title),
            field(t("camp.body"), x.body),
          ),
        ),
      ),
      h("h3", {}, t("camp.preview")),
      previews,
    ),
    experiment.el,
    err,
    actions,
    c ? funnelBox : null,
  );
  mount(el, form);

  const { map, zone: drawn } = await zone.ready;
  map.pm.setLang(getLang() === "fr" ? "fr" : "en");
  let cells = null;
  const shopsLayer = drawShops(map, shops);
  fit(map, drawn.length ? drawn : [shopsLayer]);

  async function showCells(cid, areaM2) {
    const [cl, reach] = await Promise.all([
      ok(client.GET("/v1/campaigns/{id}/cells", { params: { path: { id: cid } } })),
      ok(client.GET("/v1/campaigns/{id}/reach", { params: { path: { id: cid }, query: { days: 7 } } })).catch(() => null),
    ]);
    if (cells) cells.remove();
    cells = drawCells(map, cl);
    cells.bringToBack();
    const inside = cl.features.filter((f) => f.properties.inside).length;
    mount(
      info,
      h("p", {}, t("camp.area", { km2: num((areaM2 || cl.areaM2) / 1e6, 3) })),
      h("p", { "data-testid": "cells" }, t("camp.cells", { n: num(cl.count), inside: num(inside), edge: num(cl.count - inside) })),
      reach ? h("p", { "data-testid": "reach" }, t("camp.reach", { n: num(reach.customers) })) : null,
      h("p", { class: "legend" }, h("span", { class: "swatch inside" }), t("camp.legendInside"), h("span", { class: "swatch edge" }), t("camp.legendEdge")),
    );
  }

  /** @returns {schemas["Trigger"]} */
  function triggerOf(kind) {
    if (kind === "dwell") return { kind, dwellSeconds: Number(/** @type {HTMLInputElement} */ (dwell).value) };
    if (kind === "exit") return { kind, minDwellSeconds: Number(/** @type {HTMLInputElement} */ (minDwell).value) };
    return { kind: "enter" };
  }

  function body() {
    const segments = segBoxes.filter(([, , b]) => /** @type {HTMLInputElement} */ (b).checked).map(([s]) => s);
    const v = (x) => /** @type {HTMLInputElement} */ (x).value;
    /** @type {schemas["ScheduleInput"]} */
    const schedule = { timezone: v(tz), days: DAYS.filter((_, i) => /** @type {HTMLInputElement} */ (days[i]).checked) };
    if (v(startsAt)) schedule.startsAt = new Date(v(startsAt)).toISOString();
    if (v(endsAt)) schedule.endsAt = new Date(v(endsAt)).toISOString();
    if (v(from) || v(to)) schedule.hours = { from: v(from), to: v(to) };
    /** @type {schemas["CampaignRequest"]} */
    const b = {
      name: v(name),
      trigger: triggerOf(v(trigger)),
      schedule,
      audience: { segments: /** @type {schemas["AudienceInput"]["segments"]} */ (segments), newcomers: /** @type {HTMLInputElement} */ (newcomers).checked },
      offer: {
        value: v(value),
        validityHours: Number(v(validity)),
        budget: Number(v(budget)),
        texts: texts.filter((x) => v(x.title) || v(x.body)).map((x) => ({ locale: x.locale, formality: x.formality, title: v(x.title), body: v(x.body) })),
      },
      caps: { perCustomer: Number(v(perCustomer)), cooldownSeconds: Number(v(cooldown)) * 3600 },
    };
    const g = zone.geofence();
    if (g) b.geofence = g;
    Object.assign(b, experiment.fields()); // nothing once launched: the API would answer 409
    return b;
  }

  function showProblem(e) {
    const p = e instanceof ApiError ? e.problem : {};
    const locked = e instanceof ApiError && e.status === 409;
    mount(err, h("p", {}, e.message), locked ? h("p", {}, t("camp.conflict")) : null, p.errors ? h("ul", {}, p.errors.map((x) => h("li", {}, `${x.field}: ${x.detail}`))) : null);
  }

  async function save() {
    err.replaceChildren();
    const b = body();
    if (!b.geofence) {
      // Even when editing: an empty zone is a mistake, not "keep the old one".
      err.textContent = t("camp.needZone");
      return null;
    }
    try {
      const saved = c
        ? await ok(client.PATCH("/v1/campaigns/{id}", { params: { path: { id: c.id } }, body: b }))
        : await ok(client.POST("/v1/campaigns", { body: b }));
      flash(c ? t("common.saved") : t("camp.created"), "ok");
      return saved;
    } catch (e) {
      showProblem(e);
      return null;
    }
  }

  /** @param {"activate"|"pause"|"end"} to */
  async function move(to) {
    if (to === "end" && !confirm(t("camp.endConfirm"))) return;
    err.replaceChildren();
    try {
      if (c && (c.status === "draft" || c.status === "paused") && !(await save())) return;
      const r = await ok(transition[to](c.id));
      flash(t("camp.nowStatus", { status: t("status." + r.status) }), "ok");
      edit(el, c.id);
    } catch (e) {
      showProblem(e);
    }
  }

  const saveBtn = h("button", {
    type: "button",
    class: "primary",
    onclick: async () => {
      const s = await save();
      if (s && !c) location.hash = "#/campaigns/" + s.id;
      else if (s) showCells(s.id, s.areaM2);
    },
  }, t("common.save"));
  mount(
    actions,
    c && c.status === "ended" ? null : saveBtn,
    c && (c.status === "draft" || c.status === "paused") ? h("button", { type: "button", class: "go", onclick: () => move("activate") }, t("camp.activate")) : null,
    c && c.status === "active" ? h("button", { type: "button", onclick: () => move("pause") }, t("camp.pause")) : null,
    c && c.status !== "ended" ? h("button", { type: "button", class: "danger", onclick: () => move("end") }, t("camp.end")) : null,
  );
  if (c) {
    await showCells(c.id, c.areaM2);
    const st = await ok(client.GET("/v1/campaigns/{id}/stats", { params: { path: { id: c.id } } }));
    mount(funnelBox, h("h2", {}, t("camp.funnel")), funnel(st));
    if (st.experiment && c.status !== "draft") funnelBox.after(experimentTable(c, st.experiment, () => edit(el, c.id)));
  }
}

/** #/segments */
export async function segments(el) {
  const s = await ok(client.GET("/v1/admin/segments"));
  const entries = Object.entries(s.counts || {});
  const max = Math.max(1, ...entries.map(([, n]) => n));
  mount(
    el,
    h("h1", {}, t("seg.title")),
    h("p", {}, t("seg.total", { n: num(s.total) })),
    h("dl", { class: "funnel" }, entries.map(([k, n]) => bar(label("segment", k), n, max, "segment"))),
    h("dl", { class: "glossary" }, entries.map(([k]) => [h("dt", {}, label("segment", k)), h("dd", {}, label("segmentHelp", k))])),
  );
}
