//! Timestamps as the owner sources spell them, and as `owners.json` stores
//! them. The API writes RFC 3339 (`2019-12-13T13:46:41.123456Z` or
//! `+00:00`), the dump writes PostgreSQL's text form (`2019-12-13
//! 13:46:41.123456`, sometimes with `+00`), and `metadata.json` writes RFC
//! 3339 with nanoseconds. All are UTC; fractions are dropped. `owners.json`
//! always writes `YYYY-MM-DDTHH:MM:SSZ` ([`crate::output::format_utc`]).

use crate::output::format_utc;
use crate::registry::index::days_from_civil;

/// Seconds since the epoch of a UTC timestamp in any of the forms above;
/// `None` for anything else (including explicit non-zero offsets, which no
/// source uses).
pub fn parse_timestamp(s: &str) -> Option<i64> {
    parse_timestamp_bytes(s.trim().as_bytes())
}

/// [`parse_timestamp`] over bytes (the dump reader's hot path).
pub fn parse_timestamp_bytes(b: &[u8]) -> Option<i64> {
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let mut v = 0i64;
        for &c in &b[r] {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
        }
        Some(v)
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &b[19..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let digits = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        rest = &frac[digits..];
    }
    let utc = matches!(
        rest,
        b"" | b"Z" | b"z" | b"+00" | b"+00:00" | b"+0000" | b"-00" | b"-00:00" | b" UTC" | b" +00"
    );
    if !utc || !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se)
}

/// Serde for an `i64` timestamp written as `YYYY-MM-DDTHH:MM:SSZ`.
pub mod required {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// Write as RFC 3339 UTC.
    pub fn serialize<S: Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_utc(*t))
    }

    /// Read any form [`super::parse_timestamp`] accepts.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_timestamp(&s).ok_or_else(|| D::Error::custom(format!("not a UTC timestamp: {s:?}")))
    }
}

/// Serde for an `Option<i64>` timestamp (null when absent).
pub mod opt {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// Write as RFC 3339 UTC, or null.
    pub fn serialize<S: Serializer>(t: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&super::format_utc(*t)),
            None => s.serialize_none(),
        }
    }

    /// Read null or any form [`super::parse_timestamp`] accepts.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => super::parse_timestamp(&s)
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("not a UTC timestamp: {s:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_form() {
        let t = 1_576_244_801; // 2019-12-13T13:46:41Z
        for s in [
            "2019-12-13T13:46:41Z",
            "2019-12-13T13:46:41.123456Z",
            "2019-12-13T13:46:41+00:00",
            "2019-12-13T13:46:41.810126238Z",
            "2019-12-13 13:46:41.123456",
            "2019-12-13 13:46:41",
            "2019-12-13 13:46:41.5+00",
        ] {
            assert_eq!(parse_timestamp(s), Some(t), "{s}");
        }
        for s in ["2019-12-13", "2019-12-13T13:46:41+02:00", "2019-13-13T13:46:41Z", "x"] {
            assert_eq!(parse_timestamp(s), None, "{s}");
        }
        assert_eq!(format_utc(t), "2019-12-13T13:46:41Z");
    }
}
