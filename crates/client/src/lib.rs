//! The renkei office client (連携クライアント). This crate grows the office client (daemon, web
//! UI, outbox); today it holds the validator front end used by the `renkei` binary.

#![deny(missing_docs)]

pub mod output;
pub mod scan;
