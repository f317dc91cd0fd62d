//! # renkei-hub — the 連携基盤
//!
//! Office mailboxes over mutual TLS: terminals enrolled with certificates from the hub's CA,
//! users with argon2id passwords and lockout, sends checked at the door against the standard
//! (`renkei-spec`), and per-recipient delivery state (未取得 → 取得済 → 開封済).
//! HTTP handlers call the store; only [`store`] speaks SQL.

#![deny(missing_docs)]

mod api;
pub mod app;
pub mod auth;
pub mod blobs;
pub mod ca;
pub mod checks;
pub mod config;
pub mod dev;
pub mod error;
pub mod files;
pub mod health;
pub mod jst;
pub mod metrics;
pub mod office_portal;
pub mod openapi;
pub mod operator;
pub mod portal;
pub mod ratelimit;
pub mod registry;
pub mod service;
pub mod store;
pub mod tls;

pub use app::{Running, start};
pub use config::Config;
