//! Rate limits (SECURITY.md): operations per principal (a person, or an
//! API token) and, for requests without credentials, per client address.
//! Operations are counted, not requests: a batch takes one per operation,
//! a WebSocket `subscribe` one. A caller over the limit gets `RATE_LIMITED`
//! with how long to wait (`Retry-After`), and nothing of the request runs.
//!
//! Each limit is a bucket (GCRA, `governor`) holding a period's allowance
//! and refilling evenly over the period; buckets of callers not seen for a
//! period are dropped by [`RateLimits::forget_idle`].

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::auth::{Actor, Principal};

/// `N/s`, `N/min` or `N/h` operations; None is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub operations: NonZeroU32,
    pub per: Duration,
}

impl Rate {
    /// Parses `600/min`-like text; `off` is no limit.
    pub fn parse(text: &str) -> Result<Option<Self>, String> {
        let text = text.trim();
        if text == "off" {
            return Ok(None);
        }
        let (count, unit) =
            text.split_once('/').ok_or_else(|| format!("expected like `600/min` or `off`, got `{text}`"))?;
        let operations: NonZeroU32 =
            count.trim().parse().map_err(|_| format!("expected a positive count before `/`, got `{count}`"))?;
        let per = match unit.trim() {
            "s" => Duration::from_secs(1),
            "min" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            other => return Err(format!("expected `s`, `min` or `h` after `/`, got `{other}`")),
        };
        Ok(Some(Self { operations, per }))
    }

    fn quota(self) -> Quota {
        // A period's allowance at once, refilled evenly over the period.
        Quota::with_period(self.per / self.operations.get())
            .unwrap_or_else(|| Quota::per_second(self.operations))
            .allow_burst(self.operations)
    }
}

/// Who a request is counted against.
pub enum Caller<'a> {
    Principal(&'a Principal),
    Address(IpAddr),
}

impl<'a> Caller<'a> {
    /// The principal when there is one, else the client's address.
    pub fn of(principal: Option<&'a Principal>, address: IpAddr) -> Self {
        principal.map_or(Self::Address(address), Self::Principal)
    }
}

pub struct RateLimits {
    principals: Option<DefaultKeyedRateLimiter<String>>,
    addresses: Option<DefaultKeyedRateLimiter<IpAddr>>,
    clock: DefaultClock,
}

impl RateLimits {
    pub fn new(principals: Option<Rate>, addresses: Option<Rate>) -> Self {
        Self {
            principals: principals.map(|rate| RateLimiter::keyed(rate.quota())),
            addresses: addresses.map(|rate| RateLimiter::keyed(rate.quota())),
            clock: DefaultClock::default(),
        }
    }

    /// Takes `operations` from the caller's allowance, or says how long to
    /// wait before they would fit (taking nothing).
    pub fn take(&self, caller: Caller<'_>, operations: usize) -> Result<(), Duration> {
        let n = NonZeroU32::new(u32::try_from(operations).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN);
        let outcome = match caller {
            Caller::Principal(principal) => {
                let Some(limiter) = &self.principals else { return Ok(()) };
                let key = match &principal.actor {
                    Actor::User(user) => format!("user:{}", user.user_id),
                    Actor::Token(token) => format!("token:{}", token.token_id),
                };
                limiter.check_key_n(&key, n)
            }
            Caller::Address(address) => {
                let Some(limiter) = &self.addresses else { return Ok(()) };
                limiter.check_key_n(&address, n)
            }
        };
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(not_until.wait_time_from(self.clock.now())),
            // More operations at once than a whole period allows: a
            // period's wait says "send fewer", as well as a number can.
            Err(_) => Err(Duration::from_secs(60)),
        }
    }

    /// Drops the buckets of callers whose allowance is full again.
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.principals {
            limiter.retain_recent();
        }
        if let Some(limiter) = &self.addresses {
            limiter.retain_recent();
        }
    }
}

/// `Retry-After` for a wait (whole seconds, at least one) and the
/// message the caller is given.
pub fn refusal(wait: Duration) -> (u64, String) {
    let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    (secs, format!("too many operations; retry after {secs} s"))
}
