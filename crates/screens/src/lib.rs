//! What the browser screens of the hub (portal, console) and of the office client's local UI
//! share, so that the two never drift. Today: how a form carries its CSRF token.
//!
//! No I/O of its own: the doors hand in what they read.

pub mod form;
