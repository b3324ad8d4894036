// Helpers for the console's browser tests: the real binary on a free
// loopback port with a fresh data folder and the demo data, Debian's
// Chromium driven by playwright-core, and the public API for the customer's
// side of each flow.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const binary = process.env.HYPERLIEU_BIN || join(here, "..", "..", "hyperlieu");
export const shots = join(here, "screenshots");
export const PASSWORD = "hyperlieu-demo";
mkdirSync(shots, { recursive: true });

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {any} */ (s.address());
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** Starts `hyperlieu serve --demo` and waits until it is ready. */
export async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), "hyperlieu-browser-"));
  const [port, dbPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${port}`;
  const proc = spawn(binary, ["serve", "--demo"], {
    env: {
      PATH: process.env.PATH, HOME: process.env.HOME,
      HYPERLIEU_ADDR: `127.0.0.1:${port}`, HYPERLIEU_DATA_DIR: dir,
      HYPERLIEU_EMBEDDED_DB_ADDR: `127.0.0.1:${dbPort}`, HYPERLIEU_LOG_FORMAT: "json",
      HYPERLIEU_LOG_LEVEL: "warn", HYPERLIEU_OUTBOX_POLL: "500ms",
      HYPERLIEU_SIGNUPS_PER_ADDR: "100000", // every test account signs up from loopback
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let logs = "";
  proc.stdout.on("data", (b) => (logs += b));
  proc.stderr.on("data", (b) => (logs += b));
  const exited = new Promise((r) => proc.on("exit", r));
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error("server exited:\n" + logs);
    try {
      if ((await fetch(url + "/readyz")).ok) break;
    } catch {}
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error("server not ready in 90s:\n" + logs);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    logs: () => logs,
    async stop() {
      proc.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      if (proc.exitCode === null) proc.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Launches Debian's Chromium with a fresh profile. */
export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), "hyperlieu-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1280, height: 900 },
    locale: "en-GB",
  });
  return {
    ctx,
    async close() {
      await ctx.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

const loopback = (u) => {
  const { protocol, hostname } = new URL(u);
  if (protocol === "data:" || protocol === "blob:" || protocol === "about:") return true;
  return hostname === "127.0.0.1" || hostname === "localhost" || hostname === "[::1]";
};

/**
 * A new page that records every request leaving loopback (and blocks it),
 * every CSP violation and every uncaught error, for the test to assert none.
 */
export async function openPage(browser) {
  const page = await browser.ctx.newPage();
  const offsite = [];
  const errors = [];
  await page.route("**/*", (route) => {
    const u = route.request().url();
    if (loopback(u)) return route.continue();
    offsite.push(u);
    return route.abort();
  });
  page.on("request", (r) => {
    if (!loopback(r.url())) offsite.push(r.url());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error" && !/Failed to load resource/.test(m.text())) errors.push(m.text());
  });
  return { page, offsite, errors };
}

/** Signs in through the console's form. */
export async function signIn(page, url, email) {
  await page.goto(url + "/console/");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("#top:not([hidden])").waitFor();
}

/** Calls the API as a client would. */
export async function api(url, method, path, token, body) {
  const res = await fetch(url + path, {
    method,
    headers: { ...(token ? { Authorization: "Bearer " + token } : {}), ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {}
  return { status: res.status, json, text };
}

let seq = 0;
/** Registers a customer who consents to location tracking. */
export async function customer(url, name) {
  const email = `${name.toLowerCase()}-${Date.now()}-${++seq}@browser.test`;
  const r = await api(url, "POST", "/v1/auth/register", "", { email, password: "correct horse battery", displayName: name });
  if (r.status !== 201) throw new Error("register: " + r.text);
  const token = r.json.accessToken;
  const p = await api(url, "PATCH", "/v1/me", token, { locationConsent: true });
  if (p.status !== 200) throw new Error("consent: " + p.text);
  return { token, id: r.json.user.id, refresh: r.json.refreshToken };
}

/** Keeps a screenshot of the screen for people to look at. */
export const shoot = (page, name) => page.screenshot({ path: join(shots, name + ".png"), fullPage: true });
