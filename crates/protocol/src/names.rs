//! File names that may travel: the one rule the hub applies at its door and the client applies
//! to every name it writes, so that a name is safe on Windows, macOS and Linux alike.

/// Longest name, in bytes of UTF-8 (what every common file system holds).
pub const MAX_NAME_BYTES: usize = 255;

/// Characters Windows refuses in names (and `/`, the separator everywhere).
const RESERVED: &[char] = &['\\', '/', ':', '*', '?', '"', '<', '>', '|'];

/// Control characters, and the invisible formatting characters that make a name read other
/// than it is (bidirectional overrides, zero-width characters, BOM).
fn is_hidden_or_control(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}' | '\u{feff}' | '\u{2028}' | '\u{2029}')
}

/// `CON`, `PRN`, `AUX`, `NUL`, `COM1`–`COM9`, `LPT1`–`LPT9` (also with any extension, and the
/// superscript digits Windows treats alike).
fn is_device_name(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or("").trim_end_matches(' ').to_ascii_uppercase();
    matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.chars().count() == 4
            && stem.chars().nth(3).is_some_and(|c| matches!(c, '1'..='9' | '¹' | '²' | '³')))
}

/// What is wrong with `name` as a file name (Japanese), or `None` when it may travel.
pub fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("ファイル名がありません");
    }
    if name.len() > MAX_NAME_BYTES {
        return Some("ファイル名が長すぎます（255バイトまで。全角なら約85文字）");
    }
    if name.chars().any(is_hidden_or_control) {
        return Some("ファイル名に制御文字・見えない文字（文字の向きを変える文字など）が含まれています");
    }
    if name.contains(RESERVED) {
        return Some("ファイル名に使えない記号（\\ / : * ? \" < > |）が含まれています");
    }
    if name.starts_with(['.', ' ']) || name.ends_with(['.', ' ']) {
        return Some("ファイル名の先頭や末尾に「.」や空白は使えません");
    }
    if is_device_name(name) {
        return Some("CON・PRN・AUX・NUL・COM1・LPT1 などは Windows で使えないファイル名です");
    }
    None
}

/// `name` made safe to write on any system: reserved and invisible characters become `_`,
/// leading and trailing dots and spaces go, Windows device names get a `_` in front, and an
/// overlong name is shortened keeping its extension. A safe name is returned unchanged.
pub fn safe_name(name: &str) -> String {
    if name_problem(name).is_none() {
        return name.to_owned();
    }
    let mut s: String = name.chars().map(|c| if is_hidden_or_control(c) || RESERVED.contains(&c) { '_' } else { c }).collect();
    s = s.trim_matches(['.', ' ']).to_owned();
    if s.is_empty() {
        s = "file".into();
    }
    if is_device_name(&s) {
        s.insert(0, '_');
    }
    if s.len() > MAX_NAME_BYTES {
        let ext = s.rfind('.').map(|i| s[i..].to_owned()).filter(|e| e.len() <= 16).unwrap_or_default();
        let mut stem = s[..s.len() - ext.len()].to_owned();
        while stem.len() + ext.len() > MAX_NAME_BYTES {
            stem.pop();
        }
        s = format!("{}{ext}", stem.trim_end_matches(['.', ' ']));
    }
    debug_assert!(name_problem(&s).is_none(), "{s:?}");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_break_some_system_are_refused() {
        for ok in ["UPPLAN_202506_1371000010_1372000024_20250525100000.CSV", "連絡.pdf", "a b.txt", "CONSENT.txt", "COM10.txt", "é.txt"]
        {
            assert_eq!(name_problem(ok), None, "{ok}");
        }
        let long = "あ".repeat(86) + ".txt";
        for bad in [
            "",
            "CON.txt",
            "con",
            "nul.pdf",
            "COM1.csv",
            "lpt9",
            "COM¹.txt",
            "C:evil.pdf",
            "a/b.txt",
            "a\\b.txt",
            "..",
            ".hidden",
            "trailing ",
            "trailing.",
            "evil\u{202e}fdp.exe",
            "zero\u{200b}width.txt",
            "tab\there.txt",
            "new\nline.txt",
            long.as_str(),
        ] {
            assert!(name_problem(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn safe_names_are_safe_and_keep_what_they_can() {
        assert_eq!(safe_name("連絡.pdf"), "連絡.pdf");
        assert_eq!(safe_name("CON.txt"), "_CON.txt");
        assert_eq!(safe_name("C:evil.pdf"), "C_evil.pdf");
        assert_eq!(safe_name("evil\u{202e}fdp.exe"), "evil_fdp.exe");
        assert_eq!(safe_name(".."), "file");
        assert_eq!(safe_name(" trailing. "), "trailing");
        let long = safe_name(&("あ".repeat(200) + ".csv"));
        assert!(long.len() <= MAX_NAME_BYTES && long.ends_with(".csv"));
    }

    proptest::proptest! {
        #[test]
        fn any_name_becomes_safe(name in "\\PC{0,120}|[./\\\\:*?<>| \\u{202e}\\u{200b}a-zあ]{0,300}") {
            let s = safe_name(&name);
            proptest::prop_assert!(name_problem(&s).is_none(), "{:?} → {:?}", name, s);
        }
    }
}
