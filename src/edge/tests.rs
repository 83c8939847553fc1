//! The edge's checks, as a table: each case is one postback against one
//! campaign config, and the first failing check it must report.

use super::*;
use crate::campaign::fixtures::{base, with};
use crate::click::Country;
use crate::ids::PartnerId;
use crate::money::Money;
use crate::params::Params;
use crate::status::Status;
use serde_json::{json, Value};

const NOW: i64 = 1_790_000_000;

fn key() -> ClickKeys {
    ClickKeys::from_secret("edge-test-key").unwrap()
}

/// A click id for campaign `campaign`, partner `partner`, `age` seconds old.
fn click(campaign: &str, partner: &str, age: i64) -> String {
    Click {
        campaign: CampaignId::parse(campaign).unwrap(),
        partner: PartnerId::parse(partner).unwrap(),
        time: u32::try_from(NOW - age).unwrap(),
        country: Country::from_code("DE"),
        nonce: [9, 9, 9, 9],
    }
    .mint(&key())
}

fn good_click() -> String {
    click("1001", "77", 60)
}

/// Runs both edge steps for `query` against `config` (`None`: no campaign
/// in KV), from `source`.
fn run(query: &str, config: Option<Value>, source: Option<&str>) -> Result<Submission, Rejection> {
    admitted(query, config, source).map(|a| a.submission)
}

/// [`run`], with the log draft the edge keeps beside the submission.
fn admitted(
    query: &str,
    config: Option<Value>,
    source: Option<&str>,
) -> Result<Admitted, Rejection> {
    let params = Params::from_query(query).expect("test query is well-formed");
    let postback = Postback::from_params(params).expect("test postback is readable");
    let identified = identify(&postback, &key()).map_err(|r| r.rejection().unwrap())?;
    let campaign = config.map(|c| Campaign::from_json(&c.to_string()).unwrap());
    admit(&identified, postback, campaign.as_ref(), source, NOW, false)
        .map_err(|r| r.rejection.rejection().unwrap())
}

#[track_caller]
fn check(query: &str, config: Option<Value>, expected: Result<(), Rejection>) {
    let got = run(query, config, None).map(|_| ());
    assert_eq!(got, expected, "query: {query}");
}

#[test]
fn each_edge_rejection() {
    use Rejection::*;
    let c = good_click();
    check("goal=1", Some(base()), Err(ClickIdMissing));
    check("click_id=&goal=1", Some(base()), Err(ClickIdMissing));
    check("click_id=forged", Some(base()), Err(ClickNotFound));
    check(&format!("click_id={c}"), None, Err(CampaignNotFound));
    check(
        &format!("click_id={c}&campaign_id=not%20an%20id"),
        Some(base()),
        Err(CampaignNotFound),
    );
    check(
        &format!("click_id={}", click("2002", "77", 60)),
        Some(base()),
        Err(CampaignMismatch),
    );
    check(
        &format!("click_id={c}"),
        Some(with(json!({"secure_code": "s3cr3t"}))),
        Err(SecureCodeInvalid),
    );
    check(
        &format!("click_id={c}&secure=wrong"),
        Some(with(json!({"secure_code": "s3cr3t"}))),
        Err(SecureCodeInvalid),
    );
    check(
        &format!("click_id={c}"),
        Some(with(json!({"status": "paused"}))),
        Err(CampaignNotActive),
    );
    check(
        &format!("click_id={c}"),
        Some(with(json!({"status": "disabled"}))),
        Err(CampaignNotActive),
    );
    check(
        &format!("click_id={}", click("1001", "5", 60)),
        Some(with(json!({"privacy": "private"}))),
        Err(CampaignPrivacyError),
    );
    check(
        &format!("click_id={}", click("1001", "5", 60)),
        Some(with(json!({"privacy": "premoderation"}))),
        Err(CampaignPrivacyError),
    );
    check(
        &format!("click_id={c}&goal=refund"),
        Some(base()),
        Err(GoalNotFound),
    );
    check(
        &format!("click_id={c}"),
        Some(with(json!({"default_goal": null}))),
        Err(GoalNotFound),
    );
}

#[test]
fn passing_postbacks() {
    let c = good_click();
    check(&format!("click_id={c}"), Some(base()), Ok(()));
    check(
        &format!("clickid={c}&offer_id=1001&goal=PURCHASE"),
        Some(base()),
        Ok(()),
    );
    check(
        &format!("click_id={c}&secure=s3cr3t"),
        Some(with(json!({"secure_code": "s3cr3t"}))),
        Ok(()),
    );
    check(
        &format!("click_id={c}"),
        Some(with(json!({"privacy": "private"}))),
        Ok(()),
    );
}

