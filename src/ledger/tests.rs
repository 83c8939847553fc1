//! The ledger's decisions, against the in-memory store.

use super::memory::MemoryStore;
use super::*;
use proptest::prelude::*;

mod properties;

fn at(s: &str) -> i64 {
    crate::time::parse_rfc3339(s).unwrap()
}

fn noon() -> i64 {
    at("2026-11-24T12:00:00Z")
}

fn submission(click: &str) -> Submission {
    Submission {
        campaign_id: CampaignId::parse("1001").unwrap(),
        click_id: click.to_owned(),
        partner_id: PartnerId::parse("77").unwrap(),
        country: "DE".to_owned(),
        goal: "1".to_owned(),
        action_id: None,
        status: Status::Pending,
        sum: None,
        currency: "USD".to_owned(),
        on_time: true,
        payout: Money::parse("1.50").ok(),
        caps: Vec::new(),
        timezone: Timezone::parse("Europe/Berlin").unwrap(),
        fields: BTreeMap::new(),
        seconds_since_click: 60,
        min_time_to_action: None,
        max_time_to_action: None,
        dedupe_window_days: 180,
        dry_run: false,
    }
}

fn conversions_cap(value: u64, period: CapPeriod, per_partner: bool) -> Cap {
    Cap::new(
        Vec::new(),
        period,
        CapLimit::Conversions(value),
        per_partner,
    )
}

fn budget_cap(value: &str, period: CapPeriod) -> Cap {
    Cap::new(
        Vec::new(),
        period,
        CapLimit::Budget(Money::parse(value).unwrap()),
        false,
    )
}

/// Decides and, if accepted, commits: what the campaign object does.
fn post(store: &mut MemoryStore, sub: &Submission, now: i64) -> Result<Status, Rejection> {
    match decide(store, sub, now).unwrap() {
        Decision::Accept(change) => {
            let status = change.conversion.status;
            store.commit(&change).unwrap();
            Ok(status)
        }
        Decision::Reject(r, _) => Err(r),
    }
}

fn with_status(mut sub: Submission, status: Status) -> Submission {
    sub.status = status;
    sub
}

#[test]
fn pending_then_approved() {
    let mut store = MemoryStore::default();
    let sub = submission("c1");
    assert_eq!(post(&mut store, &sub, noon()), Ok(Status::Pending));
    assert_eq!(
        post(&mut store, &with_status(sub, Status::Approved), noon()),
        Ok(Status::Approved)
    );
    let stored = store.conversions.values().next().unwrap();
    assert_eq!(stored.status(), Status::Approved);
    let Known::Settled { revision, .. } = stored else {
        panic!("a final conversion is kept settled: {stored:?}");
    };
    assert_eq!(*revision, 2);
    assert_eq!(store.outbox.len(), 2);
    assert_ne!(store.outbox[0].id, store.outbox[1].id);
}

#[test]
fn same_status_twice_and_change_after_approval() {
    let mut store = MemoryStore::default();
    let sub = with_status(submission("c1"), Status::Approved);
    assert_eq!(post(&mut store, &sub, noon()), Ok(Status::Approved));
    assert_eq!(post(&mut store, &sub, noon()), Err(Rejection::StatusSame));
    let declined = with_status(sub, Status::Declined);
    assert_eq!(
        post(&mut store, &declined, noon()),
        Err(Rejection::StatusConfirmed)
    );
    assert_eq!(store.outbox.len(), 1, "rejections write nothing");
}

#[test]
fn action_id_reused_on_another_click_is_the_same_conversion() {
    let mut store = MemoryStore::default();
    let mut first = submission("c1");
    first.action_id = Some("order-9".to_owned());
    let mut second = submission("c2");
    second.action_id = Some("order-9".to_owned());
    assert_eq!(post(&mut store, &first, noon()), Ok(Status::Pending));
    assert_eq!(
        post(&mut store, &second, noon()),
        Err(Rejection::StatusSame)
    );
    // Without action_id the two clicks are two conversions.
    assert_eq!(
        post(&mut store, &submission("c1"), noon()),
        Ok(Status::Pending)
    );
    assert_eq!(
        post(&mut store, &submission("c2"), noon()),
        Ok(Status::Pending)
    );
    assert_eq!(store.conversions.len(), 3);
}

