//! A box's health, from the time of its last heartbeat: unhealthy once it has missed
//! [`MISSED_HEARTBEATS_UNHEALTHY`] heartbeats in a row.

use serde::{Deserialize, Serialize};

use crate::limits::MISSED_HEARTBEATS_UNHEALTHY;

/// Health of a box, as the admin API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// No heartbeat yet (pending, or approved and not yet reporting).
    Unknown,
    /// Heartbeats arrive on time.
    Healthy,
    /// Too many heartbeats missed.
    Unhealthy,
}

/// The health of a box whose last heartbeat arrived at `last_ms`, at time `now_ms`, when
/// heartbeats are due every `every_ms`.
pub fn health(last_ms: Option<u64>, now_ms: u64, every_ms: u64) -> Health {
    match last_ms {
        None => Health::Unknown,
        Some(last) if now_ms.saturating_sub(last) > MISSED_HEARTBEATS_UNHEALTHY * every_ms => {
            Health::Unhealthy
        }
        Some(_) => Health::Healthy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unhealthy_after_the_named_number_of_misses() {
        let every = 1000;
        assert_eq!(health(None, 5, every), Health::Unknown);
        assert_eq!(health(Some(0), 0, every), Health::Healthy);
        let limit = MISSED_HEARTBEATS_UNHEALTHY * every;
        assert_eq!(health(Some(0), limit, every), Health::Healthy);
        assert_eq!(health(Some(0), limit + 1, every), Health::Unhealthy);
        // A clock that went backwards is not a missed heartbeat.
        assert_eq!(health(Some(10), 0, every), Health::Healthy);
    }
}
