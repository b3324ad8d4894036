// @ts-check
// The store manager's screens: their shops, each shop's week of events,
// an event's attendees, the check-in and till screens, and the feedback
// that needs an answer.
import { client, ok, listShops, ApiError } from "./api.js";
import { t, num, getLang } from "./i18n.js";
import { h, mount, field, flash, when, localInput } from "./ui.js";
import { makeMap, drawShops, fit } from "./map.js";

const myShops = () => listShops({ managed: true });

/** #/shops */
export async function shops(el) {
  const list = await myShops();
  const m = makeMap(t("shops.title"));
  mount(
    el,
    h("h1", {}, t("shops.title")),
    list.length === 0
      ? h("p", {}, t("shops.none"))
      : h(
          "div",
          { class: "split" },
          h("ul", { class: "cards" }, list.map((s) => h("li", { class: "card" }, h("h2", {}, h("a", { href: "#/shops/" + s.id }, s.name)), h("p", {}, s.address), h("p", { class: "hint" }, s.openingHours || "")))),
          m.el,
        ),
  );
  if (list.length) {
    const map = await m.ready;
    fit(map, [drawShops(map, list, (s) => (location.hash = "#/shops/" + s.id))]);
  }
}

const startOfWeek = (d) => {
  const x = new Date(d);
  x.setHours(0, 0, 0, 0);
  x.setDate(x.getDate() - ((x.getDay() + 6) % 7));
  return x;
};

/** #/shops/:id — the shop's week of events, and a form for a new one. */
export async function shop(el, id, weekStart) {
  const s = await ok(client.GET("/v1/shops/{id}", { params: { path: { id } } }));
  const week = weekStart || startOfWeek(new Date());
  const end = new Date(week.getTime() + 7 * 864e5);
  const [evs, visits] = await Promise.all([
    ok(client.GET("/v1/shops/{id}/events", { params: { path: { id }, query: { from: week.toISOString() } } })),
    ok(client.GET("/v1/shops/{id}/visit-stats", { params: { path: { id } } })).catch((e) => (console.warn("visit stats", e), null)),
  ]);
  const lang = getLang();
  const dayFmt = new Intl.DateTimeFormat(lang, { weekday: "long", day: "numeric", month: "short", timeZone: s.timezone || undefined });
  const timeFmt = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", timeZone: s.timezone || undefined });
  const days = [];
  for (let i = 0; i < 7; i++) {
    const d0 = new Date(week.getTime() + i * 864e5);
    const d1 = new Date(d0.getTime() + 864e5);
    const today = evs.filter((e) => new Date(e.startsAt) >= d0 && new Date(e.startsAt) < d1);
    days.push(
      h(
        "li",
        { class: "day" },
        h("h3", {}, dayFmt.format(d0)),
        today.length
          ? h("ul", {}, today.map((e) => h("li", { class: "event " + e.status }, h("a", { href: "#/events/" + e.id }, `${timeFmt.format(new Date(e.startsAt))} ${e.title}`), e.status === "cancelled" ? h("span", { class: "badge cancelled" }, t("status.cancelled")) : null)))
          : h("p", { class: "hint" }, "—"),
      ),
    );
  }
  const later = evs.filter((e) => new Date(e.startsAt) >= end);
  mount(
    el,
    h("div", { class: "head" }, h("h1", {}, s.name), h("a", { class: "button ghost", href: "#/shops" }, t("common.back"))),
    h("p", {}, s.address),
    h(
      "section",
      { class: "card" },
      h(
        "div",
        { class: "head" },
        h("h2", {}, t("ev.week", { date: new Intl.DateTimeFormat(lang, { dateStyle: "long" }).format(week) })),
        h("div", { class: "row" },
          h("button", { type: "button", class: "ghost", onclick: () => shop(el, id, new Date(week.getTime() - 7 * 864e5)) }, "← " + t("ev.prev")),
          h("button", { type: "button", class: "ghost", onclick: () => shop(el, id, end) }, t("ev.next") + " →")),
      ),
      h("ol", { class: "calendar" }, days),
      later.length ? h("p", { class: "hint" }, t("ev.later") + " ", later.map((e) => h("a", { href: "#/events/" + e.id, class: "chip" }, `${when(e.startsAt, lang, s.timezone)} ${e.title}`))) : null,
    ),
    eventForm(null, async (body) => {
      const e = await ok(client.POST("/v1/shops/{id}/events", { params: { path: { id } }, body }));
      flash(t("ev.created"), "ok");
      location.hash = "#/events/" + e.id;
    }),
    visits ? visitStats(visits) : null,
  );
}

