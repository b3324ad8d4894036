// @ts-check
// The console's only way to the server: the public API through the client
// typed from /openapi.json (console/openapi.d.ts, see docs/console.md), with
// the same access and refresh tokens as the mobile app.
import createClient from "../vendor/openapi-fetch.js";

const KEY = "hyperlieu.console.session";

/** @typedef {{accessToken: string, refreshToken: string, user: any}} Session */

/** An API failure, carrying its problem document (RFC 9457). */
export class ApiError extends Error {
  /** @param {number} status @param {any} problem */
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

/** @type {Session|null} */
let session = load();
/** @type {Promise<boolean>|null} */
let renewing = null;
/** @type {(reason: string) => void} */
let onSignedOut = () => {};

function load() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || "null");
  } catch {
    return null;
  }
}

function save(s) {
  session = s;
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

/** The signed-in user, or null. */
export const currentUser = () => (session ? session.user : null);

/** Registers what to do when the session ends (refresh refused). */
export function whenSignedOut(fn) {
  onSignedOut = fn;
}

const isAuth = (url) => /\/v1\/auth\//.test(url);

function withToken(req) {
  if (!session || isAuth(req.url)) return req;
  const headers = new Headers(req.headers);
  headers.set("Authorization", "Bearer " + session.accessToken);
  return new Request(req, { headers });
}

// authFetch adds the access token; on a 401 it renews the pair once with the
// refresh token (one renewal for every request waiting on it) and retries.
// When renewal fails — expired, or the session was revoked after a stolen
// token was reused — the console signs out.
async function authFetch(req, init) {
  const retry = req.clone();
  let res = await fetch(withToken(req), init);
  if (res.status !== 401 || !session || isAuth(req.url)) return res;
  if (!(await renew())) {
    save(null);
    onSignedOut("expired");
    return res;
  }
  return fetch(withToken(retry), init);
}

function renew() {
  if (!renewing) {
    const refreshToken = session && session.refreshToken;
    renewing = (async () => {
      try {
        const { data, response } = await client.POST("/v1/auth/refresh", { body: { refreshToken } });
        if (!response.ok || !data) return false;
        save({ accessToken: data.accessToken, refreshToken: data.refreshToken, user: data.user });
        return true;
      } catch {
        return false;
      }
    })().finally(() => {
      renewing = null;
    });
  }
  return renewing;
}

/** @typedef {import("../../../console/openapi").paths} paths */
/** @typedef {import("../../../console/openapi").components} components */

/**
 * The client typed with the API's paths: console/check.sh type-checks every
 * call's path, parameters and body against console/openapi.d.ts.
 * @type {import("openapi-fetch").Client<paths>}
 */
export const client = /** @type {any} */ (createClient({ baseUrl: location.origin, fetch: authFetch }));

/**
 * The body of a call's answer, or an ApiError: ok(client.GET("/v1/me")).
 * @template {{data?: any, error?: any, response: Response}} R
 * @param {Promise<R>} pending
 * @returns {Promise<NonNullable<R["data"]>>}
 */
export async function ok(pending) {
  const { data, error, response } = await pending;
  if (!response.ok) throw new ApiError(response.status, error);
  return data;
}

/** Signs in with email and password. */
export async function signIn(email, password) {
  const data = await ok(client.POST("/v1/auth/login", { body: { email, password } }));
  save({ accessToken: data.accessToken, refreshToken: data.refreshToken, user: data.user });
  return data.user;
}

/** Signs out: revokes the session server-side, then forgets the tokens. */
export async function signOut() {
  const refreshToken = session && session.refreshToken;
  save(null);
  if (refreshToken) {
    try {
      await client.POST("/v1/auth/logout", { body: { refreshToken } });
    } catch {
      /* already gone */
    }
  }
}

/** Re-reads the profile, to pick up roles changed since sign-in. */
export async function refreshMe() {
  const me = await ok(client.GET("/v1/me"));
  if (session) save({ ...session, user: me });
  return me;
}

/** Sends a raw body (CSV, GeoJSON) with its own content type. */
export async function send(method, path, params, body, contentType) {
  const { data, error, response } = await /** @type {any} */ (client)[method](path, {
    params,
    body,
    bodySerializer: (b) => b,
    headers: { "Content-Type": contentType },
  });
  if (!response.ok) throw new ApiError(response.status, error);
  return data;
}

/** Fetches a non-JSON answer (an export) as text. */
export async function text(path, params) {
  const { data, error, response } = await /** @type {any} */ (client).GET(path, { params, parseAs: "text" });
  if (!response.ok) throw new ApiError(response.status, error);
  return data;
}

/** The shops (GET /v1/shops): q searches, managed=true keeps the caller's own. */
export async function listShops(query = {}) {
  const page = await ok(client.GET("/v1/shops", { params: { query: { limit: 200, ...query } } }));
  return page.items || [];
}
