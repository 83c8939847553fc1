//! The tests of `params.rs`.

use super::*;

#[track_caller]
fn check_query(query: &str, expected: Result<&[(&str, &str)], &str>) {
    let got = Params::from_query(query);
    match (got, expected) {
        (Ok(params), Ok(pairs)) => {
            let got: Vec<_> = params.iter().collect();
            assert_eq!(got, pairs.to_vec());
        }
        (Err(bad), Err(parameter)) => assert_eq!(bad.parameter(), parameter, "{bad:?}"),
        (got, expected) => panic!("query {query:?}: got {got:?}, expected {expected:?}"),
    }
}

#[test]
fn query_strings() {
    check_query("", Ok(&[]));
    check_query(
        "click_id=abc&goal=1",
        Ok(&[("click_id", "abc"), ("goal", "1")]),
    );
    check_query("clickid=abc", Ok(&[("click_id", "abc")]));
    check_query(
        "offer_id=7&sale_amount=1.5",
        Ok(&[("campaign_id", "7"), ("sum", "1.5")]),
    );
    check_query("comment=hello+world%21", Ok(&[("comment", "hello world!")]));
    check_query("a=1&&b=2&", Ok(&[("a", "1"), ("b", "2")]));
    check_query("flag", Ok(&[("flag", "")]));
    check_query("x=a=b", Ok(&[("x", "a=b")]));
    check_query("note=%E2%9C%93", Ok(&[("note", "✓")]));
}

#[test]
fn same_value_twice_is_folded_but_a_different_one_is_refused() {
    check_query("goal=1&goal=1", Ok(&[("goal", "1")]));
    check_query("goal=1&goal=2", Err("goal"));
    check_query("click_id=a&clickid=a", Ok(&[("click_id", "a")]));
    check_query("click_id=a&clickid=b", Err("click_id"));
    check_query("clickid=a&click_id=b", Err("clickid"));
    check_query("campaign_id=1&offer_id=2", Err("campaign_id"));
}

#[test]
fn broken_encoding_names_the_parameter() {
    check_query("sum=%zz", Err("sum"));
    check_query("sum=%4", Err("sum"));
    check_query("sum=%", Err("sum"));
    check_query("note=%FF%FE", Err("note"));
    check_query("offer_id=%G1", Err("offer_id"));
    check_query("%zz=1", Err("%zz"));
}

#[test]
fn limits() {
    let long = format!("comment={}", "a".repeat(MAX_QUERY_BYTES));
    check_query(&long, Err("query"));
    let many: Vec<String> = (0..=MAX_PARAMS).map(|i| format!("p{i}=1")).collect();
    check_query(&many.join("&"), Err("p100"));
    let long_name = format!("{}=1", "n".repeat(MAX_NAME_BYTES + 1));
    assert!(Params::from_query(&long_name).is_err());
    let body = vec![b'a'; MAX_BODY_BYTES + 1];
    let err = Params::from_post("", BodyKind::Form, &body).unwrap_err();
    assert_eq!(err.parameter(), "body");
}