/**
 * The shop's visits and what came of asking "how was your visit?".
 * @param {import("./api.js").components["schemas"]["VisitStats"]} v
 */
function visitStats(v) {
  const figure = (key, n, hint) => h("div", { class: "figure", "data-figure": key }, h("dt", {}, t("visit." + key)), h("dd", {}, h("b", {}, n), hint ? h("small", { class: "hint" }, hint) : null));
  return h(
    "section",
    { class: "card", "data-testid": "visit-stats" },
    h("h2", {}, t("visit.title")),
    h(
      "dl",
      { class: "figures" },
      figure("visits", num(v.visits)),
      figure("asked", num(v.asked)),
      figure("answered", num(v.answered)),
      figure("low", num(v.low), t("visit.lowHelp")),
      figure("lowGestured", num(v.lowGestured)),
      figure("cameBack", num(v.cameBack), t("visit.cameBackHelp", { days: num(v.windowDays) })),
      figure("recoveryRate", v.lowGestured ? num(100 * v.recoveryRate, 1) + " %" : "—"),
    ),
  );
}

/** The form creating an event, or changing one (e given). */
function eventForm(e, submit) {
  const inp = (a) => h("input", a);
  const title = inp({ name: "title", required: true, value: e ? e.title : "" });
  const category = inp({ name: "category", value: e ? e.category : "workshop" });
  const description = h("textarea", { name: "description", rows: 2 }, e ? e.description : "");
  const soon = new Date(Date.now() + 36e5);
  soon.setMinutes(0, 0, 0);
  const startsAt = inp({ type: "datetime-local", name: "startsAt", required: true, value: localInput(e ? e.startsAt : soon.toISOString()) });
  const endsAt = inp({ type: "datetime-local", name: "endsAt", required: true, value: localInput(e ? e.endsAt : new Date(soon.getTime() + 2 * 36e5).toISOString()) });
  const capacity = inp({ type: "number", name: "capacity", min: 1, value: e ? e.capacity : 20 });
  const maxWaitlist = inp({ type: "number", name: "maxWaitlist", min: -1, value: e ? e.maxWaitlist : -1 });
  const err = h("div", { class: "error", role: "alert" });
  const v = (x) => /** @type {HTMLInputElement} */ (x).value;
  return h(
    "form",
    {
      class: "card",
      onsubmit: async (ev) => {
        ev.preventDefault();
        err.replaceChildren();
        const body = {
          title: v(title), category: v(category), description: v(description),
          startsAt: new Date(v(startsAt)).toISOString(), endsAt: new Date(v(endsAt)).toISOString(),
          capacity: Number(v(capacity)), maxWaitlist: Number(v(maxWaitlist)),
        };
        try {
          await submit(body);
        } catch (x) {
          const p = x instanceof ApiError ? x.problem : {};
          mount(err, h("p", {}, x.message), p.errors ? h("ul", {}, p.errors.map((f) => h("li", {}, `${f.field}: ${f.detail}`))) : null);
        }
      },
    },
    h("h2", {}, e ? t("ev.move") : t("ev.new")),
    h("div", { class: "row" }, field(t("ev.title"), title), field(t("ev.category"), category)),
    field(t("ev.description"), description),
    h("div", { class: "row" }, field(t("ev.startsAt"), startsAt), field(t("ev.endsAt"), endsAt)),
    h("div", { class: "row" }, field(t("ev.capacity"), capacity), field(t("ev.maxWaitlist"), maxWaitlist)),
    err,
    h("button", { type: "submit", class: "primary" }, e ? t("common.save") : t("common.create")),
  );
}

