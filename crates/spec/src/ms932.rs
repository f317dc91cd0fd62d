//! MS932 (Windows-31J, "Shift_JIS" as Windows writes it) — strict both ways.
//!
//! * [`decode`] rejects undefined bytes and user-defined characters (外字, which decode to the
//!   Private Use Area) with their line and byte offset, and tells a UTF-8 file apart from a broken
//!   MS932 one.
//! * [`encode`] rejects characters MS932 cannot hold, with their position. It never writes HTML
//!   character references (`&#12316;`), which is what `encoding_rs::Encoding::encode` silently does.
//!   [`Normalize::Common`] opts into a small, documented mapping of look-alikes (see
//!   [`NORMALIZATION`]).

use crate::diag::{Problem, Rule};
use encoding_rs::SHIFT_JIS;

/// Why a byte sequence was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeFault {
    /// Not defined in MS932 (includes a lead byte at end of file).
    Undefined,
    /// A user-defined character (lead bytes 0xF0–0xF9, the 外字 area).
    Gaiji,
}

/// One rejected byte sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// What is wrong.
    pub fault: DecodeFault,
    /// Physical line (1-based).
    pub line: u32,
    /// Byte offset from the start of the file (0-based).
    pub offset: usize,
    /// The offending bytes.
    pub bytes: Vec<u8>,
}

impl DecodeError {
    /// As a [`Problem`].
    pub fn problem(&self) -> Problem {
        let hex: Vec<String> = self.bytes.iter().map(|b| format!("{b:02X}")).collect();
        let hex = hex.join(" ");
        match self.fault {
            DecodeFault::Undefined => Problem::new(
                Rule::EncUndefinedByte,
                Some(hex.clone()),
                format!("{}行目（先頭から{}バイト目）のバイト {hex} は MS932（Shift_JIS）の文字ではありません", self.line, self.offset + 1),
                format!("line {}, byte offset {}: bytes {hex} are not an MS932 character", self.line, self.offset),
            ),
            DecodeFault::Gaiji => Problem::new(
                Rule::EncGaiji,
                Some(hex.clone()),
                format!(
                    "{}行目（先頭から{}バイト目）に外字（{hex}）があります。外字は相手の事業所で読めないため、通常の文字に置き換えてください",
                    self.line,
                    self.offset + 1
                ),
                format!(
                    "line {}, byte offset {}: user-defined character {hex}; replace it with a standard character",
                    self.line, self.offset
                ),
            ),
        }
    }
}

/// The result of decoding a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The text. When there were errors, each bad sequence is replaced by U+FFFD so that the rest
    /// of the file can still be checked.
    pub text: String,
    /// A UTF-8 BOM was found and removed.
    pub had_bom: bool,
    /// The file looks like UTF-8 rather than MS932 (then `errors` is empty and `text` holds the
    /// UTF-8 reading, for further checks).
    pub utf8: bool,
    /// Every rejected sequence.
    pub errors: Vec<DecodeError>,
}

impl Decoded {
    /// `true` when the file decoded cleanly as MS932.
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty() && !self.utf8
    }
}

fn is_pua(c: char) -> bool {
    ('\u{E000}'..='\u{F8FF}').contains(&c)
}

/// Decodes MS932 strictly. Never fails outright: the findings are in [`Decoded`].
pub fn decode(bytes: &[u8]) -> Decoded {
    let (had_bom, body) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (true, rest),
        None => (false, bytes),
    };
    // A UTF-8 file is the commonest mistake: say so once, not per byte. UTF-8 Japanese can
    // also "decode" as MS932 garbage without a single error, so this test comes first. MS932
    // Japanese text is almost never valid UTF-8 containing Japanese characters.
    if let Ok(text) = std::str::from_utf8(body)
        && text.chars().any(|c| ('\u{3000}'..='\u{9FFF}').contains(&c) || ('\u{FF00}'..='\u{FFEF}').contains(&c))
    {
        return Decoded { text: text.to_owned(), had_bom, utf8: true, errors: Vec::new() };
    }
    if let Some(text) = SHIFT_JIS.decode_without_bom_handling_and_without_replacement(body)
        && !text.chars().any(|c| is_pua(c) || c == '\u{80}')
    {
        return Decoded { text: text.into_owned(), had_bom, utf8: false, errors: Vec::new() };
    }
    slow_decode(body, had_bom)
}

