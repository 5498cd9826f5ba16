//! The server clock: whole seconds since start, as memcached keeps time.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// memcached treats expiry times up to 30 days as relative, larger ones as Unix times.
pub const REALTIME_MAXDELTA: i64 = 60 * 60 * 24 * 30;

/// Seconds since the server started, offset so that "1" is always in the past.
#[derive(Debug, Clone)]
pub struct Clock {
    started: Instant,
    /// The Unix time that server time 0 corresponds to.
    epoch: i64,
}

/// Server time of the first tick; times 0 ("never") and 1 ("already expired") stay in the past.
const START: u32 = 2;

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

impl Clock {
    /// A clock starting now.
    pub fn new() -> Clock {
        Clock {
            started: Instant::now(),
            epoch: unix_now() - i64::from(START),
        }
    }

    /// Current server time in seconds.
    pub fn now(&self) -> u32 {
        START.saturating_add(self.started.elapsed().as_secs() as u32)
    }

    /// The Unix time of server time `t`.
    pub fn to_unix(&self, t: u32) -> i64 {
        self.epoch + i64::from(t)
    }

    /// Seconds the server has been up.
    pub fn uptime(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// memcached's `realtime(EXPTIME_TO_POSITIVE_TIME(exptime))`: a request's expiry as server
    /// time. 0 stays 0 (never); negative times and Unix times not after the start are 1, which
    /// is always in the past.
    pub fn expiry(&self, exptime: i32, now: u32) -> u32 {
        self.expiry_of(i64::from(exptime), now)
    }

    /// [`Clock::expiry`] for the binary protocol's unsigned expiry field (never negative:
    /// values above `i32::MAX` are Unix times far ahead).
    pub fn expiry_unsigned(&self, exptime: u32, now: u32) -> u32 {
        self.expiry_of(i64::from(exptime), now)
    }

    fn expiry_of(&self, exptime: i64, now: u32) -> u32 {
        let exptime = if exptime < 0 {
            REALTIME_MAXDELTA + 1
        } else {
            exptime
        };
        if exptime == 0 {
            0
        } else if exptime > REALTIME_MAXDELTA {
            if exptime <= self.epoch {
                1
            } else {
                u32::try_from(exptime - self.epoch).unwrap_or(u32::MAX)
            }
        } else {
            now.saturating_add(exptime as u32)
        }
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_follows_memcached() {
        let clock = Clock::new();
        let now = clock.now();
        assert_eq!(clock.expiry(0, now), 0);
        assert_eq!(clock.expiry(100, now), now + 100);
        assert_eq!(clock.expiry(2_592_000, now), now + 2_592_000);
        assert_eq!(clock.expiry(-1, now), 1);
        assert_eq!(
            clock.expiry(1_000_000_000, now),
            1,
            "absolute time in the past"
        );
        let in_an_hour = (unix_now() + 3600) as i32;
        let t = clock.expiry(in_an_hour, now);
        assert!((3599..=3601).contains(&(t - now)), "{t} vs {now}");
    }
}