/** #/events/:id — seats, attendees and waitlist; change, move or cancel. */
export async function event(el, id) {
  const e = await ok(client.GET("/v1/events/{id}", { params: { path: { id } } }));
  const [people, inv] = await Promise.all([
    ok(client.GET("/v1/events/{id}/attendees", { params: { path: { id } } })),
    ok(client.GET("/v1/events/{id}/invitations/stats", { params: { path: { id } } })).catch((x) => (console.warn("invitations", x), null)),
  ]);
  const going = people.filter((p) => p.status === "going");
  const waiting = people.filter((p) => p.status !== "going").sort((a, b) => (a.waitlistPosition || 0) - (b.waitlistPosition || 0));
  const lang = getLang();
  const reason = h("input", { name: "reason", required: true });
  mount(
    el,
    h("div", { class: "head" }, h("h1", {}, e.title), h("span", { class: "badge " + e.status }, t("status." + e.status)), h("a", { class: "button ghost", href: "#/shops/" + e.shopId }, t("common.back"))),
    h("p", {}, `${when(e.startsAt, lang)} – ${when(e.endsAt, lang)}`),
    e.status === "cancelled" ? h("p", { class: "error" }, e.cancelReason) : h("p", {}, h("a", { class: "button go", href: "#/checkin/" + e.id }, t("ev.checkinHere"))),
    h(
      "div",
      { class: "split" },
      h("section", { class: "card" }, h("h2", {}, t("ev.attendees")), h("p", {}, t("ev.seats", { going: going.length, capacity: e.capacity })),
        h("ul", { class: "people", "data-testid": "attendees" }, going.map((p) => h("li", {}, p.displayName, p.checkedIn ? h("span", { class: "badge active" }, "✓ " + t("ev.checkedIn")) : null)))),
      h("section", { class: "card" }, h("h2", {}, t("ev.waitlist")),
        waiting.length ? h("ol", { class: "people" }, waiting.map((p) => h("li", {}, p.displayName))) : h("p", { class: "hint" }, t("ev.noWaitlist"))),
    ),
    inv
      ? h("section", { class: "card", "data-testid": "invitation-stats" }, h("h2", {}, t("inv.title")),
          h("dl", { class: "figures" }, ["sent", "accepted", "checkedIn"].map((k) => h("div", { class: "figure", "data-figure": k }, h("dt", {}, t("inv." + k)), h("dd", {}, h("b", {}, num(inv[k])))))))
      : null,
    e.status === "cancelled"
      ? null
      : [
          eventForm(e, async (body) => {
            await ok(client.PATCH("/v1/events/{id}", { params: { path: { id } }, body }));
            flash(t("ev.moved"), "ok");
            event(el, id);
          }),
          h(
            "form",
            {
              class: "card",
              onsubmit: async (ev) => {
                ev.preventDefault();
                await ok(client.POST("/v1/events/{id}/cancel", { params: { path: { id } }, body: { reason: /** @type {HTMLInputElement} */ (reason).value } }));
                flash(t("ev.cancelled"), "ok");
                event(el, id);
              },
            },
            h("h2", {}, t("ev.cancel")),
            field(t("ev.cancelReason"), reason),
            h("button", { type: "submit", class: "danger" }, t("ev.cancel")),
          ),
        ],
  );
}

/** The events of the manager's shops still to come or under way. */
async function myEvents() {
  const list = await myShops();
  const from = new Date(Date.now() - 12 * 36e5).toISOString();
  const all = await Promise.all(list.map((s) => ok(client.GET("/v1/shops/{id}/events", { params: { path: { id: s.id }, query: { from } } })).then((evs) => evs.map((e) => ({ ...e, shopName: s.name })))));
  return all.flat().filter((e) => e.status !== "cancelled").sort((a, b) => a.startsAt.localeCompare(b.startsAt));
}

/** A big, unmistakable answer: ok, warn or bad. */
function verdict(box, kind, text, detail) {
  mount(box, h("div", { class: "verdict " + kind, role: "alert", "data-verdict": kind }, h("strong", {}, text), detail ? h("p", {}, detail) : null));
}

