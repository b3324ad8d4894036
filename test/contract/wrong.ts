// Each call here is wrong in one way; the contract check asserts that tsc
// refuses every one of them (WRONG lines), so the types really constrain.
import createClient from "openapi-fetch";
import type { paths } from "./schema";

const api = createClient<paths>({ baseUrl: "http://127.0.0.1:8080" });

export async function wrongCalls(): Promise<void> {
  await api.GET("/v1/nearby", { params: { query: { lat: "48.85", lng: 2.35 } } }); // WRONG: lat is a number
  await api.GET("/v1/nearby", { params: { query: { lng: 2.35 } } }); // WRONG: lat is required
  await api.GET("/v1/campaigns", { params: { query: { status: "lost" } } }); // WRONG: not a status
  await api.POST("/v1/me/devices", { body: { token: "t", platform: "nokia" } }); // WRONG: not a platform
  await api.POST("/v1/events/{id}/feedback", { params: { path: { id: "x" } }, body: { comment: "no rating" } }); // WRONG: rating is required
  await api.GET("/v1/shops/{id}", {}); // WRONG: the path parameter id is missing
}