#[test]
fn allowed_ips_are_enforced_as_secure_code() {
    let config = || Some(with(json!({"allowed_ips": ["203.0.113.0/24"]})));
    let q = format!("click_id={}", good_click());
    assert!(run(&q, config(), Some("203.0.113.5")).is_ok());
    assert_eq!(
        run(&q, config(), Some("198.51.100.5")).map(|_| ()),
        Err(Rejection::SecureCodeInvalid)
    );
    assert_eq!(
        run(&q, config(), None).map(|_| ()),
        Err(Rejection::SecureCodeInvalid)
    );
}

#[test]
fn the_first_failing_check_is_reported() {
    use Rejection::*;
    // Everything wrong at once: each row fixes the failure above it, and the
    // next check in SPEC order is reported.
    let all_wrong = json!({
        "status": "paused", "privacy": "private", "secure_code": "s3cr3t", "default_goal": null
    });
    let stranger = click("1001", "5", 60);
    let other = click("2002", "5", 60);
    check("goal=x", Some(with(all_wrong.clone())), Err(ClickIdMissing));
    check(
        "click_id=junk&goal=x",
        Some(with(all_wrong.clone())),
        Err(ClickNotFound),
    );
    check(
        &format!("click_id={stranger}&goal=x"),
        None,
        Err(CampaignNotFound),
    );
    check(
        &format!("click_id={other}&goal=x"),
        Some(with(all_wrong.clone())),
        Err(CampaignMismatch),
    );
    check(
        &format!("click_id={stranger}&goal=x"),
        Some(with(all_wrong.clone())),
        Err(SecureCodeInvalid),
    );
    let q = format!("click_id={stranger}&goal=x&secure=s3cr3t");
    check(&q, Some(with(all_wrong)), Err(CampaignNotActive));
    check(
        &q,
        Some(with(json!({"privacy": "private", "secure_code": "s3cr3t"}))),
        Err(CampaignPrivacyError),
    );
    check(
        &q,
        Some(with(json!({"secure_code": "s3cr3t"}))),
        Err(GoalNotFound),
    );
}

#[test]
fn mismatch_is_decided_against_the_named_campaign() {
    // The postback names campaign 1001 but the click was made for 2002:
    // campaign 1001 exists, so this is a mismatch, not "not found".
    let q = format!("click_id={}&campaign_id=1001", click("2002", "77", 60));
    check(&q, Some(base()), Err(Rejection::CampaignMismatch));
}

#[test]
fn hands_over_time_to_action_payout_and_defaults() {
    let Admitted {
        submission: sub,
        log,
    } = admitted(
        &format!("click_id={}", click("1001", "77", 60)),
        Some(base()),
        None,
    )
    .unwrap();
    assert_eq!(sub.goal, "1");
    assert_eq!(sub.status, Status::Pending);
    assert_eq!(sub.currency, "USD");
    assert_eq!(sub.country, "DE");
    assert!(sub.on_time);
    assert_eq!(sub.payout, Money::parse("1.20").ok());
    assert_eq!(
        log.goal.as_deref(),
        Some("1"),
        "the log names the default goal"
    );
    assert_eq!(log.campaign_id.as_deref(), Some("1001"));
    assert_eq!(log.partner_id.as_deref(), Some("77"));
    assert_eq!(log.payout.as_deref(), Some("1.20"));

    let too_soon = run(
        &format!("click_id={}", click("1001", "77", 2)),
        Some(base()),
        None,
    );
    assert!(!too_soon.unwrap().on_time);
    let too_late = run(
        &format!("click_id={}", click("1001", "77", 2_592_001)),
        Some(base()),
        None,
    );
    assert!(!too_late.unwrap().on_time);
    let future = run(
        &format!("click_id={}", click("1001", "77", -30)),
        Some(base()),
        None,
    );
    assert!(
        !future.unwrap().on_time,
        "a click from the future has zero age, below the minimum"
    );

    let sale = run(
        &format!(
            "click_id={}&goal=purchase&sum=80&status=approved&currency=eur&comment=x",
            good_click()
        ),
        Some(base()),
        None,
    )
    .unwrap();
    assert_eq!(sale.goal, "Purchase");
    assert_eq!(sale.payout, Money::parse("8").ok());
    assert_eq!(sale.status, Status::Approved);
    assert_eq!(sale.currency, "EUR");
    assert_eq!(sale.fields.get("comment").map(String::as_str), Some("x"));

    let no_payout = run(
        &format!("click_id={}", good_click()),
        Some(with(
            json!({"payouts": [{"goal": "Purchase", "amount": "1"}]}),
        )),
        None,
    )
    .unwrap();
    assert_eq!(no_payout.payout, None);
}

