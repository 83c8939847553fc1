//! The example campaigns `make dev` seeds are valid configs, and cover the
//! kinds the README promises: public, private, paused, capped, geo payouts.

use postback_edge::campaign::{Campaign, CampaignStatus};

#[test]
fn example_campaigns_are_valid_and_varied() {
    let text = std::fs::read_to_string("examples/campaigns.json").expect("examples/campaigns.json");
    let configs: Vec<serde_json::Value> = serde_json::from_str(&text).expect("a JSON array");
    let campaigns: Vec<Campaign> = configs
        .iter()
        .map(|c| {
            Campaign::from_json(&c.to_string())
                .unwrap_or_else(|e| panic!("example {} is invalid: {e}", c["id"]))
        })
        .collect();
    assert!(campaigns
        .iter()
        .any(|c| c.status() == CampaignStatus::Paused));
    assert!(campaigns.iter().any(|c| !c.caps().is_empty()));
    assert!(campaigns.iter().any(|c| c.secure_code().is_some()));
    assert!(configs.iter().any(|c| c["privacy"] == "private"));
    assert!(configs.iter().any(|c| c["payouts"]
        .as_array()
        .is_some_and(|p| p.iter().any(|r| r.get("countries").is_some()))));
}
