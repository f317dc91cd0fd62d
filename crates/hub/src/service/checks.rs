//! Checks at the door of a send. Each refusal has a stable code and a specific Japanese message;
//! a refused send stores nothing (the caller writes blobs and rows only after these pass).

use crate::error::ApiError;
use crate::store::Office;
use renkei_protocol::{Contact, ErrorCode, ErrorDetail};
use renkei_spec::diag::{Diagnostic, Severity};
use renkei_spec::name::{self, Profile};

/// One uploaded file.
#[derive(Debug, Clone)]
pub struct Upload {
    /// File name as sent (no directory).
    pub name: String,
    /// Contents; for a spooled upload only its first bytes (enough to tell its type).
    pub bytes: Vec<u8>,
    /// The whole of a large attachment, written to the blob store's temporary folder as it
    /// arrived rather than held in memory (standard CSV files are always held: they are read
    /// by the validator).
    pub spooled: Option<std::sync::Arc<crate::blobs::Spooled>>,
}

impl Upload {
    /// A file held in memory.
    pub fn in_memory(name: String, bytes: Vec<u8>) -> Upload {
        Upload { name, bytes, spooled: None }
    }

    /// Its size in bytes.
    pub fn len(&self) -> usize {
        self.spooled.as_ref().map_or(self.bytes.len(), |s| s.size)
    }

    /// `true` for an empty file.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Its SHA-256 (hex).
    pub fn sha256(&self) -> String {
        self.spooled.as_ref().map_or_else(|| crate::auth::sha256_hex(&self.bytes), |s| s.sha256.clone())
    }
}

/// `true` for a file the checks read whole: a standard CSV file (the validator) and a text file
/// (its encoding, to the last byte). Any other attachment is told by its first bytes.
pub fn read_whole(file_name: &str) -> bool {
    looks_standard(file_name) || is_txt(file_name)
}

fn is_txt(file_name: &str) -> bool {
    file_name.rsplit_once('.').is_some_and(|(_, e)| e.eq_ignore_ascii_case("txt"))
}

/// `true` when a file name says it is (or means to be) a standard CSV file.
pub fn looks_standard(file_name: &str) -> bool {
    match name::parse(file_name, Profile::LENIENT) {
        Ok(_) => true,
        Err(e) => e.kind.is_some() || file_name.rsplit_once('.').is_some_and(|(_, x)| x.eq_ignore_ascii_case("csv")),
    }
}

/// What a file turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    /// Standard kind prefix (UPPLAN, …), `None` for attachments.
    pub kind: Option<String>,
    /// Service month of the name.
    pub service_month: Option<String>,
    /// CSVバージョン of a standard CSV file (its first record's field 1).
    pub csv_version: Option<String>,
}

/// The CSVバージョン a standard CSV file declares: its first field (six digits, quoted or not;
/// every record carries the same one, a rule the validator checks).
pub fn csv_version(bytes: &[u8]) -> Option<String> {
    let b = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let b = b.strip_prefix(b"\"").unwrap_or(b);
    let v = b.get(..6)?;
    let next = b.get(6).copied();
    (v.iter().all(u8::is_ascii_digit) && matches!(next, Some(b',' | b'"' | b'\r' | b'\n') | None))
        .then(|| String::from_utf8_lossy(v).into_owned())
}

/// Content types an attachment may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// PDF.
    Pdf,
    /// JPEG.
    Jpeg,
    /// PNG.
    Png,
    /// GIF.
    Gif,
    /// Plain text (UTF-8 or MS932, no control characters but tab and line breaks).
    Text,
}

impl Sniffed {
    /// MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            Sniffed::Pdf => "application/pdf",
            Sniffed::Jpeg => "image/jpeg",
            Sniffed::Png => "image/png",
            Sniffed::Gif => "image/gif",
            Sniffed::Text => "text/plain",
        }
    }
}

