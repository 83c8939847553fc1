//! Who is reading: the admin, or a scoped token (SPEC §8) that may only
//! read the log, conversions and outbox of its campaigns.
//!
//! A scoped token is shown once, when it is made; the store keeps only its
//! hash (`token:{hash}` in the campaigns' KV namespace), so a token is
//! found by hashing what a request carries: no stored token is ever
//! compared, and the hash leaks nothing of it.

use crate::ids::CampaignId;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// What every scoped token starts with, so a leaked one is recognizable.
pub const PREFIX: &str = "pet_";
/// The KV key prefix of stored tokens.
pub const KEY_PREFIX: &str = "token:";
/// Most campaigns one token names (a token for more is `"*"`).
pub const MAX_CAMPAIGNS: usize = 100;
/// Most scoped tokens: listing and naming them reads each from KV, and a
/// Worker invocation may make at most 1,000 KV operations.
pub const MAX_TOKENS: usize = 500;

/// A stored token: its name and what it may read, never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scoped {
    pub name: String,
    pub campaigns: Campaigns,
}

/// The campaigns a token reads: all (`"*"`) or a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Campaigns {
    All,
    Only(Vec<String>),
}

impl Campaigns {
    /// As JSON shows it: `"*"` or the list.
    pub fn to_value(&self) -> Value {
        match self {
            Campaigns::All => Value::from("*"),
            Campaigns::Only(list) => Value::from(list.clone()),
        }
    }
}

impl Scoped {
    /// As stored and listed: `{"name": …, "campaigns": …}`.
    pub fn to_value(&self) -> Value {
        serde_json::json!({ "name": self.name, "campaigns": self.campaigns.to_value() })
    }

    /// A token's record from its JSON (a request's body, or what the store
    /// holds), checked: the name, and `"*"` or 1 to [`MAX_CAMPAIGNS`]
    /// campaign ids. Read through `Value` rather than a derived
    /// deserializer: two fields, and the wasm carries `Value` already.
    pub fn from_json(json: &str) -> Result<Scoped, crate::catalog::BadRequest> {
        use crate::catalog::BadRequest;
        let shape = || {
            BadRequest::new(
                "(body)",
                "must be {\"name\": \"…\", \"campaigns\": [\"1001\", …] or \"*\"}",
            )
        };
        let value: Value = serde_json::from_str(json).map_err(|_| shape())?;
        let object = value.as_object().ok_or_else(shape)?;
        if let Some(unknown) = object.keys().find(|k| *k != "name" && *k != "campaigns") {
            return Err(BadRequest::new(
                unknown,
                "is not a field of a token: name, campaigns",
            ));
        }
        let name = object.get("name").and_then(Value::as_str).unwrap_or("");
        let name_ok = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !name_ok {
            return Err(BadRequest::new(
                "name",
                "must be 1 to 64 letters, digits, '.', '_' or '-'",
            ));
        }
        let bad_campaigns = || {
            BadRequest::new(
                "campaigns",
                format!(
                    "must be \"*\" or a list of 1 to {MAX_CAMPAIGNS} campaign ids ({})",
                    crate::ids::ID_RULE
                ),
            )
        };
        let campaigns = match object.get("campaigns") {
            Some(Value::String(star)) if star == "*" => Campaigns::All,
            Some(Value::Array(list)) if (1..=MAX_CAMPAIGNS).contains(&list.len()) => {
                let ids = list
                    .iter()
                    .map(|c| c.as_str().filter(|c| CampaignId::parse(c).is_some()))
                    .map(|c| c.map(str::to_owned))
                    .collect::<Option<Vec<String>>>();
                Campaigns::Only(ids.ok_or_else(bad_campaigns)?)
            }
            _ => return Err(bad_campaigns()),
        };
        Ok(Scoped {
            name: name.to_owned(),
            campaigns,
        })
    }
}

/// Who a request is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// One of `ADMIN_TOKEN`'s tokens: everything.
    Admin,
    Scoped(Scoped),
}

/// Why a reader may not have what it asked for; the text says what it
/// may have instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forbidden(pub String);

/// Where a log query may read, once the reader's scope is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// The campaigns read; `None` for all.
    pub campaigns: Option<Vec<String>>,
    /// Whether the log of postbacks that name no valid campaign is read
    /// (the admin's only: such a postback belongs to no advertiser).
    pub unattributed: bool,
}

impl Reach {
    /// The campaigns a reading of the log covers.
    pub fn scope(&self) -> crate::log::Scope {
        match &self.campaigns {
            None => crate::log::Scope::all(),
            Some(campaigns) => crate::log::Scope::only(campaigns.iter().map(String::as_str)),
        }
    }
}

impl Access {
    /// Whether this reader may read `campaign`'s conversions and outbox.
    pub fn reads(&self, campaign: &str) -> bool {
        match self {
            Access::Admin => true,
            Access::Scoped(s) => s.campaigns.contains(campaign),
        }
    }

    /// `Ok` for the admin; for a scoped token, the refusal of anything
    /// but reading.
    pub fn admin_only(&self) -> Result<(), Forbidden> {
        match self {
            Access::Admin => Ok(()),
            Access::Scoped(s) => Err(Forbidden(format!(
                "The token \"{}\" may only read: the postbacks log, conversions and the outbox of its campaigns.",
                s.name
            ))),
        }
    }

