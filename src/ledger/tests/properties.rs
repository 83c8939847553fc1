//! Properties of the ledger over random postbacks: caps never exceeded,
//! repeats never counted twice.

use super::*;

/// One postback of a random sequence.
#[derive(Debug, Clone)]
struct Step {
    click: u8,
    partner: u8,
    goal: u8,
    status: Status,
    payout_cents: u16,
    seconds_later: u32,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0u8..12,
        0u8..3,
        0u8..2,
        prop::sample::select(Status::ALL.to_vec()),
        0u16..500,
        0u32..20_000,
    )
        .prop_map(
            |(click, partner, goal, status, payout_cents, seconds_later)| Step {
                click,
                partner,
                goal,
                status,
                payout_cents,
                seconds_later,
            },
        )
}

proptest! {
    /// No sequence of postbacks takes a counter past its cap, the same
    /// postback twice never counts twice, and a conversion leaves pending at
    /// most once.
    #[test]
    fn caps_are_never_exceeded(
        steps in prop::collection::vec(step(), 1..80),
        limit in 0u64..6,
        budget_cents in 0u32..1500,
        per_partner in any::<bool>(),
        period in prop::sample::select(vec![CapPeriod::Hour, CapPeriod::Day, CapPeriod::All]),
    ) {
        let mut store = MemoryStore::default();
        let budget = Money::parse(&format!("{}.{:02}", budget_cents / 100, budget_cents % 100)).unwrap();
        let caps = vec![
            Cap::new(Vec::new(), period, CapLimit::Conversions(limit), per_partner),
            Cap::new(vec!["1".to_owned()], CapPeriod::All, CapLimit::Budget(budget), false),
        ];
        let mut now = at("2026-10-24T20:00:00Z");
        let mut transitions_from_final = 0;
        for s in &steps {
            now += i64::from(s.seconds_later);
            let mut sub = submission(&format!("c{}", s.click));
            sub.partner_id = PartnerId::parse(&format!("p{}", s.partner)).unwrap();
            sub.goal = (s.goal + 1).to_string();
            sub.status = s.status;
            sub.payout = Money::parse(&format!("{}.{:02}", s.payout_cents / 100, s.payout_cents % 100)).ok();
            sub.caps = caps.clone();
            let identity = identity(&sub.goal, None, &sub.click_id);
            let before = store.conversions.get(&identity).map(|c| c.status());
            let counters_before = store.counters.clone();
            let result = post(&mut store, &sub, now);
            if let (Some(old), Ok(_)) = (before, &result) {
                if old != Status::Pending { transitions_from_final += 1; }
                prop_assert_eq!(&store.counters, &counters_before, "an update moved a counter");
            }
        }
        prop_assert_eq!(transitions_from_final, 0);
        for (key, used) in &store.counters {
            let limit_for_key = if key.as_str().starts_with("budget") {
                budget.decimal()
            } else {
                Decimal::from(limit)
            };
            prop_assert!(*used <= limit_for_key, "{} at {} over {}", key.as_str(), used, limit_for_key);
        }
        // Counters agree with what was admitted: the all-time budget counter
        // is the payout sum of goal-1 conversions.
        // The delivered bodies of created conversions carry their payouts.
        let goal1: Decimal = store.outbox.iter()
            .map(|m| serde_json::from_str::<serde_json::Value>(&m.body).unwrap())
            .filter(|b| b["type"] == "conversion.created" && b["data"]["goal"] == "1")
            .map(|b| Money::parse(b["data"]["payout"].as_str().unwrap()).unwrap().decimal())
            .sum();
        let budget_used: Decimal = store.counters.iter().filter(|(k, _)| k.as_str().starts_with("budget")).map(|(_, v)| *v).sum();
        prop_assert_eq!(goal1, budget_used);
        let outbox_ids: std::collections::BTreeSet<_> = store.outbox.iter().map(|m| m.id.clone()).collect();
        prop_assert_eq!(outbox_ids.len(), store.outbox.len(), "outbox ids are unique");
    }
}

proptest! {
    /// Whatever a postback is, sending it twice counts it at most once: the
    /// repeat changes no counter and adds no conversion or outbox message.
    #[test]
    fn the_same_postback_twice_never_counts_twice(
        s in step(),
        limit in 0u64..3,
        on_time in any::<bool>(),
        has_payout in any::<bool>(),
        action in proptest::option::of("[a-z0-9]{1,6}"),
    ) {
        let mut store = MemoryStore::default();
        let mut sub = submission(&format!("c{}", s.click));
        sub.status = s.status;
        sub.on_time = on_time;
        sub.action_id = action;
        sub.payout = has_payout.then(|| Money::parse(&format!("{}.{:02}", s.payout_cents / 100, s.payout_cents % 100)).unwrap());
        sub.caps = vec![conversions_cap(limit, CapPeriod::Day, false)];
        let _ = post(&mut store, &sub, noon());
        let (conversions, counters, outbox) = (store.conversions.clone(), store.counters.clone(), store.outbox.len());
        let again = post(&mut store, &sub, noon());
        prop_assert!(again.is_err(), "a repeat was accepted: {:?}", again);
        prop_assert_eq!(&store.conversions, &conversions);
        prop_assert_eq!(&store.counters, &counters);
        prop_assert_eq!(store.outbox.len(), outbox);
    }
}
