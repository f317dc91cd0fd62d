//! Back pressure: how many requests the hub works on at once. Past that, a request waits a
//! short while for a place; if none frees up, it is refused at once with 503 `Busy` and
//! `Retry-After`, before it costs storage work. The hub then keeps its throughput and its
//! answer times under an overload, instead of queueing until every request is late (the
//! client retries after the pause, with the same idempotency key). Every door takes its place
//! here: the router for ordinary requests, the send and draft-upload handlers once their body
//! is read (so that a slow upload from an office's thin line holds no place while it
//! streams). Long-lived event streams and health probes take none.
//!
//! Far past the hub's capacity a refusal must cost next to nothing, or refused work eats the
//! capacity that served work needs. So:
//! - at most as many requests wait for a place as there are places; one more is refused
//!   without waiting;
//! - while that queue is full, an upload is refused at the door, before its body is read
//!   ([`Admission::full`]);
//! - `Retry-After` grows with the overload: it is the number of seconds over which the
//!   requests refused in the last second can come back at the rate the hub admitted them
//!   (1 s when the hub refuses few, at most [`MAX_RETRY_AFTER_SECONDS`]), so that refused
//!   clients do not all return in the same second (the client adds its own spread).

use crate::error::ApiError;
use renkei_protocol::ErrorCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The shortest pause a refused client is told to take (`Retry-After`).
pub const BUSY_RETRY_AFTER_SECONDS: u32 = 1;
/// The longest.
pub const MAX_RETRY_AFTER_SECONDS: u32 = 30;

/// The places for requests at work.
#[derive(Debug)]
pub struct Admission {
    places: Arc<Semaphore>,
    max: usize,
    wait: Duration,
    waiting: AtomicUsize,
    pace: Mutex<Pace>,
}

/// Admissions and refusals, counted per second.
#[derive(Debug)]
struct Pace {
    since: Instant,
    admitted: u64,
    refused: u64,
    last_admitted: u64,
    last_refused: u64,
}

impl Pace {
    /// Moves to the current second (a second with no request counts as quiet).
    fn roll(&mut self, now: Instant) {
        let gone = now.saturating_duration_since(self.since).as_secs();
        if gone == 0 {
            return;
        }
        (self.last_admitted, self.last_refused) = if gone == 1 { (self.admitted, self.refused) } else { (0, 0) };
        (self.admitted, self.refused) = (0, 0);
        self.since += Duration::from_secs(gone);
    }

    /// Seconds over which the refused can return at the pace of the admitted.
    fn retry_after(&self) -> u32 {
        let refused = self.last_refused.max(self.refused);
        let admitted = self.last_admitted.max(self.admitted).max(1);
        (refused.div_ceil(admitted)).clamp(BUSY_RETRY_AFTER_SECONDS as u64, MAX_RETRY_AFTER_SECONDS as u64) as u32
    }
}

/// A request's place; given back when dropped (when its answer is made).
#[derive(Debug)]
pub struct Admitted {
    _place: Option<OwnedSemaphorePermit>,
}

/// Counts a waiting request for as long as it waits.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Admission {
    /// `max` requests at once (0: no limit), each waiting at most `wait` for a place, and at
    /// most `max` waiting.
    pub fn new(max: usize, wait: Duration) -> Admission {
        Admission {
            places: Arc::new(Semaphore::new(max.min(Semaphore::MAX_PERMITS))),
            max,
            wait,
            waiting: AtomicUsize::new(0),
            pace: Mutex::new(Pace { since: Instant::now(), admitted: 0, refused: 0, last_admitted: 0, last_refused: 0 }),
        }
    }

    /// A place for one request, or 503 `Busy` when none frees up within the wait, or at once
    /// when as many requests already wait as there are places.
    pub async fn admit(&self) -> Result<Admitted, ApiError> {
        if self.max == 0 {
            return Ok(Admitted { _place: None });
        }
        let permit = match self.places.clone().try_acquire_owned() {
            Ok(p) => Some(p),
            Err(_) if self.waiting.fetch_add(1, Ordering::Relaxed) >= self.max => {
                self.waiting.fetch_sub(1, Ordering::Relaxed);
                None
            }
            Err(_) => {
                let _waiting = Waiting(&self.waiting);
                tokio::time::timeout(self.wait, self.places.clone().acquire_owned()).await.ok().and_then(Result::ok)
            }
        };
        metrics::gauge!("renkei_requests_in_flight").set((self.max - self.places.available_permits()) as f64);
        match permit {
            Some(p) => {
                self.count(true);
                Ok(Admitted { _place: Some(p) })
            }
            None => Err(self.refuse()),
        }
    }

    /// Whether the hub refuses without waiting now (every place taken and the queue full): an
    /// upload is then refused before its body is read.
    pub fn full(&self) -> bool {
        self.max != 0 && self.places.available_permits() == 0 && self.waiting.load(Ordering::Relaxed) >= self.max
    }

    /// 503 `Busy` with the `Retry-After` the overload calls for, counted as a refusal.
    pub fn refuse(&self) -> ApiError {
        metrics::counter!("renkei_requests_shed_total").increment(1);
        busy(self.count(false))
    }

    /// Counts an admission or a refusal; the `Retry-After` for a refusal now.
    fn count(&self, admitted: bool) -> u32 {
        let mut pace = self.pace.lock().unwrap_or_else(|e| e.into_inner());
        pace.roll(Instant::now());
        if admitted {
            pace.admitted += 1;
        } else {
            pace.refused += 1;
        }
        pace.retry_after()
    }

    /// Requests at work now.
    pub fn in_flight(&self) -> usize {
        if self.max == 0 { 0 } else { self.max - self.places.available_permits() }
    }
}

