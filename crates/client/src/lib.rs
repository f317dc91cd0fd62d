//! # renkei-client — the office client (連携クライアント)
//!
//! The `renkei` binary: set-up of a PC for an office ([`setup`]), the hub API over mutual TLS
//! ([`hub`]), 一括送信 with validation and safe re-runs ([`outgoing`]), データ取得 and 一括取得
//! ([`incoming`]), ZIP files ([`archive`]), the watch folder ([`watch`]), notifications
//! ([`notify`]), the daemon ([`daemon`]) and its local Japanese web UI ([`ui`]), and the validator
//! front end ([`output`], [`scan`]).

#![deny(missing_docs)]

pub use renkei_screens::archive;
pub mod autostart;
pub mod daemon;

pub mod hub;
pub mod incoming;
pub mod notify;
pub mod outgoing;
pub mod output;
pub mod profile;
pub mod scan;
pub mod setup;
pub mod state;
pub mod ui;

pub mod watch;
