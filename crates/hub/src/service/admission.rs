//! Back pressure: how many requests the hub works on at once. Past that, a request waits a
//! short while for a place; if none frees up, it is refused at once with 503 `Busy` and
//! `Retry-After`, before it costs storage work. The hub then keeps its throughput and its
//! answer times under an overload, instead of queueing until every request is late (the
//! client retries after the pause, with the same idempotency key). Every door takes its place
//! here: the router for ordinary requests, the send and draft-upload handlers once their body
//! is read (so that a slow upload from an office's thin line holds no place while it
//! streams). Long-lived event streams and health probes take none.

use crate::error::ApiError;
use renkei_protocol::ErrorCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Seconds a refused client is told to wait (`Retry-After`).
pub const BUSY_RETRY_AFTER_SECONDS: u32 = 1;

/// The places for requests at work.
#[derive(Debug)]
pub struct Admission {
    places: Arc<Semaphore>,
    max: usize,
    wait: Duration,
}

/// A request's place; given back when dropped (when its answer is made).
#[derive(Debug)]
pub struct Admitted {
    _place: Option<OwnedSemaphorePermit>,
}

impl Admission {
    /// `max` requests at once (0: no limit), each waiting at most `wait` for a place.
    pub fn new(max: usize, wait: Duration) -> Admission {
        Admission { places: Arc::new(Semaphore::new(max.min(Semaphore::MAX_PERMITS))), max, wait }
    }

    /// A place for one request, or 503 `Busy` when none frees up within the wait.
    pub async fn admit(&self) -> Result<Admitted, ApiError> {
        if self.max == 0 {
            return Ok(Admitted { _place: None });
        }
        let permit = match self.places.clone().try_acquire_owned() {
            Ok(p) => Ok(p),
            Err(_) => match tokio::time::timeout(self.wait, self.places.clone().acquire_owned()).await {
                Ok(Ok(p)) => Ok(p),
                _ => Err(()),
            },
        };
        metrics::gauge!("renkei_requests_in_flight").set((self.max - self.places.available_permits()) as f64);
        match permit {
            Ok(p) => Ok(Admitted { _place: Some(p) }),
            Err(()) => {
                metrics::counter!("renkei_requests_shed_total").increment(1);
                Err(busy())
            }
        }
    }

    /// Requests at work now.
    pub fn in_flight(&self) -> usize {
        if self.max == 0 { 0 } else { self.max - self.places.available_permits() }
    }
}

/// 503 `Busy`: nothing was done; retry after [`BUSY_RETRY_AFTER_SECONDS`].
pub fn busy() -> ApiError {
    ApiError::new(
        ErrorCode::Busy,
        "連携基盤が混み合っているため、処理できませんでした（この操作は記録されていません）。少し待ってからもう一度お試しください",
        "the hub is busy; nothing was done, retry after Retry-After",
    )
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
        let t = std::time::Instant::now();
        let e = a.admit().await.expect_err("third waits, then is refused");
        assert!(t.elapsed() >= Duration::from_millis(25), "waited {:?}", t.elapsed());
        assert_eq!(e.0.code, ErrorCode::Busy);
        assert_eq!(e.0.code.status(), 503);
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
    async fn zero_means_no_limit() {
        let a = Admission::new(0, Duration::ZERO);
        let mut held = Vec::new();
        for _ in 0..100 {
            held.push(a.admit().await.expect("no limit"));
        }
        assert_eq!(a.in_flight(), 0);
    }
}