#[test]
fn checks_for_a_new_conversion_in_order() {
    let mut store = MemoryStore::default();
    let mut sub = submission("c1");
    sub.on_time = false;
    sub.payout = None;
    sub.caps = vec![conversions_cap(0, CapPeriod::Day, false)];
    assert_eq!(
        post(&mut store, &sub, noon()),
        Err(Rejection::WrongTimeToAction)
    );
    sub.on_time = true;
    assert_eq!(
        post(&mut store, &sub, noon()),
        Err(Rejection::PayoutsNotFound)
    );
    sub.payout = Money::parse("1").ok();
    assert_eq!(post(&mut store, &sub, noon()), Err(Rejection::CapReached));
    sub.caps.clear();
    assert_eq!(post(&mut store, &sub, noon()), Ok(Status::Pending));
}

#[test]
fn updates_are_not_checked_for_time_payout_or_caps() {
    let mut store = MemoryStore::default();
    let sub = submission("c1");
    assert_eq!(post(&mut store, &sub, noon()), Ok(Status::Pending));
    // The click is now too old, the payout gone and the cap full: a late
    // status update still applies.
    let mut late = with_status(sub, Status::Approved);
    late.on_time = false;
    late.payout = None;
    late.caps = vec![conversions_cap(0, CapPeriod::All, false)];
    assert_eq!(post(&mut store, &late, noon()), Ok(Status::Approved));
}

#[test]
fn status_change_does_not_release_cap_room() {
    let mut store = MemoryStore::default();
    let mut sub = submission("c1");
    sub.caps = vec![conversions_cap(1, CapPeriod::Day, false)];
    assert_eq!(post(&mut store, &sub, noon()), Ok(Status::Pending));
    let mut declined = with_status(sub.clone(), Status::Declined);
    declined.caps = sub.caps.clone();
    assert_eq!(post(&mut store, &declined, noon()), Ok(Status::Declined));
    let mut next = submission("c2");
    next.caps = sub.caps.clone();
    assert_eq!(post(&mut store, &next, noon()), Err(Rejection::CapReached));
}

#[test]
fn per_partner_caps_count_each_partner() {
    let mut store = MemoryStore::default();
    let cap = conversions_cap(1, CapPeriod::All, true);
    let mut a = submission("c1");
    a.caps = vec![cap.clone()];
    let mut b = submission("c2");
    b.caps = vec![cap.clone()];
    b.partner_id = PartnerId::parse("88").unwrap();
    let mut a2 = submission("c3");
    a2.caps = vec![cap];
    assert_eq!(post(&mut store, &a, noon()), Ok(Status::Pending));
    assert_eq!(post(&mut store, &b, noon()), Ok(Status::Pending));
    assert_eq!(post(&mut store, &a2, noon()), Err(Rejection::CapReached));
}

#[test]
fn budget_caps_add_payouts_in_decimal() {
    let mut store = MemoryStore::default();
    let cap = budget_cap("0.30", CapPeriod::Month);
    for (i, expected) in [
        Ok(Status::Pending),
        Ok(Status::Pending),
        Ok(Status::Pending),
        Err(Rejection::CapReached),
    ]
    .into_iter()
    .enumerate()
    {
        let mut sub = submission(&format!("c{i}"));
        sub.payout = Money::parse("0.1").ok();
        sub.caps = vec![cap.clone()];
        // 0.1 + 0.1 + 0.1 is exactly 0.3 in decimal (not in binary floats).
        assert_eq!(post(&mut store, &sub, noon()), expected, "conversion {i}");
    }
}