/// 503 `Busy`: nothing was done; retry after `retry_after` seconds.
pub fn busy(retry_after: u32) -> ApiError {
    ApiError::new(
        ErrorCode::Busy,
        "連携基盤が混み合っているため、処理できませんでした（この操作は記録されていません）。少し待ってからもう一度お試しください",
        "the hub is busy; nothing was done, retry after Retry-After",
    )
    .retry_after(retry_after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_past_the_limit_after_the_wait_and_frees_places() {
        let a = Admission::new(2, Duration::from_millis(30));
        let one = a.admit().await.expect("first");
        let _two = a.admit().await.expect("second");
        assert_eq!(a.in_flight(), 2);
        let t = Instant::now();
        let e = a.admit().await.expect_err("third waits, then is refused");
        assert!(t.elapsed() >= Duration::from_millis(25), "waited {:?}", t.elapsed());
        assert_eq!(e.0.code, ErrorCode::Busy);
        assert_eq!(e.0.code.status(), 503);
        assert_eq!(e.1, Some(BUSY_RETRY_AFTER_SECONDS), "few refusals: the shortest pause");
        drop(one);
        assert_eq!(a.in_flight(), 1);
        a.admit().await.expect("a freed place is taken");
    }

    #[tokio::test]
    async fn a_waiting_request_gets_a_place_that_frees_in_time() {
        let a = Arc::new(Admission::new(1, Duration::from_secs(5)));
        let held = a.admit().await.unwrap();
        let b = a.clone();
        let waiter = tokio::spawn(async move { b.admit().await.map(|_| ()) });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(held);
        waiter.await.unwrap().expect("admitted once the place freed");
    }

    #[tokio::test]
    async fn with_the_queue_full_one_more_is_refused_without_waiting_and_uploads_at_the_door() {
        let a = Arc::new(Admission::new(2, Duration::from_secs(30)));
        let _held = (a.admit().await.unwrap(), a.admit().await.unwrap());
        assert!(!a.full(), "places taken, nobody waiting yet");
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                tokio::spawn({
                    let a = a.clone();
                    async move { a.admit().await.map(|_| ()) }
                })
            })
            .collect();
        while a.waiting.load(Ordering::Relaxed) < 2 {
            tokio::task::yield_now().await;
        }
        assert!(a.full());
        let t = Instant::now();
        let e = a.admit().await.expect_err("the queue is full");
        assert!(t.elapsed() < Duration::from_secs(5), "refused at once, not after the 30 s wait: {:?}", t.elapsed());
        assert_eq!(e.0.code, ErrorCode::Busy);
        assert_eq!(a.waiting.load(Ordering::Relaxed), 2, "the refused one left the queue");
        for w in waiters {
            w.abort();
        }
    }

    #[test]
    fn the_pause_grows_with_the_refusals_per_admission_and_is_bounded() {
        let t0 = Instant::now();
        let mut p = Pace { since: t0, admitted: 0, refused: 0, last_admitted: 0, last_refused: 0 };
        assert_eq!(p.retry_after(), 1, "quiet");
        (p.admitted, p.refused) = (1000, 500);
        assert_eq!(p.retry_after(), 1, "fewer refused than admitted: they fit in one second");
        p.refused = 3000;
        assert_eq!(p.retry_after(), 3, "three times as many refused as admitted: spread over 3 s");
        p.roll(t0 + Duration::from_millis(1500));
        assert_eq!((p.last_admitted, p.last_refused, p.admitted, p.refused), (1000, 3000, 0, 0));
        assert_eq!(p.retry_after(), 3, "the last full second still counts");
        p.roll(t0 + Duration::from_millis(3200));
        assert_eq!(p.retry_after(), 1, "a second without requests: quiet again");
        (p.admitted, p.refused) = (0, 1_000_000);
        assert_eq!(p.retry_after(), MAX_RETRY_AFTER_SECONDS);
    }

    #[tokio::test]
    async fn zero_means_no_limit() {
        let a = Admission::new(0, Duration::ZERO);
        let mut held = Vec::new();
        for _ in 0..100 {
            held.push(a.admit().await.expect("no limit"));
        }
        assert_eq!(a.in_flight(), 0);
        assert!(!a.full());
    }
}
