// Calls every operation of /openapi.json with its real parameters, through a
// client generated from the document (openapi-typescript + openapi-fetch).
// It is only type-checked (tsc --noEmit), never run: it proves that a
// newcomer's typed client can say everything the API accepts.
import createClient from "openapi-fetch";
import type { paths, components } from "./schema";

type Campaign = components["schemas"]["CampaignRequest"];

const api = createClient<paths>({ baseUrl: "http://127.0.0.1:8080" });
const id = "g3vq3n2mxb6nq7dfyhd5sxbxle";
const at = "2030-05-01T18:30:00+02:00";
const square = {
  type: "Polygon" as const,
  coordinates: [[[2.35, 48.85], [2.36, 48.85], [2.36, 48.86], [2.35, 48.86], [2.35, 48.85]]],
};

export async function everyOperation(): Promise<void> {
  // service
  await api.GET("/healthz");
  await api.GET("/readyz");
  await api.GET("/metrics");
  await api.GET("/openapi.json");
  await api.GET("/console/*");

  // accounts
  const reg = await api.POST("/v1/auth/register", {
    body: { email: "ana@example.com", password: "correct horse battery", displayName: "Ana", locale: "fr", timezone: "Europe/Paris" },
  });
  if (reg.data) {
    const token: string = reg.data.accessToken;
    const roles: ("customer" | "manager" | "marketer" | "admin")[] = reg.data.user.roles;
    void token, roles;
  }
  await api.POST("/v1/auth/login", { body: { email: "ana@example.com", password: "correct horse battery" } });
  await api.POST("/v1/auth/refresh", { body: { refreshToken: "r" } });
  await api.POST("/v1/auth/logout", { body: { refreshToken: "r" } });
  await api.GET("/v1/me");
  await api.PATCH("/v1/me", {
    body: { formality: "familiar", quietHours: { from: "22:00", to: "07:00" }, maxNotificationsPerDay: 3, categories: ["events", "offers"], locationConsent: true },
  });
  await api.PATCH("/v1/me", { body: { quietHours: null } });
  await api.DELETE("/v1/me");
  await api.POST("/v1/admin/users/{id}/roles", { params: { path: { id } }, body: { roles: ["manager"] } });
  const users = await api.GET("/v1/admin/users", { params: { query: { q: "ana@", role: "customer", limit: 50 } } });
  if (users.data?.next) {
    await api.GET("/v1/admin/users", { params: { query: { cursor: users.data.next } } });
  }

  // feeds
  await api.GET("/feeds/shops/{id}/events.ics", { params: { path: { id } }, parseAs: "text" });
  await api.GET("/feeds/shops/{id}/events.json", { params: { path: { id } } });
  await api.GET("/widgets/shops/{id}/events", { params: { path: { id }, query: { lang: "fr" } }, parseAs: "text" });

  // personal feeds: secret URLs
  const cal = await api.POST("/v1/me/feeds/calendar");
  if (cal.data) {
    const webcal: string | undefined = cal.data.webcalUrl;
    void webcal;
  }
  await api.DELETE("/v1/me/feeds/calendar");
  const widget = await api.POST("/v1/me/feeds/widget");
  if (widget.data) {
    const json: string | undefined = widget.data.jsonUrl;
    void json;
  }
  await api.DELETE("/v1/me/feeds/widget");
  const secret = "s3cr3t";
  await api.GET("/feeds/{secret}.ics", { params: { path: { secret } }, parseAs: "text" });
  const mine = await api.GET("/feeds/{secret}.json", { params: { path: { secret } } });
  if (mine.data) {
    const points: number = mine.data.points;
    void points;
  }
  await api.GET("/widgets/{secret}", { params: { path: { secret }, query: { lang: "en" } }, parseAs: "text" });

  // events
  await api.POST("/v1/shops/{id}/events", {
    params: { path: { id } },
    body: { title: "Atelier", category: "workshop", startsAt: at, endsAt: "2030-05-01T20:30:00+02:00", capacity: 20, maxWaitlist: -1, location: { lat: 48.85, lng: 2.35 } },
  });
  await api.GET("/v1/shops/{id}/events", { params: { path: { id }, query: { from: at } } });
  await api.GET("/v1/events", { params: { query: { near: "48.8566,2.3522", radius: 2000, from: at, to: at, category: "meetup", shopId: id } } });
  await api.GET("/v1/events/{id}.ics", { params: { path: { id } }, parseAs: "text" });
  const ev = await api.GET("/v1/events/{id}", { params: { path: { id } } });
  if (ev.data) {
    const status: "scheduled" | "cancelled" = ev.data.status;
    void status;
  }
  await api.PATCH("/v1/events/{id}", { params: { path: { id } }, body: { capacity: 30 } });
  await api.POST("/v1/events/{id}/cancel", { params: { path: { id } }, body: { reason: "The speaker is ill" } });
  await api.POST("/v1/events/{id}/rsvp", { params: { path: { id } } });
  await api.GET("/v1/events/{id}/rsvp", { params: { path: { id } } });
  await api.DELETE("/v1/events/{id}/rsvp", { params: { path: { id } } });
  await api.GET("/v1/events/{id}/attendees", { params: { path: { id } } });
  await api.POST("/v1/events/{id}/checkin", { params: { path: { id } }, body: { lat: 48.85, lng: 2.35 } });
  await api.POST("/v1/events/{id}/checkins", { params: { path: { id } }, body: { ticketCode: "abc" } });
  await api.POST("/v1/events/{id}/feedback", { params: { path: { id } }, body: { rating: 5, comment: "Great" } });
  await api.GET("/v1/events/{id}/feedback", { params: { path: { id } } });

  // invitations
  const inv = await api.POST("/v1/events/{id}/invitations", { params: { path: { id } } });
  if (inv.data) {
    const link: string = inv.data.link;
    void link;
  }
  await api.GET("/v1/me/invitations");
  await api.GET("/v1/events/{id}/invitations/stats", { params: { path: { id } } });
  await api.GET("/e/{id}", { params: { path: { id }, query: { i: "abcdefghijklmnop" } }, parseAs: "text" });
  await api.POST("/v1/auth/register", {
    body: { email: "fred@example.com", password: "correct horse battery", displayName: "Fred", inviteCode: "abcdefghijklmnop" },
  });

  // shops
  await api.POST("/v1/shops", {
    body: { name: "Atelier", address: "1 rue de Rivoli, Paris", location: { lat: 48.85, lng: 2.35 }, timezone: "Europe/Paris", openingHours: "Mo-Sa 10:00-19:00" },
  });
  await api.GET("/v1/shops/{id}", { params: { path: { id } } });
  const shops = await api.GET("/v1/shops", { params: { query: { q: "atelier", lat: 48.85, lng: 2.35, radiusM: 1000, managed: true, limit: 20 } } });
  if (shops.data) {
    const first: string | undefined = shops.data.items[0]?.name;
    await api.GET("/v1/shops", { params: { query: { cursor: shops.data.next } } });
    void first;
  }
  await api.POST("/v1/admin/shops/import", {
    body: { type: "FeatureCollection", features: [{ type: "Feature", geometry: { type: "Point", coordinates: [2.35, 48.85] }, properties: { name: "Atelier", address: "1 rue de Rivoli", timezone: "Europe/Paris" } }] },
    headers: { "Content-Type": "application/geo+json" },
  });
  await api.POST("/v1/admin/shops/import", {
    body: "name,address,lat,lng,timezone\nAtelier,1 rue de Rivoli,48.85,2.35,Europe/Paris\n",
    bodySerializer: (b: unknown) => String(b),
    headers: { "Content-Type": "text/csv" },
  });
  await api.GET("/v1/admin/shops/export", { params: { query: { format: "geojson" } } });
  await api.GET("/v1/admin/shops/export", { params: { query: { format: "csv" } }, parseAs: "text" });
  await api.PATCH("/v1/shops/{id}", { params: { path: { id } }, body: { name: "Atelier Rivoli" } });
  await api.DELETE("/v1/shops/{id}", { params: { path: { id } } });
  await api.POST("/v1/shops/{id}/managers", { params: { path: { id } }, body: { userId: id } });
  await api.DELETE("/v1/shops/{id}/managers/{userId}", { params: { path: { id, userId: id } } });
  const near = await api.GET("/v1/nearby", { params: { query: { lat: 48.8566, lng: 2.3522, radius: 1500, limit: 50 } } });
  if (near.data?.nextCursor) {
    await api.GET("/v1/nearby", { params: { query: { lat: 48.8566, lng: 2.3522, cursor: near.data.nextCursor } } });
  }

  // fans
  await api.GET("/v1/me/loyalty");
  await api.GET("/v1/me/referral");
  await api.GET("/v1/rewards");
  await api.POST("/v1/rewards", { body: { name: "Tote bag", description: "Organic cotton", cost: 300, active: true } });
  await api.PATCH("/v1/rewards/{id}", { params: { path: { id } }, body: { active: false } });
  await api.POST("/v1/me/rewards/{id}/claim", { params: { path: { id } } });
  await api.POST("/v1/admin/activities", { body: { userId: id, kind: "checkin", sourceKey: "checkin:e1:u1", at } });
  await api.GET("/v1/admin/segments");
  await api.GET("/v1/admin/users/{id}", { params: { path: { id } } });
  await api.POST("/v1/shops/{id}/feedback", { params: { path: { id } }, body: { rating: 2, comment: "Long queue" } });
  await api.GET("/v1/shops/{id}/feedback", { params: { path: { id }, query: { needsAttention: true } } });

  // public reviews
  const rid = id;
  await api.POST("/v1/shops/{id}/reviews", { params: { path: { id } }, body: { rating: 5, comment: "Lovely staff", displayName: "Ana" } });
  await api.GET("/v1/shops/{id}/reviews", { params: { path: { id } } });
  await api.POST("/v1/shops/{id}/reviews/{rid}/reports", { params: { path: { id, rid } }, body: { reason: "spam" } });
  await api.PUT("/v1/shops/{id}/reviews/{rid}/answer", { params: { path: { id, rid } }, body: { text: "Thank you!" } });
  await api.POST("/v1/shops/{id}/reviews/{rid}/hide", { params: { path: { id, rid } }, body: { reason: "off topic" } });
  await api.GET("/feeds/shops/{id}/reviews.json", { params: { path: { id } } });
  await api.GET("/widgets/shops/{id}/reviews", { params: { path: { id }, query: { lang: "fr" } }, parseAs: "text" });
  await api.POST("/v1/shops/{id}/gestures", { params: { path: { id } }, body: { userId: id, message: "Sorry about the wait", offer: { title: "A free coffee" } } });
  await api.GET("/v1/shops/{id}/gestures/stats", { params: { path: { id } } });
  // visits: "how was your visit?" and the shop's figures
  await api.POST("/v1/me/visit-asks/{id}/rating", { params: { path: { id } }, body: { rating: 4, comment: "Friendly" } });
  await api.GET("/v1/shops/{id}/visit-stats", { params: { path: { id } } });
  await api.GET("/v1/me/export");

  // campaigns
  const draft: Campaign = {
    name: "Spring",
    geofence: square,
    trigger: { kind: "dwell", dwellSeconds: 120 },
    schedule: { startsAt: at, timezone: "Europe/Paris", days: ["sat", "sun"], hours: { from: "10:00", to: "18:00" } },
    audience: { segments: ["devoted"], newcomers: false },
    offer: { texts: [{ locale: "fr", formality: "formal", title: "-10 %", body: "Sur tout" }], value: "10%", validityHours: 48, budget: 100 },
    caps: { perCustomer: 1, cooldownSeconds: 3600 },
  };
  await api.POST("/v1/campaigns", { body: draft });
  await api.POST("/v1/campaigns", { body: { ...draft, geofence: { circles: [{ center: { lat: 48.85, lng: 2.35 }, radiusM: 200 }] } } });
  await api.POST("/v1/campaigns", { body: { ...draft, geofence: { shops: { shopIds: [id], radiusM: 150 } } } });
  await api.POST("/v1/campaigns", { body: { ...draft, geofence: { type: "Feature", geometry: square, properties: { name: "drawn in geojson.io" } } } });
  await api.POST("/v1/campaigns", { body: { ...draft, geofence: { type: "FeatureCollection", features: [{ type: "Feature", geometry: square, properties: null }] } } });
  await api.GET("/v1/campaigns", { params: { query: { status: "active" } } });
  const cp = await api.GET("/v1/campaigns/{id}", { params: { path: { id } } });
  if (cp.data && "circles" in cp.data.geofence) {
    const r: number = cp.data.geofence.circles[0].radiusM;
    void r;
  }
  await api.PATCH("/v1/campaigns/{id}", { params: { path: { id } }, body: { caps: { perCustomer: 2, cooldownSeconds: 0 } } });
  await api.POST("/v1/campaigns/{id}/activate", { params: { path: { id } } });
  await api.POST("/v1/campaigns/{id}/pause", { params: { path: { id } } });
  await api.POST("/v1/campaigns/{id}/end", { params: { path: { id } } });
  await api.GET("/v1/campaigns/{id}/cells", { params: { path: { id } } });
  await api.GET("/v1/campaigns/{id}/reach", { params: { path: { id }, query: { days: 30 } } });
  const st = await api.GET("/v1/campaigns/{id}/stats", { params: { path: { id } } });
  if (st.data?.experiment) {
    const low: number | undefined = st.data.experiment.arms[0].returnedLift?.low;
    void low;
  }
  // experiments: variants with weights and a holdout, then decisions
  await api.POST("/v1/campaigns", {
    body: {
      ...draft,
      variants: [
        { id: "a", weight: 1, texts: [{ locale: "en", formality: "formal", title: "A coffee" }], value: "coffee", validityHours: 24 },
        { weight: 2, texts: [{ locale: "en", formality: "familiar", title: "-20%" }], validityHours: 48 },
      ],
      holdoutPercent: 10,
      returnDays: 7,
    },
  });
  await api.POST("/v1/campaigns/{id}/variants/{variantId}/stop", { params: { path: { id, variantId: "a" } } });
  await api.POST("/v1/campaigns/{id}/variants/{variantId}/winner", { params: { path: { id, variantId: "v2" } } });

  // location
  await api.POST("/v1/me/location", { body: { lat: 48.85, lng: 2.35, accuracyM: 12, recordedAt: at } });
  await api.POST("/v1/me/location", { body: { points: [{ lat: 48.85, lng: 2.35, accuracyM: 12, recordedAt: at }] } });

  // offers
  await api.GET("/v1/me/offers");
  await api.POST("/v1/shops/{id}/redemptions", { params: { path: { id } }, body: { code: "ABCD-EFG-HJ" } });

  // notifications
  await api.POST("/v1/me/devices", { body: { token: "fcm-token", platform: "ios", appVersion: "3.2.0" } });
  await api.DELETE("/v1/me/devices/{token}", { params: { path: { token: "fcm-token" } } });
  await api.GET("/v1/me/notifications", { params: { query: { limit: 20 } } });
  await api.POST("/v1/me/notifications/{id}/opened", { params: { path: { id } } });
  await api.GET("/v1/admin/notifications", { params: { query: { status: "failed", limit: 100 } } });
  await api.GET("/v1/admin/events", { params: { query: { after: "", limit: 100 } }, parseAs: "text" });

  // webhooks
  const hook = await api.POST("/v1/admin/webhooks", {
    body: { url: "https://example.com/hooks", types: ["checkin", "offer.redeemed"], secret: "0123456789abcdef0123" },
  });
  if (hook.data) {
    const secret: string = hook.data.secret;
    void secret;
  }
  await api.GET("/v1/admin/webhooks");
  await api.POST("/v1/admin/webhooks/{id}/pause", { params: { path: { id } } });
  await api.POST("/v1/admin/webhooks/{id}/resume", { params: { path: { id } } });
  const deliveries = await api.GET("/v1/admin/webhooks/{id}/deliveries", { params: { path: { id }, query: { limit: 20 } } });
  if (deliveries.data?.next) {
    await api.GET("/v1/admin/webhooks/{id}/deliveries", { params: { path: { id }, query: { before: deliveries.data.next } } });
  }
  await api.POST("/v1/admin/webhooks/{id}/deliveries/{deliveryId}/replay", { params: { path: { id, deliveryId: id + "." + id } } });
  await api.DELETE("/v1/admin/webhooks/{id}", { params: { path: { id } } });
  // audit
  const trail = await api.GET("/v1/admin/audit", { params: { query: { limit: 100 } } });
  if (trail.data?.next) {
    const action: "gesture" | "redemption" | "activity" | undefined = trail.data.items[0]?.action;
    void action;
    await api.GET("/v1/admin/audit", { params: { query: { after: trail.data.next } } });
  }
}
