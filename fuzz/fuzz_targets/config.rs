//! Campaign config validation: never a panic; a config that validates
//! answers every rule without panicking either.
#![no_main]
use libfuzzer_sys::fuzz_target;
use postback_edge::campaign::Campaign;
use postback_edge::click::Country;
use postback_edge::ids::PartnerId;
use postback_edge::money::Money;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(campaign) = Campaign::from_json(text) else { return };
    let partner = PartnerId::parse("77").expect("valid id");
    let goal = campaign.goal(None).map(str::to_owned);
    if let Some(goal) = goal {
        let _ = campaign.payout(&goal, Country::from_code("DE"), &partner, Money::parse("12.50").ok());
    }
    let _ = campaign.is_on_time(u64::MAX);
    let _ = campaign.source_problem(Some(""), None);
    let now = 1_790_000_000;
    for cap in campaign.caps() {
        let _ = cap.counter(campaign.timezone(), &partner, now);
    }
});
