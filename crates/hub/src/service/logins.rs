//! Login attempts per client address (portal, operator console, API login and enrolment), on
//! top of each account's lockout: at most `auth.logins_per_minute_per_ip` in a window of 60 s
//! that opens at an address's first attempt (not the calendar minute, which would let a burst
//! straddle two). Counted in the store, so that every hub node sharing it counts together.

use crate::error::ApiError;
use crate::state::AppState;

/// The window, in seconds.
pub const WINDOW_SECONDS: i64 = 60;

/// Paths whose POSTs are login attempts.
pub const LOGIN_PATHS: [&str; 4] = ["/portal/login", "/operator/login", "/v1/sessions", "/v1/enrol"];

/// Counts an attempt from `address` at `now` (unix seconds). `Err` with `too_many_requests`
/// (Retry-After: the window) when over the limit, or with a storage error when the count
/// cannot be kept (no attempt goes uncounted).
pub async fn attempt(st: &AppState, address: std::net::IpAddr, now: i64) -> Result<(), ApiError> {
    let limit = i64::from(st.config.auth.logins_per_minute_per_ip);
    if limit == 0 {
        return Ok(());
    }
    let n = st.store.count_login_attempt(&address.to_string(), now, WINDOW_SECONDS).await?;
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

/// Forgets windows that closed before `now` (the retention pass); returns how many.
pub async fn forget_old(st: &AppState, now: i64) -> Result<u64, crate::store::StoreError> {
    st.store.forget_login_attempts(now - 2 * WINDOW_SECONDS).await
}
