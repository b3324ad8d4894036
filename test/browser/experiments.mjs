// The screens of the experiment, visit, invitation and audit features: a
// marketer sets up two offer variants and a holdout, launches the campaign
// and reads the per-arm figures; a manager reads a shop's visits and an
// event's invitations; an admin reads the audit trail. Real browser, real
// binary, and nothing asked of any host but loopback.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { openPage, signIn, api, customer, shoot, shots, PASSWORD } from "./lib.mjs";

/**
 * Registers the tests on env's server and browser (console.test.mjs calls
 * it, so that one server and one Chromium serve every test).
 * @param {{server: any, browser: any}} env
 */
export function experimentTests(env) {
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
    assert.deepEqual(p.offsite, [], "requests left loopback");
    assert.deepEqual(p.errors, [], "page errors");
    await p.page.close();
  }

  const staff = async (email) => (await api(server.url, "POST", "/v1/auth/login", "", { email, password: PASSWORD })).json.accessToken;

  test("a marketer sets up two variants and a holdout, launches, reads the arms, stops one and declares the other the winner", async () => {
    await steps(await openPage(browser), "experiment", async (page) => {
      page.on("dialog", (d) => d.accept()); // the stop and winner confirmations
      await signIn(page, server.url, "marketer@demo.hyperlieu.test");
      await page.getByRole("link", { name: "New campaign" }).click();
      const typed = page.getByTestId("typed-zone");
      await typed.getByLabel("Centre latitude").fill("48.8300");
      await typed.getByLabel("Centre longitude").fill("2.3000");
      await typed.getByLabel("Radius (metres)").fill("300");
      await typed.getByRole("button", { name: "Add this circle" }).click();
      await page.getByText("Circle of 300 m added to the zone.").waitFor();
      const name = "Experiment " + Date.now();
      await page.getByLabel("Name").fill(name);
      await page.getByLabel("Trigger").selectOption("exit");
      await page.getByLabel("Minimum stay before leaving (seconds)").fill("60");
      assert.ok(await page.getByLabel("Dwell (seconds)").isHidden(), "only the exit trigger's number shows");
      await page.getByLabel("Include newcomers").check();
      await page.locator("fieldset", { hasText: "EN · formal" }).first().getByLabel("Title").fill("A coffee on us");

      const ed = page.getByTestId("experiment-editor");
      await ed.getByLabel(/^Holdout/).fill("20");
      await ed.getByRole("button", { name: "Add a variant" }).click();
      await ed.getByRole("button", { name: "Add a variant" }).click();
      const [a, b] = [ed.getByTestId("variant").nth(0), ed.getByTestId("variant").nth(1)];
      await a.getByLabel("Id", { exact: true }).fill("coffee");
      await a.getByLabel("Weight").fill("3");
      await a.getByLabel(/^Value/).fill("1 coffee");
      await a.locator("fieldset", { hasText: "EN · formal" }).getByLabel("Title").fill("A coffee on us");
      await b.getByLabel("Id", { exact: true }).fill("cake");
      await b.getByLabel(/^Value/).fill("1 cake");
      await b.locator("fieldset", { hasText: "EN · formal" }).getByLabel("Title").fill("A cake on us");
      await shoot(page, "marketer-experiment-editor");
      await page.getByRole("button", { name: "Save" }).click();
      await page.waitForURL(/#\/campaigns\/\w+$/);
      await page.getByTestId("cells").waitFor();
      const id = page.url().split("/").pop();
      const token = await staff("marketer@demo.hyperlieu.test");
      let c = (await api(server.url, "GET", `/v1/campaigns/${id}`, token)).json;
      assert.deepEqual(c.variants.map((v) => [v.id, v.weight, v.value]), [["coffee", 3, "1 coffee"], ["cake", 1, "1 cake"]]);
      assert.equal(c.holdoutPercent, 20);
      assert.deepEqual(c.trigger, { kind: "exit", minDwellSeconds: 60 });

      // Back to "enter" (saved by Activate, with the variants again: still a draft).
      await page.getByLabel("Trigger").selectOption("enter");
      await page.getByRole("button", { name: "Activate" }).click();
      await page.locator(".badge.active").first().waitFor();
      // Launched: the experiment's fields are fixed, and the screen says why.
      await page.getByText(/Fixed since launch/).waitFor();
      assert.ok(await page.getByTestId("experiment-editor").getByLabel(/^Holdout/).isDisabled());
      c = (await api(server.url, "GET", `/v1/campaigns/${id}`, token)).json;
      assert.deepEqual([c.status, c.trigger, c.variants.length], ["active", { kind: "enter" }, 2]);

      // Four customers walk in; each counts in the arm they were assigned to.
      for (let i = 0; i < 4; i++) {
        const who = await customer(server.url, "Arm" + i);
        const t0 = Date.now() - 15 * 60e3;
        const r = await api(server.url, "POST", "/v1/me/location", who.token, {
          points: [{ lat: 48.84, lng: 2.30, accuracyM: 10, recordedAt: new Date(t0).toISOString() }, { lat: 48.83, lng: 2.30, accuracyM: 10, recordedAt: new Date(t0 + 10 * 60e3).toISOString() }],
        });
        assert.equal(r.status, 200, r.text);
      }
      await page.reload();
      const table = page.getByTestId("experiment");
      await table.waitFor();
      for (const arm of ["coffee", "cake", "holdout"]) await table.locator(`tr[data-arm="${arm}"]`).waitFor();
      const st = (await api(server.url, "GET", `/v1/campaigns/${id}/stats`, token)).json;
      assert.equal(st.experiment.arms.reduce((n, x) => n + x.entered, 0), 4, JSON.stringify(st.experiment));
      for (const x of st.experiment.arms) assert.equal(await table.locator(`tr[data-arm="${x.id}"] td`).nth(1).textContent(), String(x.entered));
      await shoot(page, "marketer-experiment-arms");

      await table.locator('tr[data-arm="cake"]').getByRole("button", { name: "Stop" }).click();
      await page.locator('[data-testid="experiment"] tr[data-arm="cake"] .badge', { hasText: "stopped" }).waitFor();
      await page.locator('[data-testid="experiment"] tr[data-arm="coffee"]').getByRole("button", { name: "Declare winner" }).click();
      await page.locator('[data-testid="experiment"] tr[data-arm="coffee"] .badge', { hasText: "winner" }).waitFor();
      assert.equal(await page.getByTestId("experiment").getByRole("button").count(), 0, "no action left once a winner is declared");
      c = (await api(server.url, "GET", `/v1/campaigns/${id}`, token)).json;
      assert.equal(c.winnerId, "coffee");
      assert.ok(c.variants.find((v) => v.id === "cake").stoppedAt);
      await shoot(page, "marketer-experiment-winner");
      await page.getByTestId("experiment").screenshot({ path: join(shots, "marketer-experiment-table.png") });
      await page.getByTestId("experiment-editor").screenshot({ path: join(shots, "marketer-experiment-locked.png") });
      await page.getByLabel("Language").selectOption("fr");
      await page.getByTestId("experiment").getByRole("rowheader", { name: "Groupe témoin" }).waitFor();
      await page.getByTestId("experiment").screenshot({ path: join(shots, "marketer-experiment-table-fr.png") });
      await page.getByLabel("Langue").selectOption("en");
    });
  });

  test("a manager reads a shop's visits and an event's invitations; an admin reads the audit trail", async () => {
    await steps(await openPage(browser), "visits-audit", async (page) => {
      const mtoken = await staff("manager@demo.hyperlieu.test");
      const shops = (await api(server.url, "GET", "/v1/shops?managed=true", mtoken)).json.items;
      const marais = shops.find((s) => s.name === "Hyperlieu Marais");
      // A customer is offered a code by the demo campaign around the shop and redeems it at the till: a visit, and an audit entry.
      const cu = await customer(server.url, "Visitor");
      const loc = await api(server.url, "POST", "/v1/me/location", cu.token, { lat: 48.8577, lng: 2.3601, accuracyM: 10 });
      assert.ok(loc.json.triggered.length > 0, loc.text);
      const red = await api(server.url, "POST", `/v1/shops/${marais.id}/redemptions`, mtoken, { code: loc.json.triggered[0].code });
      assert.equal(red.status, 200, red.text);
      const visits = (await api(server.url, "GET", `/v1/shops/${marais.id}/visit-stats`, mtoken)).json;
      assert.ok(visits.visits >= 1, JSON.stringify(visits));
      // An event with one invitation.
      const at = Date.now() + 864e5;
      const ev = await api(server.url, "POST", `/v1/shops/${marais.id}/events`, mtoken, { title: "Invited tasting", category: "workshop", startsAt: new Date(at).toISOString(), endsAt: new Date(at + 36e5).toISOString(), capacity: 10 });
      assert.equal(ev.status, 201, ev.text);
      assert.ok([200, 201].includes((await api(server.url, "POST", `/v1/events/${ev.json.id}/rsvp`, cu.token)).status));
      const inv = await api(server.url, "POST", `/v1/events/${ev.json.id}/invitations`, cu.token);
      assert.ok([200, 201].includes(inv.status), inv.text);

      await signIn(page, server.url, "manager@demo.hyperlieu.test");
      await page.getByRole("link", { name: "Hyperlieu Marais" }).click();
      const vs = page.getByTestId("visit-stats");
      await vs.waitFor();
      assert.equal(await vs.locator('[data-figure="visits"] b').textContent(), String(visits.visits));
      await vs.getByText("Recovery rate").waitFor();
      await shoot(page, "manager-shop-visits");
      await page.goto(`${server.url}/console/#/events/${ev.json.id}`);
      const is = page.getByTestId("invitation-stats");
      await is.waitFor();
      assert.equal(await is.locator('[data-figure="sent"] b').textContent(), "1");
      await shoot(page, "manager-event-invitations");

      await page.getByRole("button", { name: "Sign out" }).click();
      await signIn(page, server.url, "admin@demo.hyperlieu.test");
      await page.getByRole("link", { name: "Audit trail" }).click();
      const audit = page.getByTestId("audit");
      await audit.waitFor();
      await audit.locator('tr[data-action="redemption"]').first().waitFor();
      await shoot(page, "admin-audit");
      // In French too.
      await page.getByLabel("Language").selectOption("fr");
      await page.getByRole("heading", { name: "Journal d'audit" }).waitFor();
      await shoot(page, "admin-audit-fr");
      await page.getByLabel("Langue").selectOption("en");
    });
  });
}
