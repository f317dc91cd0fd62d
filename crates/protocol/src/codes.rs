//! Enrolment codes (端末登録コード): twelve digits in three groups (`1234-5678-9012`), the last a
//! check digit (Luhn), so that a mistyped code is caught on the PC before anything else is
//! asked or sent. One rule for the hub that issues and takes them and the client that reads
//! them from the clerk.

/// The digits of a typed code: full-width digits taken as digits, spaces and hyphens (of any
/// width) dropped. Other characters are kept, so that [`problem`] can name them.
pub fn normalize(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32),
            ' ' | '\u{3000}' | '-' | '－' | 'ー' | '‐' | '\t' => None,
            c => Some(c),
        })
        .collect()
}

/// The Luhn check digit of `digits` (ASCII digits).
pub fn check_digit(digits: &str) -> char {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

/// A code as shown: `dddd-dddd-dddd`, from eleven random digits and their check digit.
pub fn with_check_digit(eleven: &str) -> String {
    let d = format!("{eleven}{}", check_digit(eleven));
    format!("{}-{}-{}", &d[..4], &d[4..8], &d[8..])
}

/// What is wrong with a typed code (Japanese), or `None` when it may be one.
pub fn problem(typed: &str) -> Option<String> {
    let d = normalize(typed);
    if let Some(c) = d.chars().find(|c| !c.is_ascii_digit()) {
        return Some(format!("端末登録コードは数字だけです（「{c}」が入っています）。用紙のとおりに入れてください"));
    }
    if d.len() != 12 {
        return Some(format!("端末登録コードは数字12桁です（入力は{}桁）。用紙のとおりに入れてください", d.len()));
    }
    if check_digit(&d[..11]) != d.as_bytes()[11] as char {
        return Some("端末登録コードに打ち間違いがあるようです（確認用の数字が合いません）。用紙のとおりに入れてください".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codes_carry_a_check_digit() {
        let c = with_check_digit("12345678901");
        assert_eq!(c.len(), 14);
        assert_eq!(problem(&c), None);
        assert_eq!(problem(&c.replace('-', " ")), None);
        let wide: String = c
            .chars()
            .map(|ch| if ch.is_ascii_digit() { char::from_u32(ch as u32 - '0' as u32 + '０' as u32).unwrap() } else { 'ー' })
            .collect();
        assert_eq!(problem(&wide), None, "full-width as typed on a Japanese keyboard");
        assert!(problem("1234-5678-901").unwrap().contains("11桁"));
        assert!(problem("1234-5678-901O").unwrap().contains("「O」"));
        assert_eq!(check_digit("7992739871"), '3', "the textbook Luhn example");
    }

    proptest! {
        #[test]
        fn one_wrong_digit_is_always_caught(eleven in "[0-9]{11}", pos in 0usize..12, delta in 1u8..10) {
            let c = normalize(&with_check_digit(&eleven));
            let mut b = c.into_bytes();
            b[pos] = b'0' + (b[pos] - b'0' + delta) % 10;
            let typo = String::from_utf8(b).unwrap();
            prop_assert!(problem(&typo).is_some());
        }

        #[test]
        fn any_text_is_answered_never_panics(s in "\\PC{0,30}") {
            let _ = problem(&s);
        }
    }
}
