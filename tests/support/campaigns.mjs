// Campaign configs for tests: one realistic base, and the fields a test is
// about on top.
let counter = 0;

/** A fresh campaign id, so tests never share state through a campaign. */
export function freshId(prefix = "t") {
  counter += 1;
  return `${prefix}${process.pid % 1000}x${counter}`.slice(0, 12);
}

export function campaign(overrides = {}) {
  return {
    id: freshId(),
    status: "active",
    privacy: "public",
    approved_partners: ["77"],
    landing_url: "https://shop.example/?cid={click_id}&p={partner_id}&s1={sub1}",
    currency: "USD",
    timezone: "Europe/Berlin",
    default_goal: "1",
    default_status: "pending",
    goals: [{ id: "1", name: "install" }, { id: "purchase" }],
    payouts: [
      { goal: "1", countries: ["DE", "AT"], amount: "1.20" },
      { goal: "1", amount: "0.50" },
      { goal: "purchase", percent: "10" },
    ],
    caps: [],
    ...overrides,
  };
}
