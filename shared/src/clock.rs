//! Time, as Unix seconds. The token service holds a [`Clock`] it was given, so tests can fix the
//! time and nothing reaches into configuration for it.

/// Where "now" comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Clock {
    #[default]
    System,
    /// Always the same instant (tests).
    Fixed(i64),
}

impl Clock {
    pub fn now(self) -> i64 {
        match self {
            Clock::System => now(),
            Clock::Fixed(t) => t,
        }
    }
}

/// Unix seconds now, from the system clock.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_stands_still_and_the_system_clock_moves_on() {
        assert_eq!(Clock::Fixed(1_795_420_800).now(), 1_795_420_800);
        assert!(Clock::System.now() > 1_795_420_800 - 86_400 * 365 * 10);
    }
}
