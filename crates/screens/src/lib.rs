//! What the browser screens of the hub (portal, console) and of the office client's local UI
//! share, so that the two never drift: the office's screens ([`office`]: the local client's and
//! the web mailbox's), the visual language, how a form carries its CSRF token, how a cookie is read.
//!
//! No I/O of its own: the doors hand in what they read.

pub mod archive;
pub mod cookie;
pub mod form;
pub mod office;
pub mod style;
