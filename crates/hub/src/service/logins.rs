//! Login attempts per client address (portal, operator console, API login and enrolment), on
//! top of each account's lockout: at most `auth.logins_per_minute_per_ip` in a window of 60 s
//! that opens at an address's first attempt (not the calendar minute, which would let a burst
//! straddle two). An IPv6 client counts by its /64 ([`address_key`]). Counted in the store, so that every hub node sharing it counts together.

use crate::error::ApiError;
use crate::state::AppState;

/// The window, in seconds.
pub const WINDOW_SECONDS: i64 = 60;

/// Paths whose POSTs are login attempts.
pub const LOGIN_PATHS: [&str; 5] = ["/portal/login", "/mailbox/login", "/operator/login", "/v1/sessions", "/v1/enrol"];

/// Counts an attempt from `address` at `now` (unix seconds). `Err` with `too_many_requests`
/// (Retry-After: the window) when over the limit, or with a storage error when the count
/// cannot be kept (no attempt goes uncounted).
pub async fn attempt(st: &AppState, address: std::net::IpAddr, now: i64) -> Result<(), ApiError> {
    let limit = i64::from(st.config.auth.logins_per_minute_per_ip);
    if limit == 0 {
        return Ok(());
    }
    let n = st.store.count_login_attempt(&address_key(address), now, WINDOW_SECONDS).await?;
    if n <= limit {
        return Ok(());
    }
    tracing::warn!(ip = %address, attempts = n, "login attempts over the limit");
    Err(ApiError::new(
        renkei_protocol::ErrorCode::TooManyRequests,
        "ログインの試行が多すぎます。1分ほど待ってから、もう一度お試しください",
        "too many login attempts from this address",
    )
    .retry_after(WINDOW_SECONDS as u32))
}

/// What one "address" is for the limit: an IPv4 address (also one written as IPv4-mapped IPv6),
/// or an IPv6 /64 — one subscriber's network, in which anyone can take as many addresses as
/// they like (counting them one by one would be no limit, and a table row per address).
pub fn address_key(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Forgets windows that closed before `now` (the retention pass); returns how many.
pub async fn forget_old(st: &AppState, now: i64) -> Result<u64, crate::store::StoreError> {
    st.store.forget_login_attempts(now - 2 * WINDOW_SECONDS).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_network_counts_as_one_address() {
        let key = |s: &str| address_key(s.parse().unwrap());
        assert_eq!(key("192.0.2.7"), "192.0.2.7");
        assert_eq!(key("::ffff:192.0.2.7"), "192.0.2.7", "IPv4-mapped is the IPv4 address");
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64", "the whole /64 is one");
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"), "the next /64 is another");
    }
}
