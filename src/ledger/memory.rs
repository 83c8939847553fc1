//! An in-memory [`Store`], for tests and benchmarks: the same contract as
//! the campaign object's SQLite tables.

use super::{Change, CounterKey, Known, OutboxMessage, Store};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::convert::Infallible;

#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    /// By identity: what the object would keep (`Conversion::known`).
    pub conversions: BTreeMap<String, Known>,
    pub counters: BTreeMap<CounterKey, Decimal>,
    pub outbox: Vec<OutboxMessage>,
}

impl Store for MemoryStore {
    type Error = Infallible;

    fn conversion(&self, identity: &str) -> Result<Option<Known>, Infallible> {
        Ok(self.conversions.get(identity).cloned())
    }

    fn counter(&self, key: &CounterKey) -> Result<Decimal, Infallible> {
        Ok(self.counters.get(key).copied().unwrap_or_default())
    }

    fn commit(&mut self, change: &Change) -> Result<(), Infallible> {
        self.conversions.insert(
            change.conversion.identity.clone(),
            change.conversion.known(),
        );
        for c in &change.counters {
            *self.counters.entry(c.key.clone()).or_default() += c.increment;
        }
        self.outbox.push(change.outbox.clone());
        Ok(())
    }
}
