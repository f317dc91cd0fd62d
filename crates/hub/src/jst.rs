//! Times as offices read them: Japan time (JST, UTC+9).

/// `YYYY/MM/DD HH:MM` in Japan time for unix seconds `t` (empty if out of range).
pub fn jst_minutes(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .map(|t| {
            let t = t.to_offset(time::macros::offset!(+9));
            format!("{}/{:02}/{:02} {:02}:{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
        })
        .unwrap_or_default()
}
