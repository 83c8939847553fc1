//! A postback's parameters, typed: what the advertiser sent, read once.
//! Unreadable values (`sum=abc`, `status=maybe`) are refused here as
//! [`BadRequest`]; values that are readable but wrong (an unknown goal, a
//! forged click id) are the catalog's business, decided in `edge.rs`.

use crate::catalog::BadRequest;
use crate::money::Money;
use crate::params::Params;
use crate::status::Status;
use std::collections::BTreeMap;

/// The parameters a conversion keeps (SPEC §4), beside its own fields.
pub const KEPT_FIELDS: [&str; 15] = [
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
    "transaction_id",
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
        let status = match params.get("status").filter(|v| !v.is_empty()) {
            None => None,
            Some(s) => Some(Status::parse(s).ok_or_else(|| {
                BadRequest::new(
                    "status",
                    "is not a known status: send 1/approved, 2/pending, 3/declined, 4/hold",
                )
            })?),
        };
        let sum = match params.get("sum").filter(|v| !v.is_empty()) {
            None => None,
            Some(s) => Some(Money::parse(s).map_err(|e| BadRequest::new("sum", e.to_string()))?),
        };
        let currency = match params.get("currency").filter(|v| !v.is_empty()) {
            None => None,
            Some(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
                Some(c.to_ascii_uppercase())
            }
            Some(_) => {
                return Err(BadRequest::new(
                    "currency",
                    "is not a three-letter ISO 4217 code such as USD",
                ))
            }
        };
        let action_id = text("action_id");
        if action_id
            .as_ref()
            .is_some_and(|a| a.len() > MAX_ACTION_ID_LEN)
        {
            return Err(BadRequest::new(
                "action_id",
                format!("is longer than {MAX_ACTION_ID_LEN} bytes"),
            ));
        }
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

    fn postback(query: &str) -> Result<Postback, BadRequest> {
        Postback::from_params(Params::from_query(query).unwrap())
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
        assert_eq!(err("sale_amount=1e5"), "sum");
        assert_eq!(err("sum=-3"), "sum");
        assert_eq!(err("currency=dollars"), "currency");
        assert_eq!(err(&format!("action_id={}", "a".repeat(129))), "action_id");
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
