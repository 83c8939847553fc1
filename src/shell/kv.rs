//! The campaigns KV namespace, through the `worker` crate's `KvStore`:
//! the four calls the product makes, their errors as the shell's
//! [`Failure`], and a listing as key names and the next page's cursor.

use super::error::{Failure, Outcome};
use worker::kv::{KvError, KvStore};
use worker::Env;

pub struct KvNamespace(KvStore);

fn describe(doing: &str, e: KvError) -> Failure {
    match e {
        KvError::JavaScript(value) => Failure::new(doing, super::platform::error_text(&value)),
        other => Failure::new(doing, other),
    }
}

/// The namespace bound as `binding`.
pub fn namespace(env: &Env, binding: &str) -> Outcome<KvNamespace> {
    env.kv(binding)
        .map(KvNamespace)
        .map_err(|e| Failure::new(format!("the KV namespace {binding}"), e))
}

impl KvNamespace {
    /// The value under `key` as text; `None` if there is none.
    pub async fn text(&self, key: &str) -> Outcome<Option<String>> {
        self.0
            .get(key)
            .text()
            .await
            .map_err(|e| describe("KV get", e))
    }

    pub async fn put(&self, key: &str, value: &str) -> Outcome<()> {
        let put = self.0.put(key, value).map_err(|e| describe("KV put", e))?;
        put.execute().await.map_err(|e| describe("KV put", e))
    }

    pub async fn delete(&self, key: &str) -> Outcome<()> {
        self.0
            .delete(key)
            .await
            .map_err(|e| describe("KV delete", e))
    }

    /// One page of the keys under `prefix`: their names, and the cursor of
    /// the next page (`None` on the last).
    pub async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
    ) -> Outcome<(Vec<String>, Option<String>)> {
        let mut listing = self.0.list().prefix(prefix.to_owned());
        if let Some(cursor) = cursor {
            listing = listing.cursor(cursor.to_owned());
        }
        let page = listing
            .execute()
            .await
            .map_err(|e| describe("KV list", e))?;
        let next = if page.list_complete {
            None
        } else {
            page.cursor.filter(|c| !c.is_empty())
        };
        Ok((page.keys.into_iter().map(|k| k.name).collect(), next))
    }
}