fn slow_decode(body: &[u8], had_bom: bool) -> Decoded {
    let base = if had_bom { 3 } else { 0 };
    let mut text = String::with_capacity(body.len());
    let mut errors = Vec::new();
    let mut line = 1u32;
    let mut i = 0;
    let mut push_err = |fault, i: usize, len: usize, line: u32, text: &mut String| {
        errors.push(DecodeError { fault, line, offset: base + i, bytes: body[i..i + len].to_vec() });
        text.push('\u{FFFD}');
    };
    while i < body.len() {
        let b = body[i];
        match b {
            b'\n' => {
                line += 1;
                text.push('\n');
                i += 1;
            }
            0x00..=0x7F => {
                text.push(b as char);
                i += 1;
            }
            0xA1..=0xDF => {
                // Half-width katakana.
                text.push(char::from_u32(0xFF61 + (b - 0xA1) as u32).unwrap_or('\u{FFFD}'));
                i += 1;
            }
            0x81..=0x9F | 0xE0..=0xFC => {
                let Some(&t) = body.get(i + 1) else {
                    push_err(DecodeFault::Undefined, i, 1, line, &mut text);
                    i += 1;
                    continue;
                };
                if !matches!(t, 0x40..=0x7E | 0x80..=0xFC) {
                    // The trail byte is re-read as its own character (WHATWG behaviour).
                    push_err(DecodeFault::Undefined, i, 1, line, &mut text);
                    i += 1;
                    continue;
                }
                match SHIFT_JIS.decode_without_bom_handling_and_without_replacement(&body[i..i + 2]) {
                    Some(s) if s.chars().any(is_pua) => push_err(DecodeFault::Gaiji, i, 2, line, &mut text),
                    Some(s) => text.push_str(&s),
                    None => push_err(DecodeFault::Undefined, i, 2, line, &mut text),
                }
                i += 2;
            }
            _ => {
                // 0x80, 0xA0, 0xFD–0xFF.
                push_err(DecodeFault::Undefined, i, 1, line, &mut text);
                i += 1;
            }
        }
    }
    Decoded { text, had_bom, utf8: false, errors }
}

/// Opt-in mapping applied by [`encode`] with [`Normalize::Common`], from a character MS932
/// cannot hold to the MS932 character users mean by it.
pub const NORMALIZATION: &[(char, char, &str)] = &[
    ('\u{301C}', '\u{FF5E}', "〜 WAVE DASH → ～ FULLWIDTH TILDE"),
    ('\u{2016}', '\u{2225}', "‖ DOUBLE VERTICAL LINE → ∥ PARALLEL TO"),
    ('\u{2212}', '\u{FF0D}', "− MINUS SIGN → － FULLWIDTH HYPHEN-MINUS"),
    ('\u{00A2}', '\u{FFE0}', "¢ → ￠"),
    ('\u{00A3}', '\u{FFE1}', "£ → ￡"),
    ('\u{00AC}', '\u{FFE2}', "¬ → ￢"),
    ('\u{2014}', '\u{2015}', "— EM DASH → ― HORIZONTAL BAR"),
    ('\u{00A0}', ' ', "NO-BREAK SPACE → SPACE"),
];

/// Whether [`encode`] may replace look-alike characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Normalize {
    /// Reject every character MS932 cannot hold (default).
    #[default]
    Never,
    /// Apply [`NORMALIZATION`] first; reject what is still unmappable.
    Common,
}

/// A character that could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeError {
    /// The character.
    pub ch: char,
    /// Line (1-based).
    pub line: u32,
    /// Character position within the line (1-based).
    pub column: u32,
}

impl EncodeError {
    /// As a [`Problem`].
    pub fn problem(&self) -> Problem {
        let cp = format!("U+{:04X}", self.ch as u32);
        Problem::new(
            Rule::EncUnmappable,
            Some(format!("{} ({cp})", self.ch)),
            format!("{}行目{}文字目の「{}」（{cp}）は MS932 にない文字です。別の文字に置き換えてください", self.line, self.column, self.ch),
            format!("line {}, character {}: '{}' ({cp}) cannot be written in MS932", self.line, self.column, self.ch),
        )
    }
}

