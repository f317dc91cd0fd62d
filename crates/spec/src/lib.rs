//! # renkei-spec
//!
//! placeholder
pub mod calendar;
pub mod codes;
pub mod csv;
pub mod diag;
pub mod field;
pub mod ids;
pub mod ms932;
pub mod name;
pub mod records;
