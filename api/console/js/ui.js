// @ts-check
// Small DOM helpers: the console builds its screens from elements, never
// from HTML strings, so that no text from the API is ever parsed as markup.

/**
 * h("button", {class: "primary", onclick: fn}, "Save") builds an element.
 * Attributes: class, for, on* handlers, boolean true/false, anything else as
 * an attribute. Children: strings, nodes, arrays, null (skipped).
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...any} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "value") /** @type {any} */ (el).value = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

let seq = 0;
/** A unique id for label/for pairs. */
export const uid = (p = "f") => `${p}${++seq}`;

/**
 * A labelled form field: the label is always visible (a counter tablet has
 * no hover), and the control gets the id the label points at.
 * @param {string} label
 * @param {HTMLElement} control
 * @param {string} [hint]
 */
export function field(label, control, hint) {
  const id = control.id || uid();
  control.id = id;
  let hintEl = null;
  if (hint) {
    hintEl = h("small", { id: id + "-hint", class: "hint" }, hint);
    control.setAttribute("aria-describedby", hintEl.id);
  }
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hintEl);
}

/** Replaces the content of el. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Shows a short message in the live region (read out by screen readers). */
export function flash(text, kind = "info") {
  const el = document.getElementById("flash");
  if (!el) return;
  el.replaceChildren(h("p", { class: "flash " + kind }, text));
  clearTimeout(/** @type {any} */ (flash).t);
  /** @type {any} */ (flash).t = setTimeout(() => el.replaceChildren(), 6000);
}

/** Formats a date and time in the console's language. */
export function when(iso, lang, timeZone) {
  if (!iso) return "";
  const d = new Date(iso);
  try {
    return new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short", timeZone }).format(d);
  } catch {
    return d.toLocaleString(lang);
  }
}

/** The value of an <input type=datetime-local> for an ISO instant, in local time. */
export function localInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Reads a File as text. */
export function readText(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(r.error);
    r.readAsText(file);
  });
}