/// Encodes text to MS932. Returns every unmappable character (PUA characters included: 外字
/// cannot be exchanged), with its position.
pub fn encode(text: &str, normalize: Normalize) -> Result<Vec<u8>, Vec<EncodeError>> {
    let mapped;
    let text = if normalize == Normalize::Common && text.chars().any(|c| NORMALIZATION.iter().any(|(f, _, _)| *f == c)) {
        mapped = text.chars().map(|c| NORMALIZATION.iter().find(|(f, _, _)| *f == c).map_or(c, |(_, t, _)| *t)).collect::<String>();
        mapped.as_str()
    } else {
        text
    };
    let mut errors = Vec::new();
    // Fast path: the whole text at once.
    let mut encoder = SHIFT_JIS.new_encoder();
    let mut out = Vec::with_capacity(text.len() + text.len() / 2 + 16);
    let mut rest = text;
    loop {
        let cap = encoder.max_buffer_length_from_utf8_without_replacement(rest.len()).unwrap_or(rest.len() * 2 + 16);
        out.reserve(cap);
        let (res, read) = encoder.encode_from_utf8_to_vec_without_replacement(rest, &mut out, true);
        match res {
            encoding_rs::EncoderResult::InputEmpty => break,
            encoding_rs::EncoderResult::OutputFull => {
                rest = &rest[read..];
            }
            encoding_rs::EncoderResult::Unmappable(c) => {
                let consumed = text.len() - rest.len() + read;
                errors.push(position_of(text, consumed - c.len_utf8(), c));
                rest = &rest[read..];
            }
        }
    }
    for (i, c) in text.char_indices() {
        if is_pua(c) && !errors.iter().any(|e| e.ch == c) {
            errors.push(position_of(text, i, c));
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

fn position_of(text: &str, byte: usize, ch: char) -> EncodeError {
    let before = &text[..byte];
    let line = before.matches('\n').count() as u32 + 1;
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    let column = text[line_start..byte].chars().count() as u32 + 1;
    EncodeError { ch, line, column }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ms932_specifics_decode() {
        let d = decode(b"\x81\x60\x87\x40\x87\x8A\xFA\x40\xFB\xFC\x5C");
        assert!(d.is_clean());
        assert_eq!(d.text, "～①㈱ⅰ髙\\");
    }

    #[test]
    fn undefined_and_gaiji_are_located() {
        let d = decode(b"ab\r\ncd\xA0e\r\n\xF0\x40x");
        assert_eq!(d.errors.len(), 2);
        assert_eq!((d.errors[0].fault, d.errors[0].line, d.errors[0].offset), (DecodeFault::Undefined, 2, 6));
        assert_eq!((d.errors[1].fault, d.errors[1].line, d.errors[1].offset), (DecodeFault::Gaiji, 3, 10));
        assert_eq!(d.text, "ab\r\ncd\u{FFFD}e\r\n\u{FFFD}x");
        assert!(d.errors[1].problem().ja.contains("3行目"));
    }

    #[test]
    fn truncated_lead_byte() {
        let d = decode(b"abc\x82");
        assert_eq!(d.errors[0].offset, 3);
    }

    #[test]
    fn utf8_is_recognised_and_bom_flagged() {
        let d = decode("\u{FEFF}介護".as_bytes());
        assert!(d.utf8 && d.had_bom);
        let d = decode(b"\xEF\xBB\xBF202407,1");
        assert!(d.had_bom && !d.utf8 && d.errors.is_empty());
    }

    #[test]
    fn strict_encode_reports_positions() {
        let e = encode("あ\nい〜う𠮷", Normalize::Never).unwrap_err();
        assert_eq!(e.len(), 2);
        assert_eq!((e[0].ch, e[0].line, e[0].column), ('〜', 2, 2));
        assert_eq!((e[1].ch, e[1].line, e[1].column), ('𠮷', 2, 4));
        assert!(!e[0].problem().ja.contains("&#"));
    }

    #[test]
    fn normalisation_is_opt_in() {
        assert!(encode("10〜12時", Normalize::Never).is_err());
        let b = encode("10〜12時", Normalize::Common).unwrap();
        assert_eq!(decode(&b).text, "10～12時");
        assert!(encode("\u{E000}", Normalize::Common).is_err());
    }
}
