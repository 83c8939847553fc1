//! The isolate's cache of campaign configs: what KV said about a campaign
//! id (a config, or that it has none), trusted for a while.
//!
//! Campaigns that exist and ids that name none are kept apart, each under
//! its own bound, so that junk traffic (postbacks naming ids nobody made)
//! can only ever push out other misses, never the configs every genuine
//! postback reads.

use crate::ids::CampaignId;
use std::collections::HashMap;

/// Most campaigns an isolate keeps: every campaign of a large network.
pub const MAX_FOUND: usize = 4096;
/// Most ids without a campaign an isolate remembers.
pub const MAX_MISSING: usize = 1024;

struct Entry<V> {
    loaded_at: u64,
    value: V,
}

/// What is known of campaign ids, each for `ttl_ms` after it was loaded.
pub struct CampaignCache<V> {
    ttl_ms: u64,
    found: HashMap<CampaignId, Entry<V>>,
    missing: HashMap<CampaignId, u64>,
}

impl<V: Clone> CampaignCache<V> {
    pub fn new(ttl_ms: u64) -> CampaignCache<V> {
        CampaignCache {
            ttl_ms,
            found: HashMap::new(),
            missing: HashMap::new(),
        }
    }

    /// What was loaded for `id` less than the TTL ago: `Some(Some(v))` a
    /// campaign, `Some(None)` none in KV, `None` not known (load it).
    pub fn get(&self, id: &CampaignId, now_ms: u64) -> Option<Option<V>> {
        let fresh = |loaded_at: u64| now_ms.saturating_sub(loaded_at) < self.ttl_ms;
        if let Some(entry) = self.found.get(id).filter(|e| fresh(e.loaded_at)) {
            return Some(Some(entry.value.clone()));
        }
        self.missing.get(id).filter(|&&at| fresh(at)).map(|_| None)
    }

    /// Keeps what KV said of `id` at `now_ms`. A full map first drops what
    /// has expired; still full, a missing id makes room among the misses
    /// (all of them go), a campaign among the campaigns (the oldest goes).
    pub fn insert(&mut self, id: CampaignId, value: Option<V>, now_ms: u64) {
        let ttl = self.ttl_ms;
        let fresh = move |loaded_at: u64| now_ms.saturating_sub(loaded_at) < ttl;
        match value {
            Some(value) => {
                self.missing.remove(&id);
                if self.found.len() >= MAX_FOUND && !self.found.contains_key(&id) {
                    self.found.retain(|_, e| fresh(e.loaded_at));
                    if self.found.len() >= MAX_FOUND {
                        let oldest = self
                            .found
                            .iter()
                            .min_by_key(|(_, e)| e.loaded_at)
                            .map(|(id, _)| id.clone());
                        if let Some(oldest) = oldest {
                            self.found.remove(&oldest);
                        }
                    }
                }
                let entry = Entry {
                    loaded_at: now_ms,
                    value,
                };
                self.found.insert(id, entry);
            }
            None => {
                self.found.remove(&id);
                if self.missing.len() >= MAX_MISSING && !self.missing.contains_key(&id) {
                    self.missing.retain(|_, &mut at| fresh(at));
                    if self.missing.len() >= MAX_MISSING {
                        self.missing.clear();
                    }
                }
                self.missing.insert(id, now_ms);
            }
        }
    }

    /// Forgets `id` (after an admin write).
    pub fn forget(&mut self, id: &CampaignId) {
        self.found.remove(id);
        self.missing.remove(id);
    }

    /// How many campaigns and how many missing ids are kept.
    pub fn sizes(&self) -> (usize, usize) {
        (self.found.len(), self.missing.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> CampaignId {
        CampaignId::parse(text).unwrap()
    }

    #[test]
    fn junk_ids_never_push_out_campaigns() {
        let mut cache = CampaignCache::new(5_000);
        cache.insert(id("hot"), Some("config"), 0);
        for i in 0..10 * MAX_MISSING {
            cache.insert(id(&format!("junk{i}")), None, 1);
        }
        assert_eq!(cache.get(&id("hot"), 2), Some(Some("config")));
        let (found, missing) = cache.sizes();
        assert_eq!(found, 1);
        assert!(missing <= MAX_MISSING);
        // A miss remembered recently is still a miss.
        assert_eq!(
            cache.get(&id(&format!("junk{}", 10 * MAX_MISSING - 1)), 2),
            Some(None)
        );
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let mut cache = CampaignCache::new(5_000);
        cache.insert(id("a"), Some(1), 1_000);
        cache.insert(id("b"), None, 1_000);
        assert_eq!(cache.get(&id("a"), 5_999), Some(Some(1)));
        assert_eq!(cache.get(&id("a"), 6_000), None);
        assert_eq!(cache.get(&id("b"), 5_999), Some(None));
        assert_eq!(cache.get(&id("b"), 6_000), None);
    }

    #[test]
    fn a_full_cache_of_campaigns_drops_the_oldest_only() {
        let mut cache = CampaignCache::new(u64::MAX);
        for i in 0..MAX_FOUND {
            cache.insert(id(&format!("c{i}")), Some(i), i as u64);
        }
        cache.insert(id("newest"), Some(0), MAX_FOUND as u64);
        assert_eq!(cache.sizes().0, MAX_FOUND);
        assert_eq!(cache.get(&id("c0"), 0), None);
        assert_eq!(cache.get(&id("c1"), 0), Some(Some(1)));
        assert_eq!(cache.get(&id("newest"), 0), Some(Some(0)));
    }

    #[test]
    fn a_campaign_created_or_deleted_replaces_what_was_known() {
        let mut cache = CampaignCache::new(5_000);
        cache.insert(id("a"), None, 0);
        cache.insert(id("a"), Some(7), 1);
        assert_eq!(cache.get(&id("a"), 2), Some(Some(7)));
        cache.insert(id("a"), None, 3);
        assert_eq!(cache.get(&id("a"), 4), Some(None));
        cache.forget(&id("a"));
        assert_eq!(cache.get(&id("a"), 4), None);
    }
}