#[test]
fn click_not_found_says_why() {
    use crate::click::ClickProblem;
    let problem = |query: &str, keys: &ClickKeys| {
        let params = Params::from_query(query).unwrap();
        let postback = Postback::from_params(params).unwrap();
        let refusal = identify(&postback, keys).unwrap_err();
        assert_eq!(refusal.code(), "click_not_found");
        refusal.detail().unwrap().get("problem").cloned().unwrap()
    };
    let c = good_click();
    assert_eq!(problem("click_id=forged", &key()), "malformed");
    let mut tampered = c.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert_eq!(
        problem(&format!("click_id={tampered}"), &key()),
        "bad_signature"
    );
    // The key rotated away: ids signed by it name a key nobody lists.
    let other = (0..)
        .map(|i| format!("another-key-{i}"))
        .map(|k| ClickKeys::from_secret(&k).unwrap())
        .find(|k| k.signing().id() != key().signing().id())
        .unwrap();
    assert_eq!(problem(&format!("click_id={c}"), &other), "unknown_key");
    assert_eq!(ClickProblem::UnknownKey.as_str(), "unknown_key");
}

#[test]
fn an_unreadable_postback_is_traced_to_its_click_when_one_verifies() {
    let c = good_click();
    let found = |query: &str| {
        click_of_unreadable(query, &key(), &crate::params::Aliases::POSTBACK).map(|c| c.campaign)
    };
    let campaign = Some(CampaignId::parse("1001").unwrap());
    assert_eq!(found(&format!("sum=%zz&click_id={c}")), campaign);
    assert_eq!(found(&format!("clickid={c}&secure=%")), campaign);
    // Under another tracker's name too.
    assert_eq!(found(&format!("subid={c}&amount=abc%")), campaign);
    assert_eq!(found("click_id=forged&sum=%zz"), None);
    assert_eq!(found(&format!("note={c}&sum=%zz")), None);
}

/// The detail an edge refusal answers (SPEC §4a), for `query` against
/// `config` from `source`.
#[track_caller]
fn detail(query: &str, config: Option<Value>, source: Option<&str>) -> Value {
    let params = Params::from_query(query).unwrap();
    let postback = Postback::from_params(params).unwrap();
    let identified = identify(&postback, &key()).unwrap();
    let campaign = config.map(|c| Campaign::from_json(&c.to_string()).unwrap());
    let refused = admit(&identified, postback, campaign.as_ref(), source, NOW, false).unwrap_err();
    refused.rejection.detail().unwrap().to_value()
}

#[test]
fn each_edge_refusal_says_what_to_fix() {
    let c = good_click();
    assert_eq!(
        detail(&format!("click_id={c}&campaign_id=9999"), None, None),
        json!({"campaign_id": "9999"})
    );
    assert_eq!(
        detail(
            &format!("click_id={}", click("2002", "77", 60)),
            Some(base()),
            None
        ),
        json!({"campaign_id": "1001", "click_campaign_id": "2002"})
    );
    let secured = with(json!({"secure_code": "s3cr3t", "allowed_ips": ["203.0.113.0/24"]}));
    assert_eq!(
        detail(&format!("click_id={c}"), Some(secured.clone()), None),
        json!({"problem": "missing"})
    );
    let wrong = detail(
        &format!("click_id={c}&secure=guess"),
        Some(secured.clone()),
        None,
    );
    assert_eq!(wrong, json!({"problem": "mismatch"}));
    assert!(
        !wrong.to_string().contains("s3cr3t"),
        "never the expected code"
    );
    assert_eq!(
        detail(
            &format!("click_id={c}&secure=s3cr3t"),
            Some(secured),
            Some("198.51.100.7")
        ),
        json!({"problem": "address_not_allowed", "address": "198.51.100.7"})
    );
    assert_eq!(
        detail(
            &format!("click_id={c}"),
            Some(with(json!({"status": "paused"}))),
            None
        ),
        json!({"campaign_status": "paused"})
    );
    let private = with(json!({"privacy": "private", "approved_partners": ["81"]}));
    assert_eq!(
        detail(&format!("click_id={c}"), Some(private), None),
        json!({"privacy": "private", "partner_id": "77"})
    );
    let goals = detail(&format!("click_id={c}&goal=refund"), Some(base()), None);
    assert_eq!(goals["goal"], "refund");
    assert!(goals["goals"].as_array().unwrap().len() >= 2, "{goals}");
    // A goal sent as the secure code is not echoed back.
    let coded = with(json!({"secure_code": "s3cr3t"}));
    let echoed = detail(
        &format!("click_id={c}&secure=s3cr3t&goal=s3cr3t"),
        Some(coded),
        None,
    );
    assert_eq!(echoed["goal"], "[redacted]");
    let no_default = with(json!({"default_goal": null}));
    assert_eq!(
        detail(&format!("click_id={c}"), Some(no_default), None)["goal"],
        Value::Null
    );
}