    /// Where a log query filtered to `campaign` (if any) reads: a scoped
    /// token reads its campaigns only, and a filter naming another one is
    /// refused, never answered empty.
    pub fn log_reach(&self, campaign: Option<&str>) -> Result<Reach, Forbidden> {
        let scoped = match self {
            Access::Admin => {
                return Ok(Reach {
                    campaigns: campaign.map(|c| vec![c.to_owned()]),
                    unattributed: true,
                })
            }
            Access::Scoped(s) => s,
        };
        let campaigns = match (&scoped.campaigns, campaign) {
            (_, Some(c)) if !scoped.campaigns.contains(c) => return Err(self.not_yours(c)),
            (_, Some(c)) => Some(vec![c.to_owned()]),
            (Campaigns::All, None) => None,
            (Campaigns::Only(list), None) => Some(list.clone()),
        };
        Ok(Reach {
            campaigns,
            unattributed: false,
        })
    }

    /// The refusal of `campaign` to this reader.
    pub fn not_yours(&self, campaign: &str) -> Forbidden {
        let name = match self {
            Access::Scoped(s) => s.name.as_str(),
            Access::Admin => "",
        };
        Forbidden(format!(
            "The token \"{name}\" does not read campaign \"{campaign}\": filter on one of its campaigns."
        ))
    }
}

impl Campaigns {
    pub fn contains(&self, campaign: &str) -> bool {
        match self {
            Campaigns::All => true,
            Campaigns::Only(list) => list.iter().any(|c| c == campaign),
        }
    }
}

/// A new token from 32 random bytes: `pet_` and 43 URL-safe characters.
pub fn mint(random: [u8; 32]) -> String {
    format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(random))
}

/// The KV key a token is stored under: the hash of the token, so the
/// store never holds the token itself.
pub fn key(token: &str) -> String {
    format!(
        "{KEY_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
    )
}

/// Whether `credential` can be a scoped token at all (worth a KV read).
pub fn looks_scoped(credential: &str) -> bool {
    credential.len() == PREFIX.len() + 43 && credential.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scoped(campaigns: Campaigns) -> Access {
        Access::Scoped(Scoped {
            name: "acme".into(),
            campaigns,
        })
    }

    fn only(ids: &[&str]) -> Campaigns {
        Campaigns::Only(ids.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn requests_are_read_and_checked() {
        let ok = Scoped::from_json(r#"{"name":"acme-1","campaigns":["1001","1002"]}"#).unwrap();
        assert_eq!(ok.campaigns, only(&["1001", "1002"]));
        let star = Scoped::from_json(r#"{"name":"support","campaigns":"*"}"#).unwrap();
        assert_eq!(star.campaigns, Campaigns::All);
        let many: Vec<String> = (0..=MAX_CAMPAIGNS).map(|i| i.to_string()).collect();
        let too_many = serde_json::json!({ "name": "a", "campaigns": many }).to_string();
        for (body, parameter) in [
            (r#"{"name":"a","campaigns":"all"}"#, "campaigns"),
            (r#"{"name":"a","campaigns":[]}"#, "campaigns"),
            (r#"{"name":"a","campaigns":["bad id"]}"#, "campaigns"),
            (r#"{"name":"a","campaigns":[1001]}"#, "campaigns"),
            (r#"{"name":"a"}"#, "campaigns"),
            (too_many.as_str(), "campaigns"),
            (r#"{"name":"","campaigns":"*"}"#, "name"),
            (r#"{"name":"a b","campaigns":"*"}"#, "name"),
            (r#"{"name":"a","campaigns":"*","token":"x"}"#, "token"),
            (r#"{"campaigns":"*"}"#, "name"),
            ("[]", "(body)"),
            ("{", "(body)"),
        ] {
            let err = Scoped::from_json(body).unwrap_err();
            assert_eq!(err.parameter(), parameter, "{body}");
        }
    }

    #[test]
    fn a_stored_token_round_trips_without_the_token() {
        for body in [
            r#"{"name":"acme","campaigns":["1001"]}"#,
            r#"{"name":"support","campaigns":"*"}"#,
        ] {
            let s = Scoped::from_json(body).unwrap();
            let json = s.to_value().to_string();
            let as_sent: Value = serde_json::from_str(body).unwrap();
            assert_eq!(s.to_value(), as_sent);
            assert_eq!(Scoped::from_json(&json).unwrap(), s);
        }
    }

    #[test]
    fn tokens_are_stored_by_hash() {
        let token = mint([7; 32]);
        assert!(looks_scoped(&token));
        assert!(!looks_scoped("test-admin-token"));
        let k = key(&token);
        assert!(k.starts_with(KEY_PREFIX));
        assert!(!k.contains(&token[PREFIX.len()..]));
        assert_eq!(k, key(&token));
        assert_ne!(k, key(&mint([8; 32])));
    }

    #[test]
    fn a_scoped_token_reads_its_campaigns_only() {
        let acme = scoped(only(&["1001", "1002"]));
        assert!(acme.reads("1001") && !acme.reads("1003"));
        assert!(acme.admin_only().is_err());
        assert!(Access::Admin.admin_only().is_ok());
        let all = acme.log_reach(None).unwrap();
        assert_eq!(all.campaigns, Some(vec!["1001".into(), "1002".into()]));
        assert!(!all.unattributed);
        assert_eq!(
            acme.log_reach(Some("1002")).unwrap().campaigns,
            Some(vec!["1002".to_owned()])
        );
        assert!(acme.log_reach(Some("1003")).is_err());
        let star = scoped(Campaigns::All);
        assert_eq!(star.log_reach(None).unwrap().campaigns, None);
        assert_eq!(
            star.log_reach(None).unwrap().scope(),
            crate::log::Scope::all()
        );
        assert!(!star.log_reach(None).unwrap().unattributed);
        assert!(star.reads("anything"));
        let admin = Access::Admin.log_reach(None).unwrap();
        assert!(admin.unattributed);
    }
}
