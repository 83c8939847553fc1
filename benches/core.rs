//! The pure core's cost per postback, natively: what the edge adds on top
//! of the platform. `make bench` runs it; the target is ≤ 2 µs for
//! parsing plus every edge check of a typical postback.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use postback_edge::campaign::Campaign;
use postback_edge::click::{Click, ClickKey, ClickKeys, Country};
use postback_edge::edge;
use postback_edge::ids::{CampaignId, PartnerId};
use postback_edge::ledger::{self, memory::MemoryStore, CapPeriod};
use postback_edge::params::Params;
use postback_edge::postback::Postback;
use postback_edge::timezone::Timezone;

const NOW: i64 = 1_790_000_000;

fn campaign() -> Campaign {
    let text = std::fs::read_to_string("examples/campaigns.json").expect("examples");
    let all: Vec<serde_json::Value> = serde_json::from_str(&text).expect("json");
    Campaign::from_json(&all[0].to_string()).expect("example 1001 is valid")
}

fn click(key: &ClickKeys) -> String {
    Click {
        campaign: CampaignId::parse("1001").unwrap(),
        partner: PartnerId::parse("77").unwrap(),
        time: (NOW - 3600) as u32,
        country: Country::from_code("DE"),
        nonce: [1, 2, 3, 4],
    }
    .mint(key)
}

/// Five keys with five different key ids, so that each click id names one
/// key (two keys share an id one time in 128, and both are then tried).
fn five_keys() -> String {
    let mut ids = Vec::new();
    let mut keys = Vec::new();
    for i in 0.. {
        let secret = format!("bench-rotation-key-{i}");
        let id = ClickKey::new(secret.as_bytes()).unwrap().id();
        if !ids.contains(&id) {
            ids.push(id);
            keys.push(secret);
        }
        if keys.len() == 5 {
            break;
        }
    }
    keys.join(" ")
}

fn benches(c: &mut Criterion) {
    let key = ClickKeys::from_secret("bench-signing-key").unwrap();
    let campaign = campaign();
    let token = click(&key);
    let query = format!(
        "click_id={token}&goal=purchase&status=approved&sum=49.90&currency=EUR&action_id=order-8812&custom_field1=abc"
    );

    c.bench_function("postback: parse + every edge check", |b| {
        b.iter(|| {
            let params = Params::from_query(black_box(&query)).unwrap();
            let postback = Postback::from_params(params).unwrap();
            let identified = edge::identify(&postback, &key).unwrap();
            edge::admit(&identified, postback, Some(&campaign), None, NOW, false).unwrap()
        })
    });

    c.bench_function("postback: edge rejection (goal_not_found)", |b| {
        let bad = format!("click_id={token}&goal=refund");
        b.iter(|| {
            let params = Params::from_query(black_box(&bad)).unwrap();
            let postback = Postback::from_params(params).unwrap();
            let identified = edge::identify(&postback, &key).unwrap();
            edge::admit(&identified, postback, Some(&campaign), None, NOW, false).unwrap_err()
        })
    });

    c.bench_function("click: mint", |b| {
        let click = Click::verify(&token, &key).unwrap();
        b.iter(|| black_box(&click).mint(&key))
    });

    c.bench_function("click: verify", |b| {
        b.iter(|| Click::verify(black_box(&token), &key))
    });

    // Rotation: five keys listed, the click signed by the oldest (listed
    // last). Its key id picks the key, so this costs what one key does.
    let five = five_keys();
    let oldest = ClickKeys::from_secret(five.split_whitespace().last().unwrap()).unwrap();
    let old_token = click(&oldest);
    let five = ClickKeys::from_secret(&five).unwrap();
    c.bench_function("click: verify, 1 key listed", |b| {
        b.iter(|| Click::verify(black_box(&old_token), &oldest).unwrap())
    });
    c.bench_function("click: verify, 5 keys listed", |b| {
        b.iter(|| Click::verify(black_box(&old_token), &five).unwrap())
    });

    c.bench_function("payout: match", |b| {
        let partner = PartnerId::parse("77").unwrap();
        b.iter(|| {
            campaign.payout(
                black_box("install"),
                Country::from_code("AT"),
                &partner,
                None,
            )
        })
    });

    let berlin = Timezone::parse("Europe/Berlin").unwrap();
    let now = NOW;
    for period in [
        CapPeriod::Hour,
        CapPeriod::Day,
        CapPeriod::Week,
        CapPeriod::Month,
    ] {
        c.bench_function(&format!("cap period: {}", period.as_str()), |b| {
            b.iter(|| period.span(black_box(&berlin), now))
        });
    }

    c.bench_function("ledger: decide a new conversion against 2 caps", |b| {
        let params = Params::from_query(&format!("click_id={token}&goal=install")).unwrap();
        let postback = Postback::from_params(params).unwrap();
        let identified = edge::identify(&postback, &key).unwrap();
        let submission = edge::admit(&identified, postback, Some(&campaign), None, NOW, false)
            .unwrap()
            .submission;
        let store = MemoryStore::default();
        b.iter(|| ledger::decide(&store, black_box(&submission), now).unwrap())
    });

    c.bench_function("campaign: parse and validate a config", |b| {
        let text = std::fs::read_to_string("examples/campaigns.json").unwrap();
        let all: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        let json = all[0].to_string();
        b.iter(|| Campaign::from_json(black_box(&json)).unwrap())
    });
}

criterion_group!(core, benches);
criterion_main!(core);
