//! Time: where Confab reads it from, and `xsd:dateTime` values read the way
//! the API reads them.
//!
//! The API accepts instants with `Z`, with an offset, and with neither; a
//! value without an offset is read in the service's own zone, US Central
//! Standard Time, which it applies as UTC−6 all year (no daylight saving).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// A source of the current instant. Every rule that depends on time reads
/// one (the engine's, the deliverer's), so that tests can swap in a clock
/// they move; the store is handed `now` and never reads the time itself.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that always says the same instant, for tests and for a run of
/// work that must see one instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// The zone the API reads an instant without an offset in: UTC−6.
pub const SERVICE_OFFSET_SECS: i32 = -6 * 3600;

/// Parses an `xsd:dateTime`, returning `None` when the text is not one.
pub fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(with_offset) = DateTime::parse_from_rfc3339(text) {
        return Some(with_offset.with_timezone(&Utc));
    }
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
        .ok()?;
    let service_zone = FixedOffset::east_opt(SERVICE_OFFSET_SECS)?;
    service_zone
        .from_local_datetime(&naive)
        .single()
        .map(|local| local.with_timezone(&Utc))
}

/// Formats an instant as the API writes it: UTC with a `Z`.
pub fn format_instant(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Parses the date forms people put in data extension `Date` fields: ISO
/// dates and date-times, and the US `M/D/YYYY` forms with an optional time.
pub fn parse_calendar_value(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    if let Ok(with_offset) = DateTime::parse_from_rfc3339(text) {
        return Some(with_offset.naive_utc());
    }
    const DATE_TIMES: [&str; 6] = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%m/%d/%Y %I:%M:%S %p",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %H:%M",
    ];
    for format in DATE_TIMES {
        if let Ok(value) = NaiveDateTime::parse_from_str(text, format) {
            return Some(value);
        }
    }
    for format in ["%Y-%m-%d", "%m/%d/%Y"] {
        if let Ok(date) = NaiveDate::parse_from_str(text, format) {
            return date.and_hms_opt(0, 0, 0);
        }
    }
    None
}

/// Formats a stored date the way Marketing Cloud returns data extension
/// dates: `M/D/YYYY h:mm:ss AM`.
pub fn format_calendar_value(value: NaiveDateTime) -> String {
    value.format("%-m/%-d/%Y %-I:%M:%S %p").to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn instants_with_and_without_offsets() {
        let zulu = parse_instant("2026-12-03T18:00:00Z").unwrap();
        let offset = parse_instant("2026-12-03T19:00:00+01:00").unwrap();
        let bare = parse_instant("2026-12-03T12:00:00").unwrap();
        assert_eq!(zulu, offset);
        assert_eq!(zulu, bare, "a bare time is read as UTC-6");
        assert_eq!(parse_instant("tomorrow"), None);
    }

    #[test]
    fn calendar_values_in_common_forms() {
        let iso = parse_calendar_value("2026-12-03").unwrap();
        let us = parse_calendar_value("12/3/2026").unwrap();
        assert_eq!(iso, us);
        assert_eq!(format_calendar_value(iso), "12/3/2026 12:00:00 AM");
        assert!(parse_calendar_value("31/31/2026").is_none());
    }
}
