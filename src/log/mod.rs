//! The postbacks log (SPEC §7): one entry per postback, accepted or not,
//! with what an operator needs to tell the advertiser what went wrong.
//!
//! An entry is made at the edge ([`LogDraft`] → [`LogEntry`]), gathered
//! with the isolate's others into a [`batch::LogBatch`] sent to a queue,
//! and cut by the queue's consumer into chunks ([`gather`]) for the R2
//! bucket ([`layout`]) or, for postbacks that name no valid campaign, the
//! bounded unattributed log. A query reads the chunks of every store the
//! reader may read through one rule ([`plan`]), and [`answer::merge`]s
//! the answers, newest first.

pub mod answer;
pub mod batch;
pub mod chunk;
mod draft;
mod entry;
pub mod export;
pub mod gather;
pub mod id;
pub mod layout;
mod page;
pub mod plan;
mod query;

pub use answer::{merge, Hours, LogAnswer, LogPage, HOUR_MS};
pub use draft::{LogDraft, LoggedParams, MAX_VALUE_LEN};
pub use entry::{format_millis, LogEntry, DRY_RUN};
pub use page::{local_zone, render_error_page, render_page};
pub use plan::Scope;
pub use query::{LogQuery, StoreQuery, DEFAULT_LIMIT, MAX_LIMIT, QUERY_PARAMETERS};

/// Entries are kept at least this long.
pub const RETENTION_MS: u64 = 30 * 24 * 3600 * 1000;
/// Most entries kept for postbacks that name no valid campaign: junk
/// traffic cannot grow storage past this.
pub const MAX_UNATTRIBUTED: u32 = 10_000;
