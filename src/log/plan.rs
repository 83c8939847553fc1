//! The one rule for reading the log, whatever the store: given a query
//! and a chunk's meta, whether to stop, skip the chunk, count it from its
//! meta, or read its entries — and what the entries read add to the
//! answer. Every store (the bucket's listings, the unattributed log's
//! rows) hands its chunks to a [`Reading`] newest first by their newest
//! entry, and only lists, fetches and writes.

use super::answer::{tally_hour, Hours, LogPage};
use super::chunk::{ChunkMeta, Counts};
use super::entry::newest_first;
use super::entry::LogEntry;
use super::id::id_millis;
use super::query::LogQuery;
use std::collections::BTreeSet;

/// The campaigns a reading covers: a query's campaign, a reader's
/// campaigns, or all (`None`). An entry that names no campaign is under
/// `""`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope(Option<BTreeSet<String>>);

impl Scope {
    /// Every campaign.
    pub fn all() -> Scope {
        Scope(None)
    }

    /// These campaigns only.
    pub fn only<I: IntoIterator<Item = S>, S: Into<String>>(campaigns: I) -> Scope {
        Scope(Some(campaigns.into_iter().map(Into::into).collect()))
    }

    pub fn campaigns(&self) -> Option<&BTreeSet<String>> {
        self.0.as_ref()
    }

    fn holds(&self, entry: &LogEntry) -> bool {
        self.0.as_ref().is_none_or(|c| c.contains(entry.campaign()))
    }
}

/// What to do with the next chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// No chunk from here on can add anything: older than the query's
    /// range, past retention, or, for a page alone, older than a full page.
    Stop,
    /// Nothing in this chunk is for the query.
    Skip,
    /// Its meta gives its counts; its entries are not needed.
    Count,
    /// Its entries are needed: for the page, or for counts its meta
    /// cannot give.
    Read,
}

/// A query being answered from chunks read newest first.
pub struct Reading<'q> {
    query: &'q LogQuery,
    scope: &'q Scope,
    /// Whether the answer counts (the JSON API and the page), or only
    /// fills a page (an export).
    counting: bool,
    /// Chunks whose newest entry is older than this are not read: the
    /// query's `since`, or retention.
    oldest_ms: u64,
    /// Newest first, at most `limit`.
    page: Vec<LogEntry>,
    counts: Counts,
    hours: Hours,
    cut: Option<u64>,
}