#[test]
fn caps_count_only_their_goals() {
    let mut store = MemoryStore::default();
    let cap = Cap::new(
        vec!["2".to_owned()],
        CapPeriod::All,
        CapLimit::Conversions(0),
        false,
    );
    let mut goal1 = submission("c1");
    goal1.caps = vec![cap.clone()];
    assert_eq!(post(&mut store, &goal1, noon()), Ok(Status::Pending));
    let mut goal2 = submission("c1");
    goal2.goal = "2".to_owned();
    goal2.caps = vec![cap];
    assert_eq!(post(&mut store, &goal2, noon()), Err(Rejection::CapReached));
}

#[test]
fn a_changed_cap_applies_to_the_next_postback_and_keeps_its_count() {
    let mut store = MemoryStore::default();
    for i in 0..3 {
        let mut sub = submission(&format!("c{i}"));
        sub.caps = vec![conversions_cap(3, CapPeriod::Day, false)];
        assert_eq!(post(&mut store, &sub, noon()), Ok(Status::Pending));
    }
    let mut lowered = submission("c9");
    lowered.caps = vec![conversions_cap(2, CapPeriod::Day, false)];
    assert_eq!(
        post(&mut store, &lowered, noon()),
        Err(Rejection::CapReached)
    );
    lowered.caps = vec![conversions_cap(4, CapPeriod::Day, false)];
    assert_eq!(post(&mut store, &lowered, noon()), Ok(Status::Pending));
}

#[test]
fn the_stricter_of_two_caps_on_one_counter_wins_and_counts_once() {
    let mut store = MemoryStore::default();
    let caps = vec![
        conversions_cap(5, CapPeriod::Day, false),
        conversions_cap(2, CapPeriod::Day, false),
    ];
    let results: Vec<_> = (0..3)
        .map(|i| {
            let mut sub = submission(&format!("c{i}"));
            sub.caps = caps.clone();
            post(&mut store, &sub, noon())
        })
        .collect();
    assert_eq!(
        results,
        [
            Ok(Status::Pending),
            Ok(Status::Pending),
            Err(Rejection::CapReached)
        ]
    );
}

#[test]
fn a_day_cap_resets_at_local_midnight_across_dst() {
    // Berlin's 2026-10-25 lasts 25 hours: 22:00Z on the 24th to 23:00Z on
    // the 25th.
    let mut store = MemoryStore::default();
    let cap = conversions_cap(1, CapPeriod::Day, false);
    let mut post_at = |click: &str, when: &str| {
        let mut sub = submission(click);
        sub.caps = vec![cap.clone()];
        post(&mut store, &sub, at(when))
    };
    assert_eq!(post_at("a", "2026-10-24T22:00:00Z"), Ok(Status::Pending));
    assert_eq!(
        post_at("b", "2026-10-25T22:59:59Z"),
        Err(Rejection::CapReached)
    );
    assert_eq!(post_at("c", "2026-10-25T23:00:00Z"), Ok(Status::Pending));
    // Spring forward: 2026-03-29 lasts 23 hours, 23:00Z to 22:00Z.
    assert_eq!(post_at("d", "2026-03-28T23:00:00Z"), Ok(Status::Pending));
    assert_eq!(
        post_at("e", "2026-03-29T21:59:59Z"),
        Err(Rejection::CapReached)
    );
    assert_eq!(post_at("f", "2026-03-29T22:00:00Z"), Ok(Status::Pending));
}

#[test]
fn hour_caps_keep_the_two_fall_back_hours_apart() {
    let mut store = MemoryStore::default();
    let cap = conversions_cap(1, CapPeriod::Hour, false);
    let mut post_at = |click: &str, when: i64| {
        let mut sub = submission(click);
        sub.caps = vec![cap.clone()];
        post(&mut store, &sub, when)
    };
    let first = at("2026-10-25T00:30:00Z");
    let second = at("2026-10-25T01:30:00Z");
    assert_eq!(post_at("a", first), Ok(Status::Pending));
    assert_eq!(post_at("b", second), Ok(Status::Pending));
    assert_eq!(post_at("c", second), Err(Rejection::CapReached));
}

