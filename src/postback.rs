//! A postback's parameters, typed: what the advertiser sent, read once.
//! Unreadable values (`sum=abc`, `status=maybe`) are refused here as
//! [`BadRequest`], naming the parameter as it was sent (`amount=abc` is
//! refused as `amount`); values that are readable but wrong (an unknown
//! goal, a forged click id) are the catalog's business, decided in
//! `edge.rs`.

use crate::catalog::BadRequest;
use crate::money::Money;
use crate::params::Params;
use crate::status::Status;
use std::collections::BTreeMap;

/// The parameters a conversion keeps (SPEC §4), beside its own fields.
/// (`transaction_id` was one; it is now the click id of TUNE and Everflow.)
pub const KEPT_FIELDS: [&str; 14] = [
    "advertiser_id",
    "custom_field1",
    "custom_field2",
    "custom_field3",
    "custom_field4",
    "custom_field5",
    "custom_field6",
    "custom_field7",
    "custom_field8",
    "comment",
    "note",
    "ip",
    "user_id",
    "sub_id",
];

const MAX_ACTION_ID_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq)]
pub struct Postback {
    /// Present and non-empty, or `None`.
    pub click_id: Option<String>,
    /// As sent; whether it names a campaign is the edge's question.
    pub campaign_id: Option<String>,
    pub goal: Option<String>,
    pub status: Option<Status>,
    pub secure: Option<String>,
    pub sum: Option<Money>,
    /// Upper-case ISO 4217.
    pub currency: Option<String>,
    pub action_id: Option<String>,
    params: Params,
}

impl Postback {
    pub fn from_params(params: Params) -> Result<Postback, BadRequest> {
        let text = |name: &str| {
            params
                .get(name)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        // The parameters whose value can be refused, with the name they
        // were sent under: a refusal names what the sender wrote.
        let sent = |name: &str| params.get_as_sent(name).filter(|(_, v)| !v.is_empty());
        let status = match sent("status") {
            None => None,
            Some((name, s)) => Some(Status::parse(s).ok_or_else(|| {
                BadRequest::new(
                    name,
                    "is not a known status: send 1/approved, 2/pending, 3/declined or 4/hold \
                     (or another tracker's word the reference lists, such as sale or lead)",
                )
            })?),
        };
        let sum = match sent("sum") {
            None => None,
            Some((name, s)) => {
                Some(Money::parse(s).map_err(|e| BadRequest::new(name, e.to_string()))?)
            }
        };
        let currency = match sent("currency") {
            None => None,
            Some((_, c)) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
                Some(c.to_ascii_uppercase())
            }
            Some((name, _)) => {
                return Err(BadRequest::new(
                    name,
                    "is not a three-letter ISO 4217 code such as USD",
                ))
            }
        };
        let action_id = match sent("action_id") {
            Some((name, a)) if a.len() > MAX_ACTION_ID_LEN => {
                return Err(BadRequest::new(
                    name,
                    format!("is longer than {MAX_ACTION_ID_LEN} bytes"),
                ))
            }
            found => found.map(|(_, a)| a.to_owned()),
        };
        Ok(Postback {
            click_id: text("click_id"),
            campaign_id: text("campaign_id"),
            goal: text("goal"),
            status,
            secure: params.get("secure").map(str::to_owned),
            sum,
            currency,
            action_id,
            params,
        })
    }

    /// Every parameter as received (the log redacts `secure` when it
    /// shows them).
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// [`Postback::params`], giving up the postback: no copies.
    pub fn into_params(self) -> Params {
        self.params
    }

    /// The advertiser's fields a conversion keeps.
    pub fn kept_fields(&self) -> BTreeMap<String, String> {
        self.params
            .iter()
            .filter(|(n, _)| KEPT_FIELDS.contains(n))
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Aliases;

    fn postback(query: &str) -> Result<Postback, BadRequest> {
        Params::from_query_with(query, &Aliases::POSTBACK).and_then(Postback::from_params)
    }

    #[test]
    fn reads_typed_values() {
        let p = postback("clickid=abc&offer_id=7&status=APPROVED&sale_amount=12.50&currency=eur")
            .unwrap();
        assert_eq!(p.click_id.as_deref(), Some("abc"));
        assert_eq!(p.campaign_id.as_deref(), Some("7"));
        assert_eq!(p.status, Some(Status::Approved));
        assert_eq!(p.sum, Money::parse("12.50").ok());
        assert_eq!(p.currency.as_deref(), Some("EUR"));
    }

    #[test]
    fn empty_values_are_absent() {
        let p = postback("click_id=&status=&sum=&goal=").unwrap();
        assert_eq!(p.click_id, None);
        assert_eq!(p.status, None);
        assert_eq!(p.sum, None);
        assert_eq!(p.goal, None);
    }

    #[test]
    fn unreadable_values_name_their_parameter() {
        let err = |q: &str| postback(q).unwrap_err().parameter().to_owned();
        assert_eq!(err("status=maybe"), "status");
        assert_eq!(err("status=9"), "status");
        assert_eq!(err("sum=abc"), "sum");
        assert_eq!(err("sale_amount=1e5"), "sale_amount");
        assert_eq!(err("sum=-3"), "sum");
        assert_eq!(err("currency=dollars"), "currency");
        assert_eq!(err(&format!("action_id={}", "a".repeat(129))), "action_id");
    }

    #[track_caller]
    fn check(query: &str, expected: Result<Postback, &str>) {
        match (postback(query), expected) {
            (Ok(got), Ok(want)) => {
                assert_eq!(
                    (&got.click_id, &got.campaign_id, &got.goal, got.status),
                    (&want.click_id, &want.campaign_id, &want.goal, want.status),
                    "{query}"
                );
                assert_eq!(
                    (&got.sum, &got.currency, &got.action_id),
                    (&want.sum, &want.currency, &want.action_id),
                    "{query}"
                );
            }
            (Err(bad), Err(parameter)) => assert_eq!(bad.parameter(), parameter, "{query}"),
            (got, want) => panic!("{query}: got {got:?}, expected {want:?}"),
        }
    }

    /// A postback with these fields, the rest absent.
    fn read(fields: &[(&str, &str)]) -> Postback {
        let field = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        };
        Postback {
            click_id: field("click_id"),
            campaign_id: field("campaign_id"),
            goal: field("goal"),
            status: field("status").and_then(|s| Status::parse(&s)),
            secure: None,
            sum: field("sum").and_then(|s| Money::parse(&s).ok()),
            currency: field("currency"),
            action_id: field("action_id"),
            params: Params::default(),
        }
    }

