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

/// Unix seconds of a Japan-time `YYYY-MM-DD HH:MM` (`T` for the space and `/` for `-` are
/// accepted too; full-width digits are read as digits), or `None`.
pub fn parse_local(s: &str) -> Option<i64> {
    let s: String =
        s.trim().chars().map(|c| if ('０'..='９').contains(&c) { char::from(b'0' + (c as u32 - '０' as u32) as u8) } else { c }).collect();
    let s = s.replace('/', "-").replace(['　', ' '], "T").replace('：', ":");
    let (d, t) = s.split_once('T')?;
    let mut d = d.split('-').map(|x| x.parse::<i32>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = t.split(':').map(|x| x.parse::<u8>().ok());
    let (h, min) = (t.next()??, t.next()??);
    let date = time::Date::from_calendar_date(y, time::Month::try_from(u8::try_from(m).ok()?).ok()?, u8::try_from(day).ok()?).ok()?;
    let time = time::Time::from_hms(h, min, 0).ok()?;
    Some(time::PrimitiveDateTime::new(date, time).assume_offset(time::macros::offset!(+9)).unix_timestamp())
}

/// `YYYY-MM-DD HH:MM` in Japan time for unix seconds `t` (what the console's date fields show).
pub fn local_input(t: i64) -> String {
    jst_minutes(t).replace('/', "-")
}

#[cfg(test)]
mod tests {
    #[test]
    fn local_times_round_trip() {
        let t = super::parse_local("2026-12-05T22:00").unwrap();
        assert_eq!(super::jst_minutes(t), "2026/12/05 22:00");
        assert_eq!(super::local_input(t), "2026-12-05 22:00");
        assert_eq!(super::parse_local("2026/12/05 22:00"), Some(t));
        assert_eq!(super::parse_local("2026-13-05T22:00"), None);
        assert_eq!(super::parse_local("nonsense"), None);
    }
}
