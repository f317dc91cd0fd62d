//! The service layer: the hub's rules, each written once, beneath every door (the API, the
//! portal, the operator console and the admin command line). Services take the acting user,
//! terminal or address and return domain results, never HTTP responses; the doors only
//! translate them.

pub mod accounts;
pub mod checks;
pub mod licence;
pub mod mailbox;
pub mod retention;
pub mod sessions;
pub mod terminals;
