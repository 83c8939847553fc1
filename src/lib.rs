//! postback-edge: an edge validator for advertisers' postbacks.
//!
//! The pure core (every module but `shell`) decides; the wasm shell only
//! moves data between HTTP, KV, the campaign Durable Object and the origin.
//! See ARCHITECTURE.md for the map.

pub mod auth;
pub mod campaign;
pub mod catalog;
pub mod click;
pub mod edge;
pub mod ids;
pub mod landing;
pub mod ledger;
pub mod log;
pub mod lookup;
pub mod money;
pub mod outbox;
pub mod params;
pub mod postback;
pub mod redact;
pub mod reply;
pub mod route;
pub mod secret;
pub mod status;
pub mod time;
pub mod timezone;
pub mod token;

#[cfg(target_arch = "wasm32")]
mod shell;