/** #/checkin and #/checkin/:eventId */
export async function checkin(el, eventId) {
  const evs = await myEvents();
  const lang = getLang();
  const pick = h("select", { name: "event" }, evs.map((e) => h("option", { value: e.id }, `${when(e.startsAt, lang)} · ${e.title} · ${e.shopName}`)));
  if (eventId) /** @type {HTMLSelectElement} */ (pick).value = eventId;
  const code = h("input", { name: "ticket", autocomplete: "off", autocapitalize: "none", spellcheck: "false", inputmode: "text", required: true, class: "big" });
  const answer = h("div", { class: "answer", "aria-live": "assertive" });
  const video = h("video", { class: "scan", playsinline: true, muted: true, hidden: true });
  const submit = async (raw) => {
    const ticketCode = raw.trim().toLowerCase().replace(/\s+/g, "");
    if (!ticketCode) return;
    const id = /** @type {HTMLSelectElement} */ (pick).value;
    try {
      await ok(client.POST("/v1/events/{id}/checkins", { params: { path: { id } }, body: { ticketCode } }));
      verdict(answer, "ok", "✓ " + t("ci.ok"), ticketCode);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      if (e.status === 409 && /already checked in/.test(e.message)) verdict(answer, "warn", "⚠ " + t("ci.already"), ticketCode);
      else if (e.status === 404) verdict(answer, "bad", "✗ " + t("ci.wrong"), ticketCode);
      else verdict(answer, "bad", "✗ " + t("ci.other", { msg: e.message }), ticketCode);
    }
    /** @type {HTMLInputElement} */ (code).value = "";
    code.focus();
  };
  const Detector = /** @type {any} */ (window).BarcodeDetector;
  let stream = null;
  const scanBtn = Detector
    ? h("button", {
        type: "button",
        onclick: async () => {
          if (stream) return stopScan();
          stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
          const v = /** @type {HTMLVideoElement} */ (video);
          v.srcObject = stream;
          v.hidden = false;
          await v.play();
          scanBtn.textContent = t("ci.stopScan");
          const det = new Detector({ formats: ["qr_code", "code_128", "code_39", "ean_13"] });
          const tick = async () => {
            if (!stream) return;
            const found = await det.detect(v).catch(() => []);
            if (found.length) {
              stopScan();
              submit(found[0].rawValue);
            } else requestAnimationFrame(tick);
          };
          tick();
        },
      }, t("ci.scan"))
    : null;
  function stopScan() {
    if (stream) stream.getTracks().forEach((tr) => tr.stop());
    stream = null;
    /** @type {HTMLVideoElement} */ (video).hidden = true;
    if (scanBtn) scanBtn.textContent = t("ci.scan");
  }
  window.addEventListener("hashchange", stopScan, { once: true });
  mount(
    el,
    h("h1", {}, t("ci.title")),
    evs.length === 0
      ? h("p", { class: "empty" }, t("ci.none"))
      : h(
          "form",
          { class: "card counter", onsubmit: (ev) => (ev.preventDefault(), submit(/** @type {HTMLInputElement} */ (code).value)) },
          field(t("ci.event"), pick),
          field(t("ci.code"), code),
          h("div", { class: "row" }, h("button", { type: "submit", class: "primary big" }, t("ci.submit")), scanBtn),
          video,
          answer,
        ),
  );
  code.focus();
}

/** "Redeemed on 2 Dec 2026, 01:22" from the server's English message, in the console's language. */
function redeemedAt(message) {
  const at = /\d{4}-\d\d-\d\dT[\d:.]+Z/.exec(message);
  return at ? t("till.redeemedAt", { when: when(at[0], getLang()) }) : message;
}