#[test]
fn verdicts_carry_catalog_codes() {
    let mut store = MemoryStore::default();
    let sub = submission("c1");
    let accept = decide(&store, &sub, noon()).unwrap();
    match accept.verdict() {
        Verdict::Accepted {
            conversion_status,
            created,
            ..
        } => {
            assert_eq!(conversion_status, Status::Pending);
            assert!(created);
        }
        other => panic!("{other:?}"),
    }
    if let Decision::Accept(change) = accept {
        store.commit(&change).unwrap();
    }
    let again = decide(&store, &sub, noon()).unwrap();
    let Decision::Reject(Rejection::StatusSame, detail) = &again else {
        panic!("{again:?}");
    };
    assert_eq!(
        again.verdict(),
        Verdict::Rejected {
            code: "status_same".to_owned(),
            detail: Some(detail.to_value()),
        }
    );
    let json: serde_json::Value = serde_json::to_value(again.verdict()).unwrap();
    assert_eq!(json["result"], "rejected");
    assert_eq!(json["code"], "status_same");
    assert_eq!(json["detail"]["conversion_status"], "pending");
}

#[test]
fn outbox_body_is_the_conversion() {
    let mut store = MemoryStore::default();
    post(&mut store, &submission("c1"), noon()).unwrap();
    let body: serde_json::Value = serde_json::from_str(&store.outbox[0].body).unwrap();
    assert_eq!(body["type"], "conversion.created");
    assert_eq!(body["data"]["click_id"], "c1");
    assert_eq!(body["data"]["payout"], "1.50");
    assert_eq!(body["timestamp"], "2026-11-24T12:00:00Z");
}

#[test]
fn submissions_survive_the_wire() {
    let mut sub = submission("c1");
    sub.caps = vec![
        budget_cap("5000.00", CapPeriod::Month),
        conversions_cap(3, CapPeriod::Hour, true),
    ];
    let json = serde_json::to_string(&sub).unwrap();
    let back: Submission = serde_json::from_str(&json).unwrap();
    assert_eq!(back, sub);
}

#[test]
fn an_identity_is_forgotten_after_its_dedupe_window() {
    let mut store = MemoryStore::default();
    let mut sub = with_status(submission("c1"), Status::Approved);
    sub.dedupe_window_days = 2;
    let created = noon();
    let first = decide(&store, &sub, created).unwrap();
    let Decision::Accept(change) = &first else {
        panic!("{first:?}")
    };
    let first_id = change.conversion.id.clone();
    store.commit(change).unwrap();
    // Within the window, to the second: the same conversion, refused.
    let last_day = created + 2 * 86_400;
    assert_eq!(post(&mut store, &sub, last_day), Err(Rejection::StatusSame));
    // A second later it is forgotten: the same identity is a new conversion,
    // with a new id and new message ids.
    let after = decide(&store, &sub, last_day + 1).unwrap();
    let Decision::Accept(change) = &after else {
        panic!("{after:?}")
    };
    assert_eq!(change.previous, None, "counted as new");
    assert_ne!(change.conversion.id, first_id);
    assert_eq!(change.conversion.identity, identity("1", None, "c1"));
    assert_ne!(change.outbox.id, store.outbox[0].id);
    store.commit(change).unwrap();
    assert_eq!(
        post(&mut store, &sub, last_day + 2),
        Err(Rejection::StatusSame)
    );
}

