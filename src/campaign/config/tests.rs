//! The tests of `campaign/config.rs`.

use super::super::fixtures::{base, with};
use super::*;
use serde_json::json;

/// The config example of SPEC §5.
fn spec_example() -> Value {
    json!({
      "id": "1001", "status": "active", "privacy": "public",
      "approved_partners": ["77"], "secure_code": "s3cr3t",
      "allowed_ips": ["203.0.113.0/24"],
      "landing_url": "https://shop.example/?cid={click_id}",
      "currency": "USD", "timezone": "Europe/Berlin",
      "default_goal": "1", "default_status": "pending",
      "goals": [{"id": "1", "name": "install"}, {"id": "purchase"}],
      "min_time_to_action": 5, "max_time_to_action": 2592000,
      "payouts": [
        {"goal": "1", "countries": ["DE", "AT"], "partners": [], "amount": "1.20"},
        {"goal": "purchase", "percent": "10"}
      ],
      "caps": [
        {"goals": ["1"], "period": "day", "type": "conversions", "value": 1000},
        {"goals": [], "period": "month", "type": "budget", "value": "5000.00", "per_partner": true}
      ]
    })
}

#[track_caller]
fn check(config: Value, field: &str, problem_contains: &str) {
    match Campaign::from_json(&config.to_string()) {
        Ok(_) => panic!("config was accepted, expected an error on {field}"),
        Err(e) => {
            assert_eq!(e.field, field, "{e}");
            assert!(e.problem.contains(problem_contains), "{e}");
        }
    }
}