/** #/till */
export async function till(el) {
  const list = await myShops();
  const pick = h("select", { name: "shop" }, list.map((s) => h("option", { value: s.id }, s.name)));
  const code = h("input", { name: "code", autocomplete: "off", autocapitalize: "characters", spellcheck: "false", required: true, class: "big" });
  const answer = h("div", { class: "answer", "aria-live": "assertive" });
  mount(
    el,
    h("h1", {}, t("till.title")),
    h(
      "form",
      {
        class: "card counter",
        onsubmit: async (ev) => {
          ev.preventDefault();
          const raw = /** @type {HTMLInputElement} */ (code).value.trim();
          if (!raw) return;
          try {
            const o = await ok(client.POST("/v1/shops/{id}/redemptions", { params: { path: { id: /** @type {HTMLSelectElement} */ (pick).value } }, body: { code: raw } }));
            verdict(answer, "ok", "✓ " + t("till.ok", { value: o.value }), o.title);
          } catch (e) {
            if (!(e instanceof ApiError)) throw e;
            if (e.status === 409 && /already redeemed/.test(e.message)) verdict(answer, "bad", "✗ " + t("till.already"), redeemedAt(e.message));
            else if (e.status === 404) verdict(answer, "bad", "✗ " + t("till.unknown"), raw);
            else verdict(answer, "bad", "✗ " + t("till.other", { msg: e.message }), raw);
          }
          /** @type {HTMLInputElement} */ (code).value = "";
          code.focus();
        },
      },
      field(t("common.shop"), pick),
      field(t("till.code"), code, t("till.hint")),
      h("button", { type: "submit", class: "primary big" }, t("till.submit")),
      answer,
    ),
  );
  code.focus();
}

/** #/feedback — low ratings not yet answered, a gesture composer, the stats. */
export async function feedback(el) {
  const list = await myShops();
  const lang = getLang();
  const sections = await Promise.all(
    list.map(async (s) => {
      const [items, stats] = await Promise.all([
        ok(client.GET("/v1/shops/{id}/feedback", { params: { path: { id: s.id }, query: { needsAttention: true } } })),
        ok(client.GET("/v1/shops/{id}/gestures/stats", { params: { path: { id: s.id } } })).catch(() => null),
      ]);
      return h(
        "section",
        { class: "card" },
        h("h2", {}, s.name),
        stats ? h("p", { class: "hint" }, t("fb.stats", { gestures: stats.gestures, customers: stats.customers, back: stats.cameBack, days: stats.windowDays })) : null,
        items.length === 0 ? h("p", { class: "empty" }, t("fb.none")) : h("ul", { class: "feedback" }, items.map((f) => h("li", {}, h("p", {}, h("strong", {}, t("fb.rating", { n: f.rating })), " · ", when(f.at, lang)), h("blockquote", {}, f.comment || "—"), composer(s, f, el)))),
      );
    }),
  );
  mount(el, h("h1", {}, t("fb.title")), list.length ? sections : h("p", {}, t("shops.none")));
}

function composer(s, f, el) {
  const message = h("textarea", { name: "message", rows: 2, required: true });
  const kind = h("select", { name: "kind" }, ["message", "offer", "points"].map((k) => h("option", { value: k }, t("fb.kind." + k))));
  const offer = h("input", { name: "offer" });
  const points = h("input", { type: "number", name: "points", min: 1, value: 50 });
  const offerField = field(t("fb.offerTitle"), offer);
  const pointsField = field(t("fb.points"), points);
  const sync = () => {
    const k = /** @type {HTMLSelectElement} */ (kind).value;
    offerField.hidden = k !== "offer";
    pointsField.hidden = k !== "points";
  };
  kind.addEventListener("change", sync);
  sync();
  const err = h("p", { class: "error", role: "alert" });
  return h(
    "details",
    {},
    h("summary", {}, t("fb.gesture")),
    h(
      "form",
      {
        onsubmit: async (ev) => {
          ev.preventDefault();
          const k = /** @type {HTMLSelectElement} */ (kind).value;
          const body = { userId: f.userId, feedbackId: f.id, message: /** @type {HTMLTextAreaElement} */ (message).value };
          if (k === "offer") body.offer = { title: /** @type {HTMLInputElement} */ (offer).value };
          if (k === "points") body.points = Number(/** @type {HTMLInputElement} */ (points).value);
          try {
            await ok(client.POST("/v1/shops/{id}/gestures", { params: { path: { id: s.id } }, body }));
            flash(t("fb.sent"), "ok");
            feedback(el);
          } catch (e) {
            err.textContent = e.message;
          }
        },
      },
      field(t("fb.message"), message),
      field(t("fb.kind"), kind),
      offerField,
      pointsField,
      err,
      h("button", { type: "submit", class: "primary" }, t("fb.gesture")),
    ),
  );
}
