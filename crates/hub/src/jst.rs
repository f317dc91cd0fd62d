//! The clock, and times as offices read them: Japan time (JST, UTC+9). Every part of the hub
//! asks here for "now" and "today", so that a day means the same thing everywhere.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Now, as unix seconds.
pub fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Today's date in Japan.
pub fn today() -> time::Date {
    OffsetDateTime::now_utc().to_offset(time::macros::offset!(+9)).date()
}

/// Today's date in Japan as `YYYY-MM-DD` (the form licences are stored in).
pub fn today_string() -> String {
    today().to_string()
}

/// RFC 3339 (UTC) for unix seconds `t`, as the API writes times (empty if out of range).
pub fn rfc3339(t: i64) -> String {
    OffsetDateTime::from_unix_timestamp(t).ok().and_then(|d| d.format(&Rfc3339).ok()).unwrap_or_default()
}

/// `YYYY/MM/DD HH:MM` in Japan time for unix seconds `t` (empty if out of range).
pub fn jst_minutes(t: i64) -> String {
    OffsetDateTime::from_unix_timestamp(t)
        .map(|t| {
            let t = t.to_offset(time::macros::offset!(+9));
            format!("{}/{:02}/{:02} {:02}:{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
        })
        .unwrap_or_default()
}
