//! Campaign configs from KV, through a small cache in the isolate.
//!
//! Configs change rarely and are read by every postback, so each isolate
//! keeps what it read (parsed) for [`TTL_MS`]; an admin write through this
//! isolate drops its entry at once, and other isolates see it within the
//! TTL plus KV's own propagation (up to 60 s between locations). Misses are
//! cached too, so junk traffic for unknown campaigns does not hit KV on
//! every request, and apart from the campaigns (`campaign::cache`), so it
//! cannot push them out.

use crate::campaign::cache::CampaignCache;
use crate::campaign::Campaign;
use crate::ids::CampaignId;
use std::cell::RefCell;
use std::rc::Rc;
use worker::Env;

use super::error::{Failure, Outcome};
use super::platform::now_millis;

/// How long an isolate trusts what it read.
pub const TTL_MS: u64 = 5_000;
pub const KV_BINDING: &str = "CAMPAIGNS";

thread_local! {
    static CACHE: RefCell<CampaignCache<Rc<Campaign>>> = RefCell::new(CampaignCache::new(TTL_MS));
}

pub fn kv_key(id: &CampaignId) -> String {
    format!("campaign:{id}")
}

/// The campaign `id`, `None` if KV has none. A config in KV that does not
/// validate (written around the admin API) is an error, not "not found":
/// the operator must fix it.
pub async fn load(env: &Env, id: &CampaignId) -> Outcome<Option<Rc<Campaign>>> {
    let now = now_millis();
    if let Some(known) = CACHE.with(|c| c.borrow().get(id, now)) {
        return Ok(known);
    }
    let text = super::kv::namespace(env, KV_BINDING)?
        .text(&kv_key(id))
        .await?;
    let campaign = match text {
        None => None,
        Some(json) => {
            Some(Rc::new(Campaign::from_json(&json).map_err(|e| {
                Failure::new(format!("the stored config of {id}"), e)
            })?))
        }
    };
    CACHE.with(|c| c.borrow_mut().insert(id.clone(), campaign.clone(), now));
    Ok(campaign)
}

/// Drops this isolate's copy of a campaign after an admin write.
pub fn forget(id: &CampaignId) {
    CACHE.with(|c| c.borrow_mut().forget(id));
}

/// Every campaign id in KV.
pub async fn list_ids(env: &Env) -> Outcome<Vec<String>> {
    let kv = super::kv::namespace(env, KV_BINDING)?;
    let mut ids = Vec::new();
    let mut cursor = None;
    // KV lists 1000 keys a page; bound the walk at 100 pages.
    for _ in 0..100 {
        let (names, next) = kv.list("campaign:", cursor.as_deref()).await?;
        ids.extend(
            names
                .iter()
                .filter_map(|name| name.strip_prefix("campaign:").map(str::to_owned)),
        );
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok(ids)
}
