//! Everything a request can reach, fed arbitrary input: never a panic, and
//! where a value can be printed back, parse → print → parse round-trips.

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use postback_edge::campaign::Campaign;
use postback_edge::click::{Click, ClickKeys, Country};
use postback_edge::ids::{CampaignId, PartnerId};
use postback_edge::log::LogQuery;
use postback_edge::money::Money;
use postback_edge::params::aliases::{Alias, TRACKERS};
use postback_edge::params::{Aliases, BodyKind, Params, MAX_NAME_BYTES, MAX_PARAMS};
use postback_edge::postback::Postback;
use postback_edge::route::route;
use proptest::prelude::*;

fn key() -> ClickKeys {
    ClickKeys::from_secret("property-test-key").unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_queries_never_panic_and_respect_the_limits(query in ".{0,300}") {
        if let Ok(params) = Params::from_query(&query) {
            prop_assert!(params.len() <= MAX_PARAMS);
            for (name, _) in params.iter() {
                prop_assert!(!name.is_empty() && name.len() <= MAX_NAME_BYTES);
            }
            let _ = Postback::from_params(params.clone());
            let _ = LogQuery::from_params(&params);
        }
    }

    #[test]
    fn postback_queries_read_each_parameter_once_and_keep_every_name_as_sent(query in ".{0,300}") {
        if let Ok(params) = Params::from_query_with(&query, &Aliases::POSTBACK) {
            prop_assert!(params.len() <= MAX_PARAMS);
            prop_assert_eq!(params.received().count(), params.len());
            let mut read = std::collections::BTreeSet::new();
            for (name, value) in params.iter() {
                prop_assert!(read.insert(name), "{} read twice", name);
                prop_assert_eq!(params.get(name), Some(value));
            }
            for (name, _) in params.received() {
                prop_assert!(!name.is_empty() && name.len() <= MAX_NAME_BYTES);
            }
            let _ = Postback::from_params(params.clone());
        }
    }

    #[test]
    fn other_trackers_names_read_as_ours_and_are_received_as_sent(
        picks in proptest::collection::btree_map(0..TRACKERS.len(), ".{0,16}", 0..8)
    ) {
        // One tracker name per parameter of ours: two would be one parameter.
        let mut rows: Vec<(Alias, String)> = Vec::new();
        for (i, value) in picks {
            let row = TRACKERS[i];
            if rows.iter().all(|(r, _)| r.ours != row.ours) {
                rows.push((row, value));
            }
        }
        let query: Vec<String> = rows
            .iter()
            .map(|(row, v)| format!("{}={}", row.theirs, utf8_percent_encode(v, NON_ALPHANUMERIC)))
            .collect();
        let params = Params::from_query_with(&query.join("&"), &Aliases::POSTBACK).unwrap();
        let read: Vec<(&str, &str)> = rows.iter().map(|(r, v)| (r.ours, v.as_str())).collect();
        let received: Vec<(&str, &str)> = rows.iter().map(|(r, v)| (r.theirs, v.as_str())).collect();
        prop_assert_eq!(params.iter().collect::<Vec<_>>(), read);
        prop_assert_eq!(params.received().collect::<Vec<_>>(), received);
    }

    #[test]
    fn arbitrary_param_aliases_never_panic(text in ".{0,200}") {
        if let Ok(aliases) = Aliases::with_setting(&text) {
            let _ = Params::from_query_with("click_id=a&sum=1", &aliases);
        }
    }

    #[test]
    fn arbitrary_bytes_as_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = Params::from_post("", BodyKind::Form, &body);
        let _ = Params::from_post("", BodyKind::Json, &body);
        let _ = Params::from_post_with("", BodyKind::Form, &body, &Aliases::POSTBACK);
        let _ = Params::from_post_with("", BodyKind::Json, &body, &Aliases::POSTBACK);
    }

    #[test]
    fn encoded_parameters_round_trip(
        pairs in proptest::collection::btree_map("p_[a-z]{1,8}", ".{0,20}", 0..10)
    ) {
        let query: Vec<String> = pairs
            .iter()
            .map(|(n, v)| format!("{n}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
            .collect();
        let params = Params::from_query(&query.join("&")).unwrap();
        let got: Vec<(String, String)> = params.iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
        let want: Vec<(String, String)> = pairs.into_iter().collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn arbitrary_click_ids_do_not_verify(token in "[A-Za-z0-9_-]{0,80}") {
        prop_assert!(Click::verify(&token, &key()).is_err());
    }

    #[test]
    fn minted_clicks_round_trip(
        campaign in "[A-Za-z0-9_-]{1,12}",
        partner in "[A-Za-z0-9_-]{1,12}",
        time in any::<u32>(),
        country in "[A-Z]{2}",
        nonce in any::<[u8; 4]>(),
    ) {
        let click = Click {
            campaign: CampaignId::parse(&campaign).unwrap(),
            partner: PartnerId::parse(&partner).unwrap(),
            time,
            country: Country::from_code(&country),
            nonce,
        };
        let token = click.mint(&key());
        prop_assert!(token.len() <= 64);
        prop_assert_eq!(Click::verify(&token, &key()), Ok(click));
    }

    #[test]
    fn money_prints_what_it_parsed(text in "[0-9.\\-]{0,12}") {
        if let Ok(m) = Money::parse(&text) {
            prop_assert_eq!(Money::parse(&m.to_string()), Ok(m));
        }
    }

    #[test]
    fn arbitrary_configs_never_panic(text in ".{0,200}") {
        let _ = Campaign::from_json(&text);
    }

    #[test]
    fn mutated_configs_never_panic(field in "[a-z_]{1,20}", value in prop_oneof![
        Just(serde_json::json!(null)), Just(serde_json::json!(-1)), Just(serde_json::json!(1.5)),
        Just(serde_json::json!("")), Just(serde_json::json!([])), Just(serde_json::json!({})),
        Just(serde_json::json!([{"goal": "1"}])), Just(serde_json::json!(u64::MAX)),
        ".{0,10}".prop_map(serde_json::Value::String),
    ]) {
        let mut config = serde_json::json!({
            "id": "1", "landing_url": "https://a.example/{click_id}", "goals": [{"id": "1"}],
            "caps": [{"period": "day", "type": "conversions", "value": 1}],
            "payouts": [{"goal": "1", "amount": "1"}]
        });
        config[field] = value;
        let _ = Campaign::from_json(&config.to_string());
    }

    #[test]
    fn arbitrary_routes_never_panic(method in "[A-Z]{0,7}", path in ".{0,60}") {
        let _ = route(&method, &path);
    }
}