#[test]
fn json_bodies() {
    let p = Params::from_post(
        "",
        BodyKind::Json,
        br#"{"clickid":"abc","sum":12.5,"goal":1,"flag":true,"note":null}"#,
    )
    .unwrap();
    let mut got: Vec<_> = p.iter().collect();
    got.sort_unstable();
    assert_eq!(
        got,
        [
            ("click_id", "abc"),
            ("flag", "true"),
            ("goal", "1"),
            ("note", ""),
            ("sum", "12.5")
        ]
    );
    let err = |body: &[u8]| Params::from_post("", BodyKind::Json, body).unwrap_err();
    assert_eq!(err(b"[1,2]").parameter(), "body");
    assert_eq!(err(b"\"click\"").parameter(), "body");
    assert_eq!(err(b"{").parameter(), "body");
    assert_eq!(err(br#"{"sale_amount":[1]}"#).parameter(), "sale_amount");
    assert_eq!(err(br#"{"goal":{"id":1}}"#).parameter(), "goal");
    assert_eq!(err(b"{} x").parameter(), "body");
    assert_eq!(err(b"null").parameter(), "body");
}

#[test]
fn json_names_given_twice_meet_the_query_rules() {
    let err = |body: &[u8]| Params::from_post("", BodyKind::Json, body).unwrap_err();
    assert_eq!(err(br#"{"goal":"1","goal":"2"}"#).parameter(), "goal");
    assert_eq!(
        err(br#"{"clickid":"a","click_id":"b"}"#).parameter(),
        "clickid"
    );
    // A JSON escape spells the same name.
    assert_eq!(
        err(br#"{"secure":"a","\u0073ecure":"b"}"#).parameter(),
        "secure"
    );
    let same = Params::from_post("", BodyKind::Json, br#"{"goal":"1","goal":"1"}"#).unwrap();
    assert_eq!(same.iter().collect::<Vec<_>>(), [("goal", "1")]);
    // The query and the body are one set, in JSON too.
    let err = Params::from_post("goal=1", BodyKind::Json, br#"{"goal":"2"}"#).unwrap_err();
    assert_eq!(err.parameter(), "goal");
}

#[test]
fn post_merges_query_and_body() {
    let p = Params::from_post("click_id=abc", BodyKind::Form, b"goal=2").unwrap();
    assert_eq!(p.get("click_id"), Some("abc"));
    assert_eq!(p.get("goal"), Some("2"));
    let err = Params::from_post("goal=1", BodyKind::Form, b"goal=2").unwrap_err();
    assert_eq!(err.parameter(), "goal");
}

type Pairs<'a> = &'a [(&'a str, &'a str)];

/// A query read with `aliases`: the pairs it reads as and the pairs
/// as received; or the parameter its refusal names (as sent) and a
/// part of the problem.
#[track_caller]
fn check(aliases: &Aliases, query: &str, expected: Result<(Pairs, Pairs), (&str, &str)>) {
    match (Params::from_query_with(query, aliases), expected) {
        (Ok(params), Ok((read, received))) => {
            assert_eq!(params.iter().collect::<Vec<_>>(), read, "{query}: read");
            assert_eq!(
                params.received().collect::<Vec<_>>(),
                received,
                "{query}: received"
            );
        }
        (Err(bad), Err((parameter, problem))) => {
            assert_eq!(bad.parameter(), parameter, "{query}: {bad:?}");
            assert!(
                bad.message().contains(problem),
                "{query}: {}",
                bad.message()
            );
        }
        (got, expected) => panic!("query {query:?}: got {got:?}, expected {expected:?}"),
    }
}

#[test]
fn other_trackers_names_are_read_as_ours_and_kept_as_sent() {
    let p = &Aliases::POSTBACK;
    check(
        p,
        "transaction_id=abc&amount=12.5&adv_sub=o-1",
        Ok((
            &[("click_id", "abc"), ("sum", "12.5"), ("action_id", "o-1")],
            &[
                ("transaction_id", "abc"),
                ("amount", "12.5"),
                ("adv_sub", "o-1"),
            ],
        )),
    );
    check(
        p,
        "cnv_id=c&payout=3&cnv_status=sale&cnv_currency=eur",
        Ok((
            &[
                ("click_id", "c"),
                ("sum", "3"),
                ("status", "sale"),
                ("currency", "eur"),
            ],
            &[
                ("cnv_id", "c"),
                ("payout", "3"),
                ("cnv_status", "sale"),
                ("cnv_currency", "eur"),
            ],
        )),
    );
    // Names we do not read stay as sent, and ours are ours.
    check(
        p,
        "nid=7&aff_click_id=x&sub_id=s&click_id=k",
        Ok((
            &[
                ("nid", "7"),
                ("aff_click_id", "x"),
                ("sub_id", "s"),
                ("click_id", "k"),
            ],
            &[
                ("nid", "7"),
                ("aff_click_id", "x"),
                ("sub_id", "s"),
                ("click_id", "k"),
            ],
        )),
    );
    // Without the postback's names, another tracker's is a name of its own.
    check(
        &Aliases::OURS,
        "subid=a&clickid=b",
        Ok((
            &[("subid", "a"), ("click_id", "b")],
            &[("subid", "a"), ("clickid", "b")],
        )),
    );
}

#[test]
fn two_names_of_one_parameter_are_one_with_one_value() {
    let p = &Aliases::POSTBACK;
    check(
        p,
        "click_id=a&cid=a",
        Ok((&[("click_id", "a")], &[("click_id", "a"), ("cid", "a")])),
    );
    check(
        p,
        "cid=a&subid=a&click_id=a&cid=a",
        Ok((
            &[("click_id", "a")],
            &[("cid", "a"), ("subid", "a"), ("click_id", "a")],
        )),
    );
    check(
        p,
        "sum=1&payout=1",
        Ok((&[("sum", "1")], &[("sum", "1"), ("payout", "1")])),
    );
    check(
        p,
        "cid=a&cid=a",
        Ok((&[("click_id", "a")], &[("cid", "a")])),
    );
}

#[test]
fn two_names_of_one_parameter_with_two_values_are_refused_naming_both() {
    let p = &Aliases::POSTBACK;
    check(
        p,
        "click_id=a&transaction_id=b",
        Err((
            "click_id",
            "also given as `transaction_id` (read as `click_id`)",
        )),
    );
    check(
        p,
        "transaction_id=b&click_id=a",
        Err((
            "transaction_id",
            "read as `click_id`, which this postback also gives",
        )),
    );
    check(
        p,
        "cid=a&subid=b",
        Err(("cid", "read as `click_id`, as `subid` is")),
    );
    check(
        p,
        "amount=1&payout=2",
        Err(("amount", "read as `sum`, as `payout` is")),
    );
    check(
        p,
        "txid=1&goal=2&tid=3",
        Err(("txid", "read as `action_id`, as `tid` is")),
    );
    check(
        p,
        "adv1=x&custom_field1=y",
        Err((
            "adv1",
            "read as `custom_field1`, which this postback also gives",
        )),
    );
    check(
        p,
        "cid=a&cid=b",
        Err(("cid", "more than once with different values")),
    );
    // The same value under a second name does not hide a third's.
    check(
        p,
        "cid=a&subid=a&cnv_id=b",
        Err(("cid", "read as `click_id`, as `cnv_id` is")),
    );
}

#[test]
fn refusals_name_the_parameter_as_sent() {
    let p = &Aliases::POSTBACK;
    check(p, "payout=%zz", Err(("payout", "invalid percent-encoding")));
    check(p, "cid=%FF", Err(("cid", "not valid UTF-8")));
    let many: Vec<String> = (0..MAX_PARAMS).map(|i| format!("p{i}=1")).collect();
    check(
        p,
        &format!("{}&txid=9", many.join("&")),
        Err(("txid", "one parameter too many")),
    );
    let err = |query: &str, body: &[u8]| {
        Params::from_post_with(query, BodyKind::Json, body, p)
            .unwrap_err()
            .parameter()
            .to_owned()
    };
    assert_eq!(err("", br#"{"amount":[1]}"#), "amount");
    assert_eq!(err("cid=a", br#"{"subid":"b"}"#), "cid");
    assert_eq!(err("", br#"{"tid":"1","txid":"2"}"#), "tid");
}

#[test]
fn json_and_form_bodies_read_other_trackers_names() {
    let p = &Aliases::POSTBACK;
    let json = Params::from_post_with(
        "",
        BodyKind::Json,
        br#"{"transaction_id":"abc","amount":12.5,"adv1":"x"}"#,
        p,
    )
    .unwrap();
    assert_eq!(json.get("click_id"), Some("abc"));
    assert_eq!(json.get_as_sent("sum"), Some(("amount", "12.5")));
    assert_eq!(json.get("custom_field1"), Some("x"));
    let form = Params::from_post_with("subid=k", BodyKind::Form, b"tid=7&payout=2", p).unwrap();
    assert_eq!(
        form.iter().collect::<Vec<_>>(),
        [("click_id", "k"), ("action_id", "7"), ("sum", "2")]
    );
    assert_eq!(
        form.received().collect::<Vec<_>>(),
        [("subid", "k"), ("tid", "7"), ("payout", "2")]
    );
}

#[test]
fn a_deployments_names_are_read_like_the_trackers() {
    let own = Aliases::with_setting("clickref=click_id rev=sum").unwrap();
    check(
        &own,
        "clickref=a&rev=3&cid=a",
        Ok((
            &[("click_id", "a"), ("sum", "3")],
            &[("clickref", "a"), ("rev", "3"), ("cid", "a")],
        )),
    );
    check(
        &own,
        "click_id=a&clickref=b",
        Err(("click_id", "also given as `clickref` (read as `click_id`)")),
    );
    // Without the setting, its names are names of their own.
    check(
        &Aliases::POSTBACK,
        "clickref=a",
        Ok((&[("clickref", "a")], &[("clickref", "a")])),
    );
}

#[test]
fn pairs_put_back_read_as_sent() {
    let mut params = Params::default();
    params.push_unchecked("payout", "3");
    assert_eq!(params.get("payout"), Some("3"));
    assert_eq!(params.received().collect::<Vec<_>>(), [("payout", "3")]);
}

#[test]
fn content_types() {
    use BodyKind::*;
    assert_eq!(BodyKind::from_content_type("application/json"), Some(Json));
    assert_eq!(
        BodyKind::from_content_type("Application/JSON; charset=utf-8"),
        Some(Json)
    );
    assert_eq!(
        BodyKind::from_content_type("application/x-www-form-urlencoded;charset=UTF-8"),
        Some(Form)
    );
    assert_eq!(BodyKind::from_content_type("text/plain"), None);
    assert_eq!(BodyKind::from_content_type(""), None);
}