/// Identifies an attachment by its content; `Err` names what it looks like when refused.
pub fn sniff(name: &str, b: &[u8]) -> Result<Sniffed, &'static str> {
    if b.starts_with(b"%PDF-") {
        return Ok(Sniffed::Pdf);
    }
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(Sniffed::Jpeg);
    }
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(Sniffed::Png);
    }
    if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        return Ok(Sniffed::Gif);
    }
    if b.starts_with(b"PK\x03\x04") || b.starts_with(b"PK\x05\x06") {
        return Err("Word・Excel・PowerPoint（.docx など）または ZIP 圧縮ファイル");
    }
    if b.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return Err("Word・Excel・PowerPoint（.doc・.xls・.ppt）");
    }
    if b.starts_with(b"MZ") || b.starts_with(b"\x7fELF") || b.starts_with(&[0xCF, 0xFA, 0xED, 0xFE]) || b.starts_with(b"#!") {
        return Err("実行ファイル・スクリプト");
    }
    if b.starts_with(b"Rar!")
        || b.starts_with(&[0x37, 0x7A, 0xBC, 0xAF])
        || b.starts_with(&[0x1F, 0x8B])
        || b.starts_with(b"BZh")
        || b.starts_with(&[0xFD, b'7', b'z', b'X', b'Z'])
    {
        return Err("圧縮ファイル");
    }
    let no_controls = |s: &str| !s.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\r' | '\n'));
    if is_txt(name) {
        if let Ok(s) = std::str::from_utf8(b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b))
            && no_controls(s)
        {
            return Ok(Sniffed::Text);
        }
        let d = renkei_spec::ms932::decode(b);
        if d.is_clean() && no_controls(&d.text) {
            return Ok(Sniffed::Text);
        }
    }
    Err("PDF・画像（JPEG・PNG・GIF）・テキスト以外のファイル")
}

fn detail(d: &Diagnostic) -> ErrorDetail {
    ErrorDetail { file: d.file.clone(), item: d.item.clone(), rule: Some(d.rule.id().to_owned()), message: d.message.clone() }
}

fn refuse(code: ErrorCode, ja: &str, en: &str, details: Vec<ErrorDetail>) -> ApiError {
    ApiError::new(code, ja, en).with_details(details)
}

/// Checks a send from `sender` to `recipient`. Returns the classification of each file and the
/// record-level findings that do not block the send.
pub fn check_send(sender: &Office, recipient: &Office, files: &[Upload]) -> Result<(Vec<Classified>, Vec<ErrorDetail>), ApiError> {
    check(sender, recipient, files, Completeness::Whole)
}

/// Whether a set of files must be complete send units (a send) or may be part of one (a
/// draft being put together: every file is checked as the send will check it, the units'
/// completeness only when it is sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completeness {
    /// A send: complete units.
    Whole,
    /// A draft: files may still be missing.
    Partial,
}

/// A message carries files, a text, or a contact (今月利用なし and the like): one rule for
/// sends and drafts.
pub fn require_content(note: &str, files: usize, contact: Option<&Contact>) -> Result<(), ApiError> {
    note_length(note)?;
    if files == 0 && note.trim().is_empty() && contact.is_none() {
        return Err(refuse(
            ErrorCode::Empty,
            "送るファイルもメッセージもありません。ファイルを選ぶか、メッセージを書くか、連絡の種類を選んでください",
            "a message needs a file, a text or a contact",
            vec![],
        ));
    }
    Ok(())
}

/// A contact's fields as a form carries them (multipart `contact`, `contact_month`,
/// `contact_person`, `contact_units`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactFields {
    /// `contact`: the kind's wire name (`no_use`, `over_limit`, `plan_change`).
    pub kind: String,
    /// `contact_month`: 対象年月.
    pub month: String,
    /// `contact_person`: 利用者.
    pub person: String,
    /// `contact_units`: 超過単位数.
    pub units: String,
}

impl ContactFields {
    fn is_blank(&self) -> bool {
        [&self.kind, &self.month, &self.person, &self.units].iter().all(|f| f.trim().is_empty())
    }
}

/// The contact a form describes, checked by the one rule ([`Contact::check`]): `None` when the
/// form has no contact fields at all; refused when it has fields but no kind, or a field its
/// kind does not take or needs.
pub fn contact(fields: &ContactFields) -> Result<Option<Contact>, ApiError> {
    if fields.is_blank() {
        return Ok(None);
    }
    if fields.kind.trim().is_empty() {
        return Err(refuse(
            ErrorCode::ContactInvalid,
            "対象年月・利用者・単位数は連絡のための項目です。連絡の種類（今月利用なし など）を選んでください",
            "contact fields without a contact kind",
            vec![ErrorDetail {
                file: None,
                item: Some("kind".into()),
                rule: Some("contact".into()),
                message: "連絡の種類を選んでください".into(),
            }],
        ));
    }
    Contact::from_fields(&fields.kind, &fields.month, &fields.person, &fields.units).map(Some).map_err(contact_refusal)
}

/// A stored or sent contact, checked again (the API's JSON for drafts).
pub fn check_contact(c: &Contact) -> Result<(), ApiError> {
    c.check().map_err(contact_refusal)
}

