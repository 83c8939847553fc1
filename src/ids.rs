//! Campaign and partner ids: short, URL-safe names, checked once at the
//! boundary so that everything past it can put them in a click token, a KV
//! key or a Durable Object name without escaping.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// Longest campaign or partner id: two of them fit a click token of at most
/// 64 characters (see `click.rs`).
pub const MAX_ID_LEN: usize = 12;

fn is_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_ID_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// What an id must look like, for error messages.
pub const ID_RULE: &str = "must be 1 to 12 characters of letters, digits, '_' or '-'";

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// `None` unless `text` is 1–12 of `[A-Za-z0-9_-]`.
            pub fn parse(text: &str) -> Option<$name> {
                is_id(text).then(|| $name(text.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let text = String::deserialize(d)?;
                $name::parse(&text)
                    .ok_or_else(|| serde::de::Error::custom(format!("{text:?} {ID_RULE}")))
            }
        }
    };
}

id_type!(
    /// A campaign id, as in `campaign:{id}` in KV and the name of the
    /// campaign's Durable Object.
    CampaignId
);
id_type!(
    /// A partner (affiliate, publisher) id, as carried by a click.
    PartnerId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_short_and_url_safe() {
        for good in ["1001", "a", "camp_2-B", "123456789012"] {
            assert!(CampaignId::parse(good).is_some(), "{good:?}");
        }
        for bad in ["", "1234567890123", "a b", "a.b", "é", "a/b", "a%20"] {
            assert!(CampaignId::parse(bad).is_none(), "{bad:?}");
            assert!(PartnerId::parse(bad).is_none(), "{bad:?}");
        }
    }
}
