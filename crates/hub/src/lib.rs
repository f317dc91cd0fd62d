//! # renkei-hub — the 連携基盤
//!
//! Office mailboxes over mutual TLS: terminals enrolled with certificates from the hub's CA,
//! users with argon2id passwords and lockout, sends checked at the door against the standard
//! (`renkei-spec`), and per-recipient delivery state (未取得 → 取得済 → 開封済).
//!
//! Layers, each using only those below it: the doors ([`web`]: API, portal, operator console;
//! and the admin command line in `main.rs`) translate requests; [`service`] holds every rule
//! once; [`store`] alone speaks SQL and [`blobs`] holds file content.

#![deny(missing_docs)]

pub mod app;
pub mod auth;
pub mod blobs;
pub mod ca;
pub mod cluster;
pub mod config;
pub mod dev;
pub mod error;
pub mod files;
pub mod health;
pub mod jst;
pub mod metrics;
pub mod proxy;
pub mod registry;
pub mod search;
pub mod service;
pub mod state;
pub mod store;
pub mod tls;
pub mod web;

pub use app::{Running, start};
pub use config::Config;
pub use state::AppState;