fn contact_refusal(p: renkei_protocol::contacts::ContactProblem) -> ApiError {
    refuse(
        ErrorCode::ContactInvalid,
        &p.message,
        &format!("contact: {} is missing or invalid", p.field),
        vec![ErrorDetail { file: None, item: Some(p.field.to_owned()), rule: Some("contact".into()), message: p.message.clone() }],
    )
}

/// The longest note (メッセージ), in characters.
pub const NOTE_MAX_CHARS: usize = 2000;

/// A note is at most [`NOTE_MAX_CHARS`] characters: refused, never cut short.
pub fn note_length(note: &str) -> Result<(), ApiError> {
    let chars = note.chars().count();
    if chars > NOTE_MAX_CHARS {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            format!("メッセージは2,000文字までです（{chars}文字あります）。短くするか、ファイルにして添付してください"),
            format!("note too long: {chars} characters, at most {NOTE_MAX_CHARS}"),
        ));
    }
    Ok(())
}

/// The door's checks; see [`check_send`].
pub fn check(
    sender: &Office,
    recipient: &Office,
    files: &[Upload],
    completeness: Completeness,
) -> Result<(Vec<Classified>, Vec<ErrorDetail>), ApiError> {
    if files.is_empty() {
        // A contact without files (今月利用なし and the like): nothing to check here; whether
        // the message says anything at all is the mailbox's rule (`require_content`).
        return Ok((Vec::new(), Vec::new()));
    }
    let mut standard: Vec<(String, Vec<u8>)> = Vec::new();
    let mut classes = Vec::with_capacity(files.len());
    let mut refused = Vec::new();
    for f in files {
        if looks_standard(&f.name) {
            standard.push((f.name.clone(), f.bytes.clone()));
            classes.push(None);
        } else {
            match sniff(&f.name, &f.bytes) {
                Ok(_) => classes.push(Some(Classified { kind: None, service_month: None, csv_version: None })),
                Err(what) => {
                    refused.push(ErrorDetail {
                        file: Some(f.name.clone()),
                        item: None,
                        rule: None,
                        message: format!("{what}は送れません。送れるのは PDF・画像（JPEG・PNG・GIF）・テキストと標準仕様のCSVです"),
                    });
                    classes.push(None);
                }
            }
        }
    }
    if !refused.is_empty() {
        return Err(refuse(ErrorCode::AttachmentRefused, "送れない種類のファイルがあります", "attachment type refused", refused));
    }

    let versions: Vec<Option<String>> = standard.iter().map(|(_, b)| csv_version(b)).collect();
    // The registry is the truth: both parties are registered offices, so a check digit of
    // theirs that fails is a warning, not a refusal (real, published numbers fail it).
    let report = renkei_spec::check_with(standard, &[sender.number.as_str(), recipient.number.as_str()]);
    // 1. Names.
    let name_errors: Vec<ErrorDetail> = report
        .files
        .iter()
        .flat_map(|f| f.diagnostics.iter())
        .filter(|d| d.severity == Severity::Error && d.rule.id().starts_with("name."))
        .map(detail)
        .collect();
    if !name_errors.is_empty() {
        return Err(refuse(
            ErrorCode::FileNameInvalid,
            "ファイル名が標準仕様に合っていません",
            "file names break the standard",
            name_errors,
        ));
    }
    // 2. Routing: the sender is the sending office, the receiver the recipient.
    let mut wrong_sender = Vec::new();
    let mut wrong_receiver = Vec::new();
    for f in &report.files {
        let Some(n) = &f.name else { continue };
        if n.sender.office.as_str() != sender.number {
            wrong_sender.push(ErrorDetail {
                file: Some(f.file.clone()),
                item: Some("送信元事業所番号".into()),
                rule: None,
                message: format!("送信元事業所番号 {} がこの事業所（{}）ではありません", n.sender.office, sender.number),
            });
        } else if let Some(k) = n.sender.kind
            && !sender.kinds.iter().any(|x| x == k.as_str())
        {
            wrong_sender.push(ErrorDetail {
                file: Some(f.file.clone()),
                item: Some("送信元サービス種類コード".into()),
                rule: None,
                message: format!("送信元サービス種類コード {k} はこの事業所の登録（{}）にありません", sender.kinds.join("・")),
            });
        }
        if n.receiver.office.as_str() != recipient.number {
            wrong_receiver.push(ErrorDetail {
                file: Some(f.file.clone()),
                item: Some("送信先事業所番号".into()),
                rule: None,
                message: format!("送信先事業所番号 {} が宛先（{}）と違います", n.receiver.office, recipient.number),
            });
        } else if let Some(k) = n.receiver.kind
            && !recipient.kinds.iter().any(|x| x == k.as_str())
        {
            wrong_receiver.push(ErrorDetail {
                file: Some(f.file.clone()),
                item: Some("送信先サービス種類コード".into()),
                rule: None,
                message: format!("送信先サービス種類コード {k} は宛先の登録（{}）にありません", recipient.kinds.join("・")),
            });
        }
    }
    if !wrong_sender.is_empty() {
        return Err(refuse(
            ErrorCode::SenderMismatch,
            "ファイル名の送信元がこの事業所ではありません",
            "a file name's sender is not the sending office",
            wrong_sender,
        ));
    }
    if !wrong_receiver.is_empty() {
        return Err(refuse(
            ErrorCode::ReceiverMismatch,
            "ファイル名の送信先が宛先の事業所と違います",
            "a file name's receiver is not the recipient",
            wrong_receiver,
        ));
    }
    // 3. Images must be JPEG by content; send units must be complete.
    let not_jpeg: Vec<ErrorDetail> =
        report.files.iter().flat_map(|f| f.diagnostics.iter()).filter(|d| d.rule.id() == "file.not-jpeg").map(detail).collect();
    if !not_jpeg.is_empty() {
        return Err(refuse(ErrorCode::AttachmentRefused, "家族構成画像が JPEG ではありません", "family image is not a JPEG", not_jpeg));
    }
    let unit_errors: Vec<ErrorDetail> = report
        .unit_diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error && d.rule.id() != "unit.unlinked-record")
        .map(detail)
        .collect();
    if !unit_errors.is_empty() && completeness == Completeness::Whole {
        return Err(refuse(
            ErrorCode::SendUnitInvalid,
            "添付いただいたファイルの組み合わせが、ケアプランデータ連携の送信単位になっていません",
            "send units incomplete or mixed",
            unit_errors,
        ));
    }
    // Record-level findings travel as warnings.
    let warnings: Vec<ErrorDetail> =
        report.diagnostics().filter(|d| d.severity != Severity::Info && !d.rule.id().starts_with("name.")).map(detail).collect();

    let mut std_iter = report.files.iter();
    let mut std_versions = versions.into_iter();
    let classes = classes
        .into_iter()
        .map(|c| match c {
            Some(c) => c,
            None => {
                let f = std_iter.next().expect("one report per standard file");
                let version = std_versions.next().flatten();
                Classified {
                    kind: f.kind.map(|k| k.prefix().to_owned()),
                    service_month: f.name.as_ref().and_then(|n| n.service_month()).map(|m| m.to_string()),
                    csv_version: version.filter(|_| f.kind.is_some_and(|k| k.is_csv())),
                }
            }
        })
        .collect();
    Ok((classes, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csv_version_is_the_first_field() {
        assert_eq!(csv_version(b"202407,1,2\r\n").as_deref(), Some("202407"));
        assert_eq!(csv_version(b"\"202208\",\"1\"\r\n").as_deref(), Some("202208"));
        assert_eq!(csv_version(b"\xef\xbb\xbf202407,1").as_deref(), Some("202407"));
        assert_eq!(csv_version(b"2024071,1"), None);
        assert_eq!(csv_version(b"20240"), None);
        assert_eq!(csv_version(b""), None);
        assert_eq!(csv_version("２０２４０７,".as_bytes()), None);
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff("a.pdf", b"%PDF-1.7\n"), Ok(Sniffed::Pdf));
        assert_eq!(sniff("a.png", b"\x89PNG\r\n\x1a\n...."), Ok(Sniffed::Png));
        assert_eq!(sniff("a.txt", "連絡事項\r\n".as_bytes()), Ok(Sniffed::Text));
        assert_eq!(sniff("a.txt", b"\x98\x41\x97\x8d"), Ok(Sniffed::Text));
        assert!(sniff("a.docx", b"PK\x03\x04....").unwrap_err().contains("Word"));
        assert!(sniff("a.pdf", b"PK\x03\x04....").unwrap_err().contains("ZIP"));
        assert!(sniff("a.exe", b"MZ\x90\x00").unwrap_err().contains("実行"));
        assert!(sniff("a.txt", b"\x00\x01\x02").is_err());
        assert!(sniff("a.csv.bin", b"hello").is_err());
    }
}
