//! Login attempts per client IP (portal, operator console, API login and enrolment), on top of
//! the per-account lockout: a fixed one-minute window per address, kept in memory per node.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// A per-IP limiter.
#[derive(Debug)]
pub struct LoginLimiter {
    per_minute: u32,
    seen: Mutex<HashMap<IpAddr, (i64, u32)>>,
}

impl LoginLimiter {
    /// Allows `per_minute` attempts per address and minute (0: no limit).
    pub fn new(per_minute: u32) -> LoginLimiter {
        LoginLimiter { per_minute, seen: Mutex::new(HashMap::new()) }
    }

    /// Counts an attempt at `now` (unix seconds); `false` when over the limit.
    pub fn allow(&self, ip: IpAddr, now: i64) -> bool {
        if self.per_minute == 0 {
            return true;
        }
        // A window opens at an address's first attempt and lasts 60 s (not the calendar
        // minute, which would let a burst straddle two minutes).
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() > 100_000 {
            seen.retain(|_, (start, _)| now - *start < 60);
        }
        let e = seen.entry(ip).or_insert((now, 0));
        if now - e.0 >= 60 {
            *e = (now, 0);
        }
        e.1 += 1;
        e.1 <= self.per_minute
    }
}

/// Paths whose POSTs are login attempts.
pub const LOGIN_PATHS: [&str; 4] = ["/portal/login", "/operator/login", "/v1/sessions", "/v1/enrol"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_address_and_minute() {
        let l = LoginLimiter::new(3);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        assert!((0..3).all(|_| l.allow(a, 120)));
        assert!(!l.allow(a, 130), "fourth in the same minute");
        assert!(l.allow(b, 130), "another address");
        assert!(l.allow(a, 180), "60 s after the first attempt");
        let c: IpAddr = "10.0.0.3".parse().unwrap();
        assert!((0..3).all(|_| l.allow(c, 59)));
        assert!(!l.allow(c, 61), "a burst across a calendar minute is still one window");
        assert!(LoginLimiter::new(0).allow(a, 0));
    }
}
