//! The service layer: the hub's rules, each written once, beneath every door (the API, the
//! portal, the operator console and the admin command line). Services take the acting user,
//! terminal or address and return domain results, never HTTP responses; the doors only
//! translate them.
//!
//! Written so far: [`accounts`] (password check with the one lockout rule for users and
//! operators, password state, password change) and [`licence`] (who may send and receive).

pub mod accounts;
pub mod licence;
