//! `Duration` settings written as whole numbers of one unit, the way
//! `keyward.toml` has always had them: the key names the unit
//! (`hold_hours = 24`), the field holds a `Duration`. Too large a number
//! saturates, and `Config::validate` then refuses it with its limit.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

macro_rules! unit {
    ($name:ident, $seconds:expr) => {
        #[doc = concat!("A `Duration` as a whole number of ", stringify!($name), ".")]
        pub mod $name {
            use super::*;

            /// Writes the whole number of units.
            pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_u64(d.as_secs() / $seconds)
            }

            /// Reads a whole number of units.
            pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
                let n = u64::deserialize(d)?;
                Ok(Duration::from_secs(n.saturating_mul($seconds)))
            }
        }
    };
}

unit!(seconds, 1);
unit!(minutes, 60);
unit!(hours, 3_600);

/// A `Duration` as a whole number of milliseconds.
pub mod millis {
    use super::*;

    /// Writes the whole number of milliseconds.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// Reads a whole number of milliseconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}
