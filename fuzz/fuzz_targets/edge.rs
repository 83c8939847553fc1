//! The whole stateless path and the ledger: a query against the example
//! campaign, then `decide` and commit in memory. Never a panic; the
//! submission survives the wire between the tiers; against a campaign with
//! a secure code, the code never reaches the log draft or the delivered
//! fields, whatever name or value carries it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use postback_edge::campaign::Campaign;
use postback_edge::click::{Click, ClickKeys, Country};
use postback_edge::edge;
use postback_edge::ids::{CampaignId, PartnerId};
use postback_edge::ledger::{self, memory::MemoryStore, Decision, Store, Submission};
use postback_edge::params::Params;
use postback_edge::postback::Postback;
use std::sync::OnceLock;

const NOW: i64 = 1_790_000_000;

const SECURE_CODE: &str = "fuzz-secure";

fn world() -> &'static (ClickKeys, Campaign, String, Campaign) {
    static WORLD: OnceLock<(ClickKeys, Campaign, String, Campaign)> = OnceLock::new();
    WORLD.get_or_init(|| {
        let key = ClickKeys::from_secret("fuzz-key").expect("a key");
        let seed = include_str!("../seed_campaign.json");
        let campaign = Campaign::from_json(seed).expect("seed config valid");
        let mut config: serde_json::Value = serde_json::from_str(seed).expect("seed is JSON");
        config["secure_code"] = SECURE_CODE.into();
        let secured = Campaign::from_json(&config.to_string()).expect("secured seed valid");
        let token = Click {
            campaign: CampaignId::parse("1001").expect("id"),
            partner: PartnerId::parse("77").expect("id"),
            time: (NOW - 60) as u32,
            country: Country::from_code("DE"),
            nonce: [1, 2, 3, 4],
        }
        .mint(&key);
        (key, campaign, token, secured)
    })
}

/// Whether any key or string in `value` contains `text`.
fn holds(value: &serde_json::Value, text: &str) -> bool {
    match value {
        serde_json::Value::String(s) => s.contains(text),
        serde_json::Value::Array(items) => items.iter().any(|v| holds(v, text)),
        serde_json::Value::Object(map) => map.iter().any(|(k, v)| k.contains(text) || holds(v, text)),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (key, campaign, token, secured) = world();
    // `@` in the input stands for a genuine click id.
    let query = text.replace('@', token);
    let Ok(params) = Params::from_query(&query) else { return };
    let Ok(postback) = Postback::from_params(params) else { return };
    let Ok(identified) = edge::identify(&postback, key) else { return };
    // The secure code reaches neither the log nor a delivery.
    let (log, fields) = match edge::admit(&identified, postback.clone(), Some(secured), None, NOW, false) {
        Ok(a) => (a.log, Some(a.submission.fields)),
        Err(refused) => (refused.log, None),
    };
    // Searched in the values themselves: a JSON escape's text (`\u000f`
    // before `uzz-secure`) is not the code.
    let shown = serde_json::to_value(&log).expect("drafts serialize");
    assert!(!holds(&shown, SECURE_CODE), "secure code in the log: {shown}");
    let fields = serde_json::to_value(&fields).expect("fields serialize");
    assert!(!holds(&fields, SECURE_CODE), "secure code delivered: {fields}");
    let Ok(admitted) = edge::admit(&identified, postback, Some(campaign), None, NOW, false) else { return };
    let submission = admitted.submission;
    // What crosses to the object comes back as sent.
    let wire = serde_json::to_string(&submission).expect("submissions serialize");
    let back: Submission = serde_json::from_str(&wire).expect("and deserialize");
    assert_eq!(serde_json::to_string(&back).expect("serialize again"), wire);
    assert_eq!(back, submission);
    let mut store = MemoryStore::default();
    let now = NOW;
    for _ in 0..2 {
        if let Ok(Decision::Accept(change)) = ledger::decide(&store, &submission, now) {
            store.commit(&change).expect("memory store");
        }
    }
    assert!(store.conversions.len() <= 1, "the same postback twice counted twice");
});
