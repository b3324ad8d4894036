// @ts-check
// The console's shell: sign-in, the navigation each role gets, and a hash
// router (#/campaigns/…), so the server serves one page.
import { currentUser, signIn, signOut, whenSignedOut, refreshMe, ApiError } from "./api.js";
import { t, setLang, getLang, label } from "./i18n.js";
import { h, mount, field, flash } from "./ui.js";
import * as campaigns from "./campaigns.js";
import * as manager from "./manager.js";
import * as admin from "./admin.js";

const main = /** @type {HTMLElement} */ (document.getElementById("main"));

/** Each screen: its hash pattern, who may see it, and how to draw it. */
const screens = [
  { re: /^campaigns$/, roles: ["marketer", "admin"], nav: "nav.campaigns", draw: campaigns.list },
  { re: /^campaigns\/new$/, roles: ["marketer", "admin"], draw: (el) => campaigns.edit(el, null) },
  { re: /^campaigns\/(\w+)$/, roles: ["marketer", "admin"], draw: (el, id) => campaigns.edit(el, id) },
  { re: /^segments$/, roles: ["marketer", "admin"], nav: "nav.segments", draw: campaigns.segments },
  { re: /^shops$/, roles: ["manager"], nav: "nav.shops", draw: manager.shops },
  { re: /^shops\/(\w+)$/, roles: ["manager", "admin"], draw: manager.shop },
  { re: /^events\/(\w+)$/, roles: ["manager", "admin"], draw: manager.event },
  { re: /^checkin$/, roles: ["manager"], nav: "nav.checkin", draw: (el) => manager.checkin(el, "") },
  { re: /^checkin\/(\w+)$/, roles: ["manager", "admin"], draw: manager.checkin },
  { re: /^till$/, roles: ["manager"], nav: "nav.till", draw: manager.till },
  { re: /^feedback$/, roles: ["manager"], nav: "nav.feedback", draw: manager.feedback },
  { re: /^admin\/users$/, roles: ["admin"], nav: "nav.users", draw: admin.users },
  { re: /^admin\/shops$/, roles: ["admin"], nav: "nav.adminShops", draw: admin.shops },
  { re: /^admin\/failed$/, roles: ["admin"], nav: "nav.failed", draw: admin.failed },
  { re: /^admin\/audit$/, roles: ["admin"], nav: "nav.audit", draw: (el) => admin.audit(el) },
];

/** The hash path of a screen without parameters: its pattern as plain text. */
const navPath = (s) => s.re.source.replace(/^\^|\$$/g, "").replace(/\\/g, "");

const hasRole = (u, roles) => u && (u.roles || []).some((r) => roles.includes(r));

function allowed(u) {
  return screens.filter((s) => hasRole(u, s.roles));
}

function home(u) {
  const first = allowed(u).find((s) => s.nav);
  return first ? "#/" + navPath(first) : "#/login";
}

function chrome(u) {
  const top = /** @type {HTMLElement} */ (document.getElementById("top"));
  top.hidden = !u;
  document.title = t("app.title");
  const skip = document.querySelector(".skip");
  if (skip) skip.textContent = t("skip");
  /** @type {HTMLElement} */ (document.getElementById("lang-label")).textContent = t("lang");
  /** @type {HTMLSelectElement} */ (document.getElementById("lang")).value = getLang();
  /** @type {HTMLElement} */ (document.getElementById("signout")).textContent = t("signout");
  if (!u) return;
  /** @type {HTMLElement} */ (document.getElementById("who")).textContent = `${u.displayName} · ${(u.roles || []).filter((r) => r !== "customer").map((r) => label("role", r)).join(", ")}`;
  const here = location.hash.slice(2);
  const nav = /** @type {HTMLElement} */ (document.getElementById("nav"));
  // Rebuilt only when the user or the language changes, so that a link
  // being clicked is never swapped for a new one under the pointer.
  const key = `${u.id}|${(u.roles || []).join()}|${getLang()}`;
  if (nav.dataset.key !== key) {
    nav.dataset.key = key;
    mount(
      nav,
      allowed(u)
        .filter((s) => s.nav)
        .map((s) => h("a", { href: "#/" + navPath(s) }, t(s.nav))),
    );
  }
  for (const a of nav.querySelectorAll("a")) {
    const path = (a.getAttribute("href") || "").slice(2);
    if (here === path || here.startsWith(path + "/")) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

async function route() {
  const u = currentUser();
  const path = location.hash.replace(/^#\/?/, "");
  chrome(u);
  if (!u) return login();
  if (path === "" || path === "login") {
    location.replace(home(u));
    return;
  }
  for (const s of screens) {
    const m = s.re.exec(path);
    if (!m) continue;
    if (!hasRole(u, s.roles)) break;
    // Each visit draws into a fresh element: a slower earlier visit then
    // finishes into a detached one instead of over the current screen.
    const screen = h("div", { class: "screen" }, h("p", { class: "loading" }, t("common.loading")));
    mount(main, screen);
    try {
      await s.draw(screen, ...m.slice(1));
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return; // signed out meanwhile
      mount(screen, h("p", { class: "error", role: "alert" }, t("common.error", { msg: e.message })));
    }
    return;
  }
  location.replace(home(u));
}

function login(reason) {
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const err = h("p", { class: "error", role: "alert" });
  if (reason === "expired") err.textContent = t("signin.expired");
  const form = h(
    "form",
    {
      class: "card signin",
      onsubmit: async (ev) => {
        ev.preventDefault();
        err.textContent = "";
        try {
          const u = await signIn(/** @type {HTMLInputElement} */ (email).value, /** @type {HTMLInputElement} */ (password).value);
          if (!allowed(u).length) {
            await signOut();
            err.textContent = t("signin.noRole");
            return;
          }
          const next = home(u);
          if (location.hash === next) route();
          else location.hash = next; // hashchange draws it
        } catch (e) {
          err.textContent = e.message;
        }
      },
    },
    h("h1", {}, t("signin.title")),
    field(t("signin.email"), email),
    field(t("signin.password"), password),
    err,
    h("button", { type: "submit", class: "primary" }, t("signin.submit")),
  );
  mount(main, form);
  email.focus();
}

whenSignedOut((reason) => {
  chrome(null);
  login(reason);
});

document.getElementById("signout")?.addEventListener("click", async () => {
  await signOut();
  if (location.hash === "#/login") route();
  else location.hash = "#/login";
});
document.getElementById("lang")?.addEventListener("change", (e) => {
  setLang(/** @type {HTMLSelectElement} */ (e.target).value);
  route();
});
window.addEventListener("hashchange", () => {
  route();
  main.focus({ preventScroll: true });
});

setLang(getLang());
if (currentUser()) refreshMe().catch(() => {});
route();
export { flash };
