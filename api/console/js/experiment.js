// @ts-check
// A campaign's experiment: offer variants against a holdout. The editor's
// section (set up in draft only: the API answers 409 afterwards, so the
// fields are shown fixed with the reason), and after launch the per-arm
// figures with the stop and declare-winner actions.
import { client, ok, ApiError } from "./api.js";
import { t, num } from "./i18n.js";
import { h, mount, field, flash } from "./ui.js";

/** @typedef {import("./api.js").components["schemas"]} schemas */

const MAX_VARIANTS = 8;
/** @type {[schemas["OfferTextInput"]["locale"], schemas["OfferTextInput"]["formality"]][]} */
const TONES = [
  ["fr", "familiar"],
  ["fr", "formal"],
  ["en", "formal"],
];
const toneName = (locale, formality) => `${locale.toUpperCase()} · ${locale === "fr" ? t(formality === "familiar" ? "camp.tu" : "camp.vous") : t("camp.enFormal")}`;
const v = (x) => /** @type {HTMLInputElement} */ (x).value;

/**
 * The editor's experiment section. fields() gives what to send, or null
 * once the campaign has left draft (sending them then is a 409).
 * @param {schemas["Campaign"] | null} c
 */
export function experimentEditor(c) {
  const draft = !c || c.status === "draft";
  const holdout = h("input", { type: "number", name: "holdoutPercent", min: 0, max: 50, value: c ? c.holdoutPercent : 0, disabled: !draft });
  const returnDays = h("input", { type: "number", name: "returnDays", min: 1, max: 90, value: c ? c.returnDays || 7 : 7, disabled: !draft });
  const list = h("div", { class: "variants" });
  const add = h("button", { type: "button", class: "small", disabled: !draft }, t("exp.addVariant"));
  /** @type {{el: HTMLElement, body: () => schemas["VariantInput"]}[]} */
  const rows = [];

  function renumber() {
    rows.forEach((r, i) => {
      const legend = r.el.querySelector("legend");
      if (legend) legend.textContent = t("exp.variantN", { n: i + 1 });
    });
    /** @type {HTMLButtonElement} */ (add).disabled = !draft || rows.length >= MAX_VARIANTS;
  }

  /** @param {schemas["Variant"] | null} x */
  function variantRow(x) {
    const inp = (a) => h("input", { disabled: !draft, ...a });
    const id = inp({ name: "variantId", value: x ? x.id || "" : "", maxlength: 16, pattern: "[a-z0-9]{1,16}", placeholder: `v${rows.length + 1}` });
    const weight = inp({ type: "number", name: "weight", min: 1, max: 1000, value: x ? x.weight : 1 });
    const value = inp({ name: "variantValue", value: x ? x.value : "", maxlength: 60 });
    const validity = inp({ type: "number", name: "variantValidity", min: 1, max: 8760, value: x ? x.validityHours : 24 });
    const texts = TONES.map(([locale, formality]) => {
      const found = (x && x.texts.find((y) => y.locale === locale && y.formality === formality)) || { title: "", body: "" };
      const title = inp({ name: `vtitle-${locale}-${formality}`, value: found.title, maxlength: 80 });
      const body = h("textarea", { name: `vbody-${locale}-${formality}`, rows: 2, maxlength: 240, disabled: !draft }, found.body);
      return { locale, formality, title, body };
    });
    const row = {
      el: h("fieldset", { class: "variant", "data-testid": "variant" }),
      body: () => {
        /** @type {schemas["VariantInput"]} */
        const b = {
          weight: Number(v(weight)),
          value: v(value),
          validityHours: Number(v(validity)),
          texts: texts.filter((y) => v(y.title) || v(y.body)).map((y) => ({ locale: y.locale, formality: y.formality, title: v(y.title), body: v(y.body) })),
        };
        if (v(id)) b.id = v(id);
        return b;
      },
    };
    const remove = h("button", { type: "button", class: "small danger", disabled: !draft, onclick: () => {
      rows.splice(rows.indexOf(row), 1);
      row.el.remove();
      renumber();
    } }, t("exp.removeVariant"));
    mount(
      row.el,
      h("legend", {}, ""),
      h("div", { class: "row" }, field(t("exp.variantId"), id, t("exp.variantIdHelp")), field(t("exp.weight"), weight), field(t("camp.value"), value), field(t("camp.validity"), validity)),
      h("div", { class: "texts" }, texts.map((y) => h("fieldset", {}, h("legend", {}, toneName(y.locale, y.formality)), field(t("camp.title"), y.title), field(t("camp.body"), y.body)))),
      draft ? remove : null,
    );
    rows.push(row);
    list.append(row.el);
    renumber();
  }

  add.addEventListener("click", () => variantRow(null));
  for (const x of (c && c.variants) || []) variantRow(x);
  renumber();

  const el = h(
    "section",
    { class: "card", "data-testid": "experiment-editor" },
    h("h2", {}, t("exp.title")),
    h("p", { class: "hint" }, t("exp.help")),
    draft ? null : h("p", { class: "locked", role: "note" }, t("exp.locked")),
    h("div", { class: "row" }, field(t("exp.holdout"), holdout, t("exp.holdoutHelp")), field(t("exp.returnDays"), returnDays, t("exp.returnDaysHelp"))),
    list,
    draft ? add : null,
  );
  return {
    el,
    /** @returns {Pick<schemas["CampaignRequest"], "variants" | "holdoutPercent" | "returnDays"> | null} */
    fields: () => (draft ? { variants: rows.map((r) => r.body()), holdoutPercent: Number(v(holdout)), returnDays: Number(v(returnDays)) } : null),
  };
}

