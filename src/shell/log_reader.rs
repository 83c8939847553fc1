//! A log query answered from every store the reader may read: the
//! bucket's shards (`log::layout`; while an earlier version's chunks may
//! be left, its prefixes too) and, for the admin, the unattributed log's
//! object, each through the one rule (`log::plan`), merged newest first.
//! No campaign object takes part: a query costs what it reads, whatever
//! the number of campaigns.

use super::error::Outcome;
use super::log_bucket::{self, Ended};
use super::{object_client, platform};
use crate::log::plan::Reading;
use crate::log::{layout, merge, LogPage, LogQuery, StoreQuery, RETENTION_MS};
use crate::token::Reach;
use futures_util::future::join;
use worker::Env;

/// The answer to `query` where `reach` allows; with `counting`, counts per
/// code and per hour too (an export's pages need none).
pub async fn gather(
    env: &Env,
    query: &LogQuery,
    reach: &Reach,
    counting: bool,
) -> Outcome<LogPage> {
    let scope = reach.scope();
    let now = platform::now_millis();
    let bucket = log_bucket::bucket(env)?;
    let read = |prefixes: Vec<String>| {
        let (bucket, scope) = (&bucket, &scope);
        async move {
            let mut reading = Reading::new(query, scope, counting, now, RETENTION_MS);
            let ended = log_bucket::read_prefixes(bucket, &prefixes, query, &mut reading).await?;
            Ok::<_, super::error::Failure>((reading.finish(), ended))
        }
    };
    let unattributed = async {
        if !reach.unattributed {
            return Ok(None);
        }
        let asked = StoreQuery {
            query: query.clone(),
            counting,
        };
        object_client::query_unattributed(env, &asked)
            .await
            .map(Some)
    };
    let (shards, unattributed) = join(read(layout::prefixes(&scope)), unattributed).await;
    let (page, ended) = shards?;
    let mut pages = vec![page];
    if ended == Ended::Exhausted {
        // Nothing older in today's layout: what an earlier version wrote
        // may be, until retention has taken it.
        pages.push(read(layout::legacy_prefixes(&scope)).await?.0);
    }
    pages.extend(unattributed?);
    Ok(merge(pages, query.limit))
}