    #[test]
    fn each_trackers_postback_reads_as_ours() {
        // HasOffers/TUNE.
        check(
            "offer_id=7&transaction_id=t1&amount=49.90&adv_sub=o-1",
            Ok(read(&[
                ("click_id", "t1"),
                ("campaign_id", "7"),
                ("sum", "49.90"),
                ("action_id", "o-1"),
            ])),
        );
        check(
            "transaction_id=t1&conversion_unique_id=u-1",
            Ok(read(&[("click_id", "t1"), ("action_id", "u-1")])),
        );
        // Everflow.
        check(
            "nid=42&transaction_id=t2&amount=10&event_id=3&order_id=o-2",
            Ok(read(&[
                ("click_id", "t2"),
                ("sum", "10"),
                ("goal", "3"),
                ("action_id", "o-2"),
            ])),
        );
        // Voluum.
        check(
            "cid=v1&payout=2.5&txid=x1&currency=eur&et=purchase",
            Ok(read(&[
                ("click_id", "v1"),
                ("sum", "2.5"),
                ("action_id", "x1"),
                ("currency", "EUR"),
                ("goal", "purchase"),
            ])),
        );
        // Keitaro.
        check(
            "subid=k1&status=sale&payout=7&tid=2&currency=usd",
            Ok(read(&[
                ("click_id", "k1"),
                ("status", "approved"),
                ("sum", "7"),
                ("action_id", "2"),
                ("currency", "USD"),
            ])),
        );
        check(
            "subid=k1&status=lead&revenue=7",
            Ok(read(&[
                ("click_id", "k1"),
                ("status", "pending"),
                ("sum", "7"),
            ])),
        );
        // Binom.
        check(
            "cnv_id=b1&payout=3&cnv_status=Hold&cnv_currency=eur",
            Ok(read(&[
                ("click_id", "b1"),
                ("sum", "3"),
                ("status", "hold"),
                ("currency", "EUR"),
            ])),
        );
        // RedTrack.
        check(
            "clickid=r1&sum=4&type=Purchase&status=Declined&rdtk_event_id=e1",
            Ok(read(&[
                ("click_id", "r1"),
                ("sum", "4"),
                ("goal", "Purchase"),
                ("status", "declined"),
                ("action_id", "e1"),
            ])),
        );
    }

    #[test]
    fn refusals_name_the_parameter_as_the_tracker_sent_it() {
        check("amount=abc", Err("amount"));
        check("payout=-1", Err("payout"));
        check("cnv_status=signup", Err("cnv_status"));
        check("status=other", Err("status"));
        check("cnv_currency=euro", Err("cnv_currency"));
        check(&format!("txid={}", "t".repeat(129)), Err("txid"));
        check("cid=a&subid=b", Err("cid"));
        check("amount=1&payout=2", Err("amount"));
    }

    #[test]
    fn sub_parameters_are_kept_under_our_names() {
        let kept = |q: &str| postback(q).unwrap().kept_fields();
        let tune = kept("transaction_id=t&adv_sub2=a&adv_sub5=e");
        assert_eq!(tune.get("custom_field2").map(String::as_str), Some("a"));
        assert_eq!(tune.get("custom_field5").map(String::as_str), Some("e"));
        assert!(!tune.contains_key("transaction_id"), "the click id now");
        let everflow = kept("transaction_id=t&adv1=a&adv5=e");
        assert_eq!(everflow.get("custom_field1").map(String::as_str), Some("a"));
        let voluum = kept("cid=c&param3=c3");
        assert_eq!(voluum.get("custom_field3").map(String::as_str), Some("c3"));
        let keitaro = kept("subid=s&sub_id_8=s8&sub_id_9=s9");
        assert_eq!(keitaro.get("custom_field8").map(String::as_str), Some("s8"));
        assert!(!keitaro.contains_key("sub_id_9"));
    }

    #[test]
    fn kept_fields_are_ours() {
        for field in KEPT_FIELDS {
            assert!(crate::params::aliases::OURS.contains(&field), "{field}");
        }
    }

    #[test]
    fn unknown_parameters_are_kept_and_only_known_fields_counted() {
        let p = postback("click_id=a&secure=s3cr3t&utm_x=1&comment=hi").unwrap();
        assert_eq!(p.params().get("utm_x"), Some("1"));
        assert_eq!(p.secure.as_deref(), Some("s3cr3t"));
        assert_eq!(
            p.kept_fields().get("comment").map(String::as_str),
            Some("hi")
        );
        assert!(!p.kept_fields().contains_key("utm_x"));
    }
}
