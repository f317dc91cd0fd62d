//! Licences (ライセンス): an office exchanges files only while its licence is valid — to send, its
//! own licence; to be sent to, the recipient's. One rule for both sides, by the date in Japan.
//! An office whose licence lapsed still reads and fetches what it already received.

use crate::store::Office;

/// Today's date in Japan (`YYYY-MM-DD`), the day licences are counted in.
pub fn today_jst() -> String {
    time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+9)).date().to_string()
}

/// `true` when `office`'s licence is valid on `today` (`YYYY-MM-DD`, Japan).
pub fn is_valid(office: &Office, today: &str) -> bool {
    office.license_until.as_deref().is_some_and(|u| u >= today)
}

/// Why an exchange is refused for licence reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LicenceRefusal {
    /// The sending office never applied (利用申請).
    SenderNeverApplied,
    /// The sending office's licence ended on this date.
    SenderLapsed(String),
    /// The recipient has no valid licence (or is not registered).
    RecipientNotParticipating,
}

impl LicenceRefusal {
    /// What the office reads (Japanese).
    pub fn message(&self) -> String {
        match self {
            LicenceRefusal::SenderNeverApplied => {
                "この事業所はまだ利用申請をしていないため、送信できません。ポータルの「利用申請」から申請してください".into()
            }
            LicenceRefusal::SenderLapsed(until) => format!(
                "この事業所のライセンスの有効期限（{until}）が過ぎているため、送信できません。ポータルの「ライセンス」で更新してください"
            ),
            LicenceRefusal::RecipientNotParticipating => "入力された番号はケアプランデータ連携システムに対応していません".into(),
        }
    }
}

/// May `sender` send to `recipient` on `today`? The sender's licence is checked first, so that
/// an office learns about its own licence rather than blaming its partner.
pub fn may_exchange(sender: &Office, recipient: &Office, today: &str) -> Result<(), LicenceRefusal> {
    if !is_valid(sender, today) {
        return Err(match &sender.license_until {
            None => LicenceRefusal::SenderNeverApplied,
            Some(u) => LicenceRefusal::SenderLapsed(u.clone()),
        });
    }
    if !is_valid(recipient, today) {
        return Err(LicenceRefusal::RecipientNotParticipating);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn office(until: Option<&str>) -> Office {
        Office { number: "1371000010".into(), name: "x".into(), kinds: vec![], license_until: until.map(Into::into) }
    }

    #[test]
    fn both_sides_need_a_valid_licence() {
        let (ok, lapsed, never) = (office(Some("2026-12-31")), office(Some("2026-12-02")), office(None));
        assert_eq!(may_exchange(&ok, &ok, "2026-12-03"), Ok(()));
        assert_eq!(may_exchange(&ok, &office(Some("2026-12-03")), "2026-12-03"), Ok(()), "valid through its last day");
        assert_eq!(may_exchange(&lapsed, &ok, "2026-12-03"), Err(LicenceRefusal::SenderLapsed("2026-12-02".into())));
        assert_eq!(may_exchange(&never, &ok, "2026-12-03"), Err(LicenceRefusal::SenderNeverApplied));
        assert_eq!(may_exchange(&ok, &lapsed, "2026-12-03"), Err(LicenceRefusal::RecipientNotParticipating));
        assert!(LicenceRefusal::SenderLapsed("2026-12-02".into()).message().contains("ライセンスの有効期限（2026-12-02）が過ぎている"));
    }
}
