//! A conversion: its identity, its record, and the status machine.

use crate::ids::{CampaignId, PartnerId};
use crate::money::Money;
use crate::status::Status;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The identity of a conversion within its campaign (SPEC §4): with an
/// `action_id`, (goal, action_id) whatever the click; without, (goal,
/// click). Lengths are written in so that no two identities print alike.
pub fn identity(goal: &str, action_id: Option<&str>, click_id: &str) -> String {
    match action_id {
        Some(action) => format!("action|{}|{goal}|{action}", goal.len()),
        None => format!("click|{}|{goal}|{click_id}", goal.len()),
    }
}

/// The key a conversion is stored under in its campaign's object: the
/// first 16 bytes of the SHA-256 of its identity, so that what a settled
/// conversion keeps is a few dozen bytes whatever the length of its click
/// or action id.
pub fn identity_key(identity: &str) -> [u8; 16] {
    let digest = Sha256::digest(identity.as_bytes());
    let mut key = [0; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

/// The public id of a conversion: `cv_{campaign}_{16 characters}`, the
/// characters the URL-safe base64 of the first 8 bytes of its
/// [`identity_key`] and of its creation time (Unix seconds, 4 bytes). The
/// campaign is in the id, so the id alone says which object holds it, and
/// the key's bytes say where in the object: a lookup by id needs no index
/// of its own. A retried postback finds the stored conversion and names
/// its id; the same identity coming back after its dedupe window is a new
/// conversion, created at another time, with a new id (and new message
/// ids for the origin).
pub fn conversion_id(campaign: &CampaignId, identity: &str, created_at: i64) -> String {
    let mut bytes = [0; 12];
    bytes[..8].copy_from_slice(&identity_key(identity)[..8]);
    let seconds = u32::try_from(created_at.max(0)).unwrap_or(u32::MAX);
    bytes[8..].copy_from_slice(&seconds.to_be_bytes());
    format!("cv_{campaign}_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The first bytes of the storage key of the conversion `id` names (see
/// [`conversion_id`]); `None` for ids of another form. Ids made before the
/// key was in them decode too, to bytes no stored key starts with but by
/// chance: the lookup compares the whole id.
pub fn key_prefix(id: &str) -> Option<[u8; 8]> {
    let campaign = conversion_campaign(id)?;
    let tail = &id["cv_".len() + campaign.len() + 1..];
    let bytes = URL_SAFE_NO_PAD.decode(tail).ok()?;
    bytes.get(..8)?.try_into().ok()
}

/// The campaign a conversion id names (`cv_{campaign}_{16 characters}`);
/// `None` for ids of another form (earlier versions' `cv_{20}`).
pub fn conversion_campaign(id: &str) -> Option<&str> {
    let rest = id.strip_prefix("cv_")?;
    let cut = rest.len().checked_sub(17)?;
    let (campaign, tail) = rest.split_at(cut);
    (tail.starts_with('_') && CampaignId::parse(campaign).is_some()).then_some(campaign)
}

/// What a campaign object keeps of a conversion it has seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Known {
    /// Pending: it can still change, so the whole record.
    Full(Box<Conversion>),
    /// Final (approved, declined or hold): only what deduplication and the
    /// answer to an update need. Its last delivery carries the whole
    /// record, in the outbox, until the origin has it.
    Settled {
        id: String,
        status: Status,
        revision: u32,
        updated_at: i64,
    },
}

impl Known {
    pub fn id(&self) -> &str {
        match self {
            Known::Full(c) => &c.id,
            Known::Settled { id, .. } => id,
        }
    }

    pub fn status(&self) -> Status {
        match self {
            Known::Full(c) => c.status,
            Known::Settled { status, .. } => *status,
        }
    }

    pub fn revision(&self) -> u32 {
        match self {
            Known::Full(c) => c.revision,
            Known::Settled { revision, .. } => *revision,
        }
    }

    pub fn updated_at(&self) -> i64 {
        match self {
            Known::Full(c) => c.updated_at,
            Known::Settled { updated_at, .. } => *updated_at,
        }
    }
}

impl Conversion {
    /// What the object keeps of it once stored: all of it while pending.
    pub fn known(&self) -> Known {
        if self.status == Status::Pending {
            Known::Full(Box::new(self.clone()))
        } else {
            Known::Settled {
                id: self.id.clone(),
                status: self.status,
                revision: self.revision,
                updated_at: self.updated_at,
            }
        }
    }
}

/// Whether a conversion in status `from` may move to `to`: only a pending
/// conversion changes, and only to another status.
pub fn transition(from: Status, to: Status) -> Result<(), crate::catalog::Rejection> {
    use crate::catalog::Rejection;
    if from == to {
        Err(Rejection::StatusSame)
    } else if from != Status::Pending {
        Err(Rejection::StatusConfirmed)
    } else {
        Ok(())
    }
}

/// A conversion as stored and as delivered to the origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversion {
    pub id: String,
    pub identity: String,
    pub campaign_id: CampaignId,
    pub click_id: String,
    pub partner_id: PartnerId,
    pub country: String,
    pub goal: String,
    pub action_id: Option<String>,
    pub status: Status,
    pub payout: Money,
    pub currency: String,
    pub sum: Option<Money>,
    /// Unix seconds.
    pub created_at: i64,
    pub updated_at: i64,
    /// 1 when created, +1 per status change: the outbox message for each
    /// revision has its own stable id.
    pub revision: u32,
    /// The advertiser's extra fields (`comment`, `custom_field1`, …).
    pub fields: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Rejection;

    #[test]
    fn every_pair_of_statuses() {
        use Status::*;
        for from in Status::ALL {
            for to in Status::ALL {
                let expected = if from == to {
                    Err(Rejection::StatusSame)
                } else if from == Pending {
                    Ok(())
                } else {
                    Err(Rejection::StatusConfirmed)
                };
                assert_eq!(transition(from, to), expected, "{from} -> {to}");
            }
        }
        assert_eq!(transition(Pending, Approved), Ok(()));
        assert_eq!(
            transition(Approved, Declined),
            Err(Rejection::StatusConfirmed)
        );
        assert_eq!(transition(Hold, Hold), Err(Rejection::StatusSame));
    }

    #[test]
    fn action_id_identifies_whatever_the_click() {
        assert_eq!(
            identity("1", Some("A"), "click1"),
            identity("1", Some("A"), "click2")
        );
        assert_ne!(identity("1", Some("A"), "c"), identity("2", Some("A"), "c"));
        assert_ne!(identity("1", None, "c1"), identity("1", None, "c2"));
        assert_ne!(identity("1", None, "c"), identity("1", Some("c"), "c"));
        // Separators inside ids cannot make two identities collide.
        assert_ne!(
            identity("a|b", Some("c"), "x"),
            identity("a", Some("b|c"), "x")
        );
    }

    #[test]
    fn conversion_ids_are_stable_distinct_and_name_their_campaign_and_key() {
        let c = CampaignId::parse("1001").unwrap();
        let d = CampaignId::parse("1002").unwrap();
        let id = conversion_id(&c, "click|1|1|abc", 7);
        assert_eq!(id, conversion_id(&c, "click|1|1|abc", 7));
        assert_ne!(id, conversion_id(&d, "click|1|1|abc", 7));
        // The same identity again after its window: another conversion.
        assert_ne!(id, conversion_id(&c, "click|1|1|abc", 8));
        assert_ne!(id, conversion_id(&c, "click|1|1|abd", 7));
        assert!(id.starts_with("cv_1001_"), "{id}");
        assert_eq!(id.len(), "cv_1001_".len() + 16);
        assert_eq!(conversion_campaign(&id), Some("1001"));
        let key = identity_key("click|1|1|abc");
        assert_eq!(key_prefix(&id), Some(key[..8].try_into().unwrap()));
        let underscored = CampaignId::parse("a_b").unwrap();
        let id = conversion_id(&underscored, "x", 1);
        assert_eq!(conversion_campaign(&id), Some("a_b"));
        assert_eq!(key_prefix(&id).unwrap(), identity_key("x")[..8]);
        for other in [
            "cv_",
            "cv_abcdefghijklmnopqrst",
            "x_1001_AAAAAAAAAAAAAAAA",
            "cv__AAAAAAAAAAAAAAAA",
        ] {
            assert_eq!(conversion_campaign(other), None, "{other}");
            assert_eq!(key_prefix(other), None, "{other}");
        }
        assert_eq!(key_prefix("cv_1001_!!!!!!!!!!!!!!!!"), None);
    }
}