/// Every leaf of a full config replaced by values of each wrong kind,
/// and an unknown key put in every object: the field each error names
/// is the one serde_path_to_error finds (see json_path.rs).
#[test]
fn error_paths_agree_with_serde_path_to_error() {
    fn pointers(value: &Value, at: String, out: &mut Vec<(String, bool)>) {
        match value {
            Value::Object(map) => {
                out.push((at.clone(), true));
                for (key, v) in map {
                    pointers(v, format!("{at}/{key}"), out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    pointers(v, format!("{at}/{i}"), out);
                }
            }
            _ => out.push((at, false)),
        }
    }
    let config = spec_example();
    let mut places = Vec::new();
    pointers(&config, String::new(), &mut places);
    let wrong = [
        json!(-1),
        json!(1.5),
        json!("x"),
        json!(true),
        json!(null),
        json!([1]),
        json!({"k": 1}),
    ];
    let mut compared = 0;
    let mut mismatches = Vec::new();
    for (pointer, is_object) in places {
        let mut variants = Vec::new();
        if is_object {
            let mut c = config.clone();
            if let Some(Value::Object(map)) = c.pointer_mut(&pointer) {
                map.insert("zz_unknown".into(), json!(1));
            }
            variants.push(c);
        } else {
            for w in &wrong {
                let mut c = config.clone();
                if let Some(slot) = c.pointer_mut(&pointer) {
                    *slot = w.clone();
                }
                variants.push(c);
            }
        }
        for variant in variants {
            let text = serde_json::to_string_pretty(&variant).unwrap();
            let de = &mut serde_json::Deserializer::from_str(&text);
            let Err(reference) = serde_path_to_error::deserialize::<_, RawCampaign>(de) else {
                continue;
            };
            let expected = match reference.path().to_string() {
                root if root == "." => "(config)".to_owned(),
                path => path,
            };
            let Err(ours) = parse(&text) else {
                panic!("accepted what serde refuses: {text}");
            };
            if ours.field != expected {
                mismatches.push(format!("{} ≠ {expected}: {}", ours.field, ours.problem));
            }
            compared += 1;
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    assert!(compared > 60, "only {compared} refused variants");
}

#[test]
fn the_spec_example_is_valid() {
    let spec = spec_example();
    let c = Campaign::from_json(&spec.to_string()).unwrap();
    assert_eq!(c.caps().len(), 2);
    assert_eq!(c.secure_code(), Some("s3cr3t"));
}

#[test]
fn minimal_config_gets_defaults() {
    let c = Campaign::from_json(
        r#"{"id":"5","landing_url":"https://a.example/{click_id}","goals":[{"id":"1"}]}"#,
    )
    .unwrap();
    assert_eq!(c.status(), CampaignStatus::Active);
    assert_eq!(c.currency(), "USD");
    assert_eq!(c.timezone().name(), "UTC");
    assert_eq!(c.default_status(), Status::Pending);
}

#[test]
fn shape_errors_name_the_field() {
    check(
        with(json!({"colour": "red"})),
        "colour",
        "unknown field `colour`",
    );
    check(
        with(json!({"status": "sleeping"})),
        "status",
        "unknown variant `sleeping`",
    );
    check(
        with(json!({"privacy": "secret"})),
        "privacy",
        "unknown variant",
    );
    check(
        with(json!({"goals": [{"id": "1", "x": 1}]})),
        "goals[0].x",
        "unknown field `x`",
    );
    check(
        with(json!({"caps": [{"period": "year", "type": "conversions", "value": 1}]})),
        "caps[0].period",
        "unknown variant `year`",
    );
    check(
        with(json!({"caps": [{"period": "day", "type": "clicks", "value": 1}]})),
        "caps[0].type",
        "unknown variant `clicks`",
    );
    check(
        with(json!({"min_time_to_action": -1})),
        "min_time_to_action",
        "invalid value",
    );
    check(json!([1, 2]), "(config)", "JSON object");
    let mut no_id = base();
    no_id.as_object_mut().unwrap().remove("id");
    check(no_id, "(config)", "missing field `id`");
}

#[test]
fn meaning_errors_name_the_field() {
    check(with(json!({"id": "bad id"})), "id", "1 to 12");
    check(
        with(json!({"timezone": "Mars/Olympus"})),
        "timezone",
        "IANA",
    );
    check(with(json!({"currency": "usd"})), "currency", "ISO 4217");
    check(
        with(json!({"landing_url": "ftp://x/{click_id}"})),
        "landing_url",
        "http",
    );
    check(
        with(json!({"landing_url": "https://x/"})),
        "landing_url",
        "{click_id}",
    );
    check(with(json!({"goals": []})), "goals", "at least one");
    check(
        with(json!({"goals": [{"id": "a"}, {"id": "A"}]})),
        "goals[1].id",
        "twice",
    );
    check(
        with(json!({"default_goal": "9"})),
        "default_goal",
        "not one of",
    );
    check(
        with(json!({"approved_partners": ["ok", "not ok"]})),
        "approved_partners[1]",
        "",
    );
    check(
        with(json!({"allowed_ips": ["10.0.0.0/33"]})),
        "allowed_ips[0]",
        "CIDR",
    );
    check(
        with(json!({"min_time_to_action": 10, "max_time_to_action": 5})),
        "min_time_to_action",
        "greater",
    );
    check(
        with(json!({"dedupe_window_days": 0})),
        "dedupe_window_days",
        "1 to 730",
    );
    check(
        with(json!({"dedupe_window_days": 731})),
        "dedupe_window_days",
        "1 to 730",
    );
    check(
        with(json!({"dedupe_window_days": -1})),
        "dedupe_window_days",
        "",
    );
    check(with(json!({"secure_code": ""})), "secure_code", "1 to");
}

#[test]
fn payout_errors() {
    let payouts = |p: Value| with(json!({ "payouts": [p] }));
    check(
        payouts(json!({"goal": "9", "amount": "1"})),
        "payouts[0].goal",
        "not one of",
    );
    check(
        payouts(json!({"goal": "1", "amount": "-1"})),
        "payouts[0].amount",
        "negative",
    );
    check(
        payouts(json!({"goal": "1", "amount": -1})),
        "payouts[0].amount",
        "negative",
    );
    check(
        payouts(json!({"goal": "1", "amount": 1.2})),
        "payouts[0].amount",
        "floating",
    );
    check(
        payouts(json!({"goal": "1", "amount": "x"})),
        "payouts[0].amount",
        "decimal",
    );
    check(payouts(json!({"goal": "1"})), "payouts[0]", "exactly one");
    check(
        payouts(json!({"goal": "1", "amount": "1", "percent": "1"})),
        "payouts[0]",
        "exactly one",
    );
    check(
        payouts(json!({"goal": "1", "percent": "101"})),
        "payouts[0].percent",
        "100",
    );
    check(
        payouts(json!({"goal": "1", "countries": ["de"], "amount": "1"})),
        "payouts[0].countries[0]",
        "two-letter",
    );
    // Goals in payouts are matched without case, like postbacks.
    Campaign::from_json(&payouts(json!({"goal": "purchase", "amount": "1"})).to_string()).unwrap();
}

#[test]
fn cap_errors() {
    let caps = |c: Value| with(json!({ "caps": [c] }));
    check(
        caps(json!({"period": "day", "type": "conversions", "value": -5})),
        "caps[0].value",
        "negative",
    );
    check(
        caps(json!({"period": "day", "type": "budget", "value": "-5"})),
        "caps[0].value",
        "negative",
    );
    check(
        caps(json!({"period": "day", "type": "conversions", "value": "10"})),
        "caps[0].value",
        "whole number",
    );
    check(
        caps(json!({"period": "day", "type": "conversions", "value": 1.5})),
        "caps[0].value",
        "whole number",
    );
    check(
        caps(json!({"goals": ["nope"], "period": "day", "type": "conversions", "value": 1})),
        "caps[0].goals[0]",
        "not one of",
    );
}
