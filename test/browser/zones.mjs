// The ways to a campaign zone without a mouse (typed circles and polygons
// with holes), the "around these shops" zone, and the admin's user picker
// for shop managers — in a real browser against the real binary, each test
// also proving that the page asked nothing of any host but loopback.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openPage, signIn, api, customer, shoot, PASSWORD } from "./lib.mjs";

/**
 * Registers the tests on env's server and browser (console.test.mjs calls
 * it, so that one server and one Chromium serve every test).
 * @param {{server: any, browser: any}} env
 */
export function zoneTests(env) {
  const server = { get url() { return env.server.url; } };
  const browser = { get ctx() { return env.browser.ctx; } };

  /** Runs a test's steps, keeping a screenshot of the page if one fails. */
  async function steps(p, name, fn) {
    try {
      await fn(p.page);
    } catch (e) {
      await shoot(p.page, "FAILED-" + name).catch(() => {});
      throw e;
    }
    clean(p);
    await p.page.close();
  }

  function clean(p) {
    assert.deepEqual(p.offsite, [], "requests left loopback");
    assert.deepEqual(p.errors, [], "page errors");
  }

  const staff = async (email) => (await api(server.url, "POST", "/v1/auth/login", "", { email, password: PASSWORD })).json.accessToken;
  const campaignOf = async (page, token) => (await api(server.url, "GET", `/v1/campaigns/${page.url().split("/").pop()}`, token)).json;

  /** Does what saves the campaign, and waits for the server's answer to it. */
  async function saved(page, act) {
    const answer = page.waitForResponse((r) => r.request().method() === "PATCH" && /\/v1\/campaigns\/\w+$/.test(r.url()));
    await act();
    assert.equal((await answer).status(), 200);
  }

  /** Types into a control the way a keyboard user does: focus, then keys. */
  async function typeInto(page, locator, text) {
    await locator.focus();
    await page.keyboard.press("Control+A");
    await page.keyboard.type(text);
  }

  test("a marketer types a polygon with a hole, then a circle, from the keyboard, then imports a file", async () => {
    await steps(await openPage(browser), "typed", async (page) => {
      await signIn(page, server.url, "marketer@demo.hyperlieu.test");
      await page.getByRole("link", { name: "New campaign" }).click();
      const typed = page.getByTestId("typed-zone");
      await typed.waitFor();
      // A mistake is named by its line, and nothing is added.
      await typeInto(page, typed.getByLabel("Corners: latitude, longitude"), "48.8600, 2.3500\n48.86 east");
      await typed.getByRole("button", { name: "Add this polygon" }).focus();
      await page.keyboard.press("Enter");
      await typed.getByText("Line 2: write latitude, longitude").waitFor();
      const corners = ["48.8600, 2.3500", "48.8600, 2.3600", "48.8540, 2.3600", "48.8540, 2.3500", "", "48.8580, 2.3540", "48.8580, 2.3560", "48.8560, 2.3560", "48.8560, 2.3540"];
      await typeInto(page, typed.getByLabel("Corners: latitude, longitude"), corners.join("\n"));
      await typed.getByRole("button", { name: "Add this polygon" }).focus();
      await page.keyboard.press("Enter");
      await page.getByText("Polygon added to the zone (holes: 1).").waitFor();
      await typeInto(page, page.getByLabel("Name"), "Typed zone " + Date.now());
      await typeInto(page, page.locator("fieldset", { hasText: "EN · formal" }).getByLabel("Title"), "Typed, not drawn");
      await page.getByRole("button", { name: "Save" }).focus();
      await page.keyboard.press("Enter");
      await page.waitForURL(/#\/campaigns\/\w+$/);
      await page.getByTestId("cells").waitFor();
      await shoot(page, "marketer-zone-typed-polygon");
      const token = await staff("marketer@demo.hyperlieu.test");
      let c = await campaignOf(page, token);
      assert.equal(c.geofence.type, "Polygon");
      assert.equal(c.geofence.coordinates.length, 2, "an outline and a hole");
      assert.deepEqual(c.geofence.coordinates[1][0], [2.354, 48.858], "positions come back [lng, lat]");

      // The same campaign becomes one circle, typed.
      await page.getByRole("button", { name: "Clear the zone" }).click();
      const zone = page.getByTestId("typed-zone");
      await typeInto(page, zone.getByLabel("Centre latitude"), "48.8577");
      await typeInto(page, zone.getByLabel("Centre longitude"), "2.3601");
      await typeInto(page, zone.getByLabel("Radius (metres)"), "5");
      await zone.getByRole("button", { name: "Add this circle" }).focus();
      await page.keyboard.press("Enter");
      await zone.getByText("The radius is from 10 to 50,000 metres.").waitFor();
      await typeInto(page, zone.getByLabel("Radius (metres)"), "400");
      await page.keyboard.press("Tab");
      await page.keyboard.press("Enter"); // Tab from the radius reaches "Add this circle"
      await page.getByText("Circle of 400 m added to the zone.").waitFor();
      await saved(page, () => page.getByRole("button", { name: "Save" }).click());
      c = await campaignOf(page, token);
      assert.deepEqual(c.geofence.circles, [{ center: { lat: 48.8577, lng: 2.3601 }, radiusM: 400 }]);
      await shoot(page, "marketer-zone-typed-circle");

      // And then a GeoJSON file: a wrong one is refused with a reason, a right one replaces the zone.
      const dir = mkdtempSync(join(tmpdir(), "hyperlieu-zone-"));
      const bad = join(dir, "points.geojson");
      const good = join(dir, "square.geojson");
      writeFileSync(bad, JSON.stringify({ type: "Point", coordinates: [2.36, 48.857] }));
      const ring = [[2.355, 48.855], [2.365, 48.855], [2.365, 48.86], [2.355, 48.86], [2.355, 48.855]];
      writeFileSync(good, JSON.stringify({ type: "Feature", properties: {}, geometry: { type: "Polygon", coordinates: [ring] } }));
      const file = page.getByLabel("Import a GeoJSON zone");
      await file.setInputFiles(bad);
      await page.getByText("This file cannot be used as a zone").waitFor();
      await file.setInputFiles(good);
      await page.getByText("Zone imported from square.geojson.").waitFor();
      await saved(page, () => page.getByRole("button", { name: "Save" }).click());
      c = await campaignOf(page, token);
      assert.deepEqual(c.geofence.coordinates, [ring]);
      rmSync(dir, { recursive: true, force: true });
    });
  });

  test("a marketer sets a zone around shops; a customer near the shop triggers it", async () => {
    await steps(await openPage(browser), "shops", async (page) => {
      await signIn(page, server.url, "marketer@demo.hyperlieu.test");
      await page.getByRole("link", { name: "New campaign" }).click();
      await page.getByLabel("Around shops, within a radius").check();
      const around = page.getByTestId("shops-zone");
      await around.getByLabel("Radius (metres)").fill("250");
      await around.getByLabel(/Hyperlieu Batignolles/).check();
      await page.getByText("Shops chosen: 1, 250 m around each.").waitFor();
      // The drawing tools are put away: this zone is not drawn.
      assert.equal(await page.locator(".leaflet-pm-toolbar").count(), 0);
      const name = "Around Batignolles " + Date.now();
      await page.getByLabel("Name").fill(name);
      await page.getByLabel("Include newcomers").check();
      await page.getByLabel("Value (e.g. 1 coffee, -15%)").fill("-10%");
      const en = page.locator("fieldset", { hasText: "EN · formal" });
      await en.getByLabel("Title").fill("10% off at Batignolles");
      await page.getByRole("button", { name: "Save" }).click();
      await page.waitForURL(/#\/campaigns\/\w+$/);
      await page.getByTestId("cells").waitFor();
      const token = await staff("marketer@demo.hyperlieu.test");
      const c = await campaignOf(page, token);
      const shops = (await api(server.url, "GET", "/v1/shops?q=Batignolles", token)).json.items;
      assert.deepEqual(c.geofence.shops, { shopIds: [shops[0].id], radiusM: 250 });
      // Read back as it was set: the option, the shop and the radius.
      assert.ok(await page.getByLabel("Around shops, within a radius").isChecked());
      assert.ok(await page.getByTestId("shops-zone").getByLabel(/Hyperlieu Batignolles/).isChecked());
      assert.equal(await page.getByTestId("shops-zone").getByLabel("Radius (metres)").inputValue(), "250");
      await shoot(page, "marketer-zone-shops");
      // At a tablet's width, in French.
      await page.setViewportSize({ width: 768, height: 1024 });
      await page.getByLabel("Language").selectOption("fr");
      await page.getByLabel("Autour de boutiques, dans un rayon").waitFor();
      await page.getByTestId("cells").waitFor();
      await shoot(page, "marketer-zone-shops-fr-tablet");
      await page.getByLabel("Langue").selectOption("en");
      await page.getByLabel("Around shops, within a radius").waitFor();
      await page.getByTestId("cells").waitFor();
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.getByRole("button", { name: "Activate" }).click();
      await page.locator(".badge.active").first().waitFor();

      const cu = await customer(server.url, "Nearby");
      const t0 = Date.now() - 15 * 60e3;
      const at = (ms) => new Date(t0 + ms).toISOString();
      const { lat, lng } = shops[0].location;
      const r = await api(server.url, "POST", "/v1/me/location", cu.token, {
        points: [{ lat: lat + 0.01, lng, accuracyM: 10, recordedAt: at(0) }, { lat: lat + 0.001, lng, accuracyM: 10, recordedAt: at(10 * 60e3) }],
    });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.triggered.some((o) => o.campaignId === c.id), "110 m from the shop is inside 250 m: " + r.text);
    });
  });

  test("an admin finds a person by name and makes them a shop's manager, then removes them", async () => {
    const stamp = Date.now();
    const who = await customer(server.url, `Picker${stamp}`);
    await steps(await openPage(browser), "picker", async (page) => {
      await signIn(page, server.url, "admin@demo.hyperlieu.test");
      await page.goto(server.url + "/console/#/admin/shops");
      const card = page.locator('[data-testid="shop-list"] > li', { hasText: "Hyperlieu Batignolles" });
      await card.getByText("No manager yet.").waitFor();
      await card.getByLabel("Find a person by name or email").fill(`picker${stamp}`.slice(0, 12));
      const pick = card.getByRole("button", { name: "Give the manager role and make manager" });
      await pick.waitFor();
      await shoot(page, "admin-manager-picker");
      await pick.click();
      await page.getByText(`Picker${stamp} now manages Hyperlieu Batignolles.`).waitFor();
      const again = page.locator('[data-testid="shop-list"] > li', { hasText: "Hyperlieu Batignolles" });
      await again.locator(".managers", { hasText: `Picker${stamp}` }).waitFor();
      const token = await staff("admin@demo.hyperlieu.test");
      const shop = (await api(server.url, "GET", "/v1/shops?q=Batignolles", token)).json.items[0];
      assert.ok(shop.managerIds.includes(who.id), "the shop has the new manager");
      const users = (await api(server.url, "GET", `/v1/admin/users?q=picker${stamp}`, token)).json.items;
      assert.ok(users[0].roles.includes("manager"), "they were given the manager role");
      await shoot(page, "admin-manager-added");
      await page.setViewportSize({ width: 768, height: 1024 });
      await shoot(page, "admin-shops-tablet");
      await page.setViewportSize({ width: 1280, height: 900 });
      await again.getByRole("button", { name: `Remove Picker${stamp}` }).click();
      await page.getByText(`Picker${stamp} no longer manages Hyperlieu Batignolles.`).waitFor();
      const after = (await api(server.url, "GET", `/v1/shops/${shop.id}`, token)).json;
      assert.ok(!(after.managerIds || []).includes(who.id));
    });
  });
}