/** "+3.2 pts", and under it "95%: −1.0 to +7.4": a lift in percentage points, with its interval. */
function lift(l) {
  if (!l) return "—";
  const pts = (x) => (x > 0 ? "+" : "") + num(100 * x, 1);
  const rel = l.relative === undefined ? "" : ` (${pts(l.relative)} %)`;
  return [h("b", {}, t("exp.lift", { diff: pts(l.diff) }) + rel), h("small", { class: "hint ci" }, t("exp.interval", { low: pts(l.low), high: pts(l.high) }))];
}

const pct = (x) => num(100 * x, 1) + " %";

/**
 * The per-arm figures of a launched campaign, with stop and declare-winner
 * for its live variants. again() redraws the screen after an action.
 * @param {schemas["Campaign"]} c
 * @param {schemas["ExperimentStats"]} x
 * @param {() => void} again
 */
export function experimentTable(c, x, again) {
  const err = h("div", { class: "error", role: "alert" });
  const variantIds = new Set((c.variants || []).map((y) => y.id));
  const canAct = c.status !== "ended" && !x.winnerId;

  async function act(kind, arm) {
    if (!confirm(t(kind === "stop" ? "exp.stopConfirm" : "exp.winnerConfirm", { id: arm.id }))) return;
    err.replaceChildren();
    const params = { params: { path: { id: c.id, variantId: arm.id } } };
    try {
      if (kind === "stop") await ok(client.POST("/v1/campaigns/{id}/variants/{variantId}/stop", params));
      else await ok(client.POST("/v1/campaigns/{id}/variants/{variantId}/winner", params));
      flash(t(kind === "stop" ? "exp.stopped" : "exp.wonFlash", { id: arm.id }), "ok");
      again();
    } catch (e) {
      mount(err, h("p", {}, e instanceof ApiError ? e.message : String(e)));
    }
  }

  const badges = (a) => [
    a.holdout && a.id !== "holdout" ? h("span", { class: "badge" }, t("exp.holdoutArm")) : null,
    a.stopped ? h("span", { class: "badge paused" }, t("exp.stoppedBadge")) : null,
    a.winner ? h("span", { class: "badge active" }, t("exp.winner")) : null,
  ];
  const actions = (a) =>
    canAct && variantIds.has(a.id) && !a.holdout && !a.stopped
      ? h("div", { class: "row" },
          h("button", { type: "button", class: "small", onclick: () => act("stop", a) }, t("exp.stop")),
          h("button", { type: "button", class: "small go", onclick: () => act("winner", a) }, t("exp.declareWinner")))
      : null;
  const cols = ["exp.arm", "exp.weight", "camp.entered", "camp.triggered", "camp.pushed", "camp.opened", "camp.redeemed", "exp.returned", "exp.returnedLift", "exp.redeemedLift", "common.actions"];
  return h(
    "section",
    { class: "card", "data-testid": "experiment" },
    h("h2", {}, t("exp.figures")),
    h("p", { class: "hint" }, t("exp.figuresHelp", { holdout: num(x.holdoutPercent), days: num(x.returnDays) })),
    h("div", { class: "scroll" }, h(
      "table",
      { class: "arms" },
      h("thead", {}, h("tr", {}, cols.map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, x.arms.map((a) =>
        h("tr", { "data-arm": a.id, class: a.holdout ? "holdout" : "" },
          h("th", { scope: "row" }, a.id === "holdout" ? t("exp.holdoutName") : h("code", {}, a.id), " ", badges(a)),
          h("td", {}, a.holdout ? "—" : num(a.weight)),
          h("td", {}, num(a.entered)),
          h("td", {}, num(a.triggered)),
          h("td", {}, num(a.pushed)),
          h("td", {}, num(a.opened)),
          h("td", {}, num(a.redeemed)),
          h("td", {}, `${num(a.returned)} / ${num(a.customers)} (${pct(a.returnedRate)})`),
          h("td", {}, a.holdout ? "—" : lift(a.returnedLift)),
          h("td", {}, a.holdout ? "—" : lift(a.redeemedLift)),
          h("td", {}, actions(a)),
        ))),
    )),
    h("p", { class: "hint" }, t("exp.method")),
    err,
  );
}