#[test]
fn pending_conversions_are_kept_whole_and_final_ones_settled() {
    let mut store = MemoryStore::default();
    let sub = submission("c1");
    post(&mut store, &sub, noon()).unwrap();
    let kept = store.conversions.values().next().unwrap().clone();
    assert!(matches!(kept, Known::Full(_)), "{kept:?}");
    post(&mut store, &with_status(sub.clone(), Status::Hold), noon()).unwrap();
    let kept = store.conversions.values().next().unwrap().clone();
    assert!(
        matches!(
            kept,
            Known::Settled {
                status: Status::Hold,
                ..
            }
        ),
        "{kept:?}"
    );
    // A settled conversion still answers updates exactly.
    assert_eq!(
        post(&mut store, &with_status(sub.clone(), Status::Hold), noon()),
        Err(Rejection::StatusSame)
    );
    assert_eq!(
        post(&mut store, &with_status(sub, Status::Approved), noon()),
        Err(Rejection::StatusConfirmed)
    );
}

/// The detail of a refusal of `sub` at `now` against `store`.
#[track_caller]
fn refusal_detail(
    store: &MemoryStore,
    sub: &Submission,
    now: i64,
) -> (Rejection, serde_json::Value) {
    match decide(store, sub, now).unwrap() {
        Decision::Reject(r, detail) => (r, detail.to_value()),
        other => panic!("accepted: {other:?}"),
    }
}

#[test]
fn each_refusal_of_the_object_says_what_to_fix() {
    use serde_json::json;
    let mut store = MemoryStore::default();
    let mut late = submission("c1");
    late.on_time = false;
    late.seconds_since_click = 3;
    late.min_time_to_action = Some(5);
    assert_eq!(
        refusal_detail(&store, &late, noon()),
        (
            Rejection::WrongTimeToAction,
            json!({"seconds_since_click": 3, "min_time_to_action": 5, "max_time_to_action": null})
        )
    );
    let mut unpaid = submission("c1");
    unpaid.payout = None;
    assert_eq!(
        refusal_detail(&store, &unpaid, noon()),
        (
            Rejection::PayoutsNotFound,
            json!({"goal": "1", "country": "DE", "partner_id": "77"})
        )
    );
    let approved = with_status(submission("c2"), Status::Approved);
    post(&mut store, &approved, noon()).unwrap();
    let (code, detail) = refusal_detail(&store, &approved, noon() + 60);
    assert_eq!(code, Rejection::StatusSame);
    assert_eq!(detail["conversion_status"], "approved");
    assert!(detail["conversion_id"]
        .as_str()
        .unwrap()
        .starts_with("cv_1001_"));
    assert_eq!(
        detail["updated_at"],
        crate::time::format_rfc3339(noon(), None)
    );
    let (code, detail) = refusal_detail(&store, &with_status(approved, Status::Declined), noon());
    assert_eq!(code, Rejection::StatusConfirmed);
    assert_eq!(detail["conversion_status"], "approved");
}

#[test]
fn cap_reached_names_the_cap_its_count_and_the_local_reset_across_dst() {
    use serde_json::json;
    let mut store = MemoryStore::default();
    // Europe/Berlin leaves summer time on 2026-10-25: the day that starts
    // at 00:00+02:00 lasts 25 hours, and the next starts at 00:00+01:00.
    let during = at("2026-10-25T12:00:00Z");
    let mut sub = submission("c1");
    sub.caps = vec![conversions_cap(1, CapPeriod::Day, false)];
    post(&mut store, &sub, during).unwrap();
    let mut next = submission("c2");
    next.caps = sub.caps.clone();
    let (code, detail) = refusal_detail(&store, &next, during);
    assert_eq!(code, Rejection::CapReached);
    assert_eq!(
        detail,
        json!({
            "cap": {"goals": [], "period": "day", "type": "conversions", "value": 1, "per_partner": false},
            "used": "1",
            "resets_at": "2026-10-26T00:00:00+01:00",
        })
    );
    let mut budget = submission("c3");
    budget.caps = vec![budget_cap("1.00", CapPeriod::All)];
    post(&mut store, &budget, during).unwrap_err();
    let (_, detail) = refusal_detail(&store, &budget, during);
    assert_eq!(detail["cap"]["type"], "budget");
    assert_eq!(detail["cap"]["value"], "1.00");
    assert_eq!(detail["used"], "0");
    assert_eq!(detail["resets_at"], serde_json::Value::Null);
}