impl<'q> Reading<'q> {
    pub fn new(
        query: &'q LogQuery,
        scope: &'q Scope,
        counting: bool,
        now_ms: u64,
        retention_ms: u64,
    ) -> Reading<'q> {
        let since = query.since_id.as_deref().map_or(0, id_millis);
        Reading {
            query,
            scope,
            counting,
            oldest_ms: since.max(now_ms.saturating_sub(retention_ms)),
            page: Vec::new(),
            counts: Counts::new(),
            hours: Hours::new(),
            cut: None,
        }
    }

    /// The rule: what to do with the chunk `meta` describes.
    pub fn step(&self, meta: &ChunkMeta) -> Step {
        if id_millis(&meta.last) < self.oldest_ms {
            return Step::Stop;
        }
        if self
            .query
            .before
            .as_deref()
            .is_some_and(|b| meta.first.as_str() >= b)
        {
            return Step::Skip;
        }
        let counts = meta.counts_for(self.scope.campaigns());
        if counts.as_ref().is_some_and(Counts::is_empty) {
            return Step::Skip;
        }
        let room = self.page_has_room_for(&meta.last);
        let for_page = room
            && self
                .query
                .code
                .as_deref()
                .is_none_or(|code| counts.as_ref().is_none_or(|c| c.contains_key(code)));
        match (self.counting, for_page) {
            (false, false) if !room => Step::Stop,
            (false, false) => Step::Skip,
            (_, true) => Step::Read,
            (true, false) if self.countable(meta, counts.as_ref()) => Step::Count,
            (true, false) => Step::Read,
        }
    }

    /// Takes a chunk's counts from its meta ([`Step::Count`]).
    pub fn count(&mut self, meta: &ChunkMeta) {
        if let Some(counts) = meta.counts_for(self.scope.campaigns()) {
            self.add_counts(meta, &counts);
        }
    }

    /// Takes what a chunk's entries give the answer ([`Step::Read`]):
    /// the page's, and the counts its meta could not give.
    pub fn read(&mut self, meta: &ChunkMeta, entries: Vec<LogEntry>) {
        let counts = meta.counts_for(self.scope.campaigns());
        let from_meta = self.counting && self.countable(meta, counts.as_ref());
        if let (true, Some(counts)) = (from_meta, &counts) {
            self.add_counts(meta, counts);
        }
        let before = self.page.len();
        for entry in entries {
            if !self.in_range(&entry) {
                continue;
            }
            if self.counting && !from_meta {
                let key = entry.count_key();
                *self.counts.entry(key.to_owned()).or_default() += 1;
                tally_hour(&mut self.hours, id_millis(&entry.id), key, 1);
            }
            let code = self.query.code.as_deref();
            if code.is_none_or(|code| entry.count_key() == code) {
                self.page.push(entry);
            }
        }
        if self.page.len() > before {
            newest_first(&mut self.page);
            self.page.truncate(self.query.limit as usize);
        }
    }

    /// The store stopped after the chunk `meta` describes (it reads a
    /// bounded number): chunks not read are no newer, so the answer covers
    /// what is newer than its newest entry.
    pub fn stopped_after(&mut self, meta: &ChunkMeta) {
        self.cut = Some(id_millis(&meta.last).saturating_add(1));
    }

    pub fn finish(self) -> LogPage {
        LogPage {
            entries: self.page,
            counts: self.counts,
            hours: self.hours,
            cut: self.cut,
        }
    }

    /// Whether an entry whose id is `last` can still make the page: it is
    /// not full, or `last` is newer than its oldest entry.
    fn page_has_room_for(&self, last: &str) -> bool {
        let limit = self.query.limit as usize;
        match self.page.get(limit.saturating_sub(1)) {
            Some(oldest) if self.page.len() >= limit => last > oldest.id.as_str(),
            _ => true,
        }
    }

    /// Whether the chunk's counts for the query are its meta's: it lies
    /// wholly in the query's time, and the query filters on nothing the
    /// meta does not say (a click, an action, a conversion, a partner).
    fn countable(&self, meta: &ChunkMeta, counts: Option<&Counts>) -> bool {
        let q = self.query;
        let fields = [&q.click_id, &q.action_id, &q.conversion_id, &q.partner_id];
        counts.is_some()
            && fields.iter().all(|f| f.is_none())
            && q.since_id
                .as_deref()
                .is_none_or(|s| meta.first.as_str() >= s)
            && q.before.as_deref().is_none_or(|b| meta.last.as_str() < b)
    }

    fn add_counts(&mut self, meta: &ChunkMeta, counts: &Counts) {
        // A chunk spans a minute at most: counted at its newest entry's hour.
        let at = id_millis(&meta.last);
        for (key, n) in counts {
            tally_hour(&mut self.hours, at, key, *n);
            *self.counts.entry(key.clone()).or_default() += n;
        }
    }

    /// Whether `entry` is in the query's campaigns, fields and time (what
    /// counts are taken over: every code).
    fn in_range(&self, entry: &LogEntry) -> bool {
        let q = self.query;
        let e = &entry.postback;
        let field = |wanted: &Option<String>, has: &Option<String>| {
            wanted.as_deref().is_none_or(|w| has.as_deref() == Some(w))
        };
        self.scope.holds(entry)
            && field(&q.click_id, &e.click_id)
            && field(&q.action_id, &e.action_id)
            && field(&q.conversion_id, &entry.conversion_id)
            && field(&q.partner_id, &e.partner_id)
            && q.since_id.as_deref().is_none_or(|s| entry.id.as_str() >= s)
            && q.before.as_deref().is_none_or(|b| entry.id.as_str() < b)
    }
}

/// Which of several stores' next chunks (`None` for a store with none
/// left) a reading takes next: the newest by its newest entry, so that a
/// reading fed from many stores at once (the bucket's shards) still takes
/// its chunks newest first. `None` when every store is done.
pub fn newest_next<'m>(fronts: impl IntoIterator<Item = Option<&'m ChunkMeta>>) -> Option<usize> {
    fronts
        .into_iter()
        .enumerate()
        .filter_map(|(i, meta)| Some((i, meta?)))
        .max_by(|(_, a), (_, b)| a.last.cmp(&b.last))
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests;
