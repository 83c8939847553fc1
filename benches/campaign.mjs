// The campaign both benchmarks use, and the key its click ids are signed
// with: the same config for our worker and the plain-JS peer.
export const KEY = "bench-click-signing-key";

export const CAMPAIGN = {
  id: "bench",
  status: "active",
  privacy: "public",
  landing_url: "https://shop.example/?cid={click_id}",
  currency: "USD",
  timezone: "Europe/Berlin",
  default_goal: "1",
  goals: [{ id: "1" }, { id: "purchase" }],
  payouts: [{ goal: "1", amount: "1.00" }, { goal: "purchase", percent: "10" }],
  caps: [{ period: "month", type: "budget", value: "100000000.00" }],
};
