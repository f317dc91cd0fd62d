//! 新規作成 and the verdicts shown as files are dropped.

use super::Layout;
use askama::Template;

/// The kinds of 連絡 (the form's radio buttons): (value, label).
pub const PURPOSES: [(&str, &str); 4] = [
    ("free", "通常の送信・自由記入"),
    ("no_use", "今月利用なし"),
    ("over_limit", "区分支給限度額超過の連絡"),
    ("plan_change", "計画変更の連絡"),
];

/// The national system's message for a file name that breaks the standard.
pub const NAME_HEADLINE: &str = "添付ファイル名の形式に誤りがあります。標準仕様の送信単位に従ったファイルを添付してください。";

/// 新規作成 (and 下書きの編集).
#[derive(Debug, Template)]
#[template(path = "compose.html")]
pub struct ComposePage {
    /// The layout.
    pub l: Layout,
    /// 送信先の事業所番号.
    pub to: String,
    /// 連絡の種類 ([`PURPOSES`]).
    pub purpose: String,
    /// The choices of 連絡の種類.
    pub purposes: Vec<(String, String)>,
    /// 対象年月.
    pub month: String,
    /// 利用者.
    pub subject: String,
    /// 超過単位数.
    pub units: String,
    /// メッセージ.
    pub note: String,
    /// What went wrong.
    pub error: Option<String>,
    /// What the last action did.
    pub flash: Option<String>,
    /// The draft being edited (下書き一覧 → 開く), empty for 新規作成.
    pub draft: String,
    /// The draft's version (changes by others are not overwritten).
    pub version: i64,
    /// The draft's files on the hub: (index, name).
    pub existing: Vec<(u32, String)>,
    /// Files of a refused form, held: the key and their names.
    pub held: String,
    /// The held files' names.
    pub held_files: Vec<String>,
    /// 一時保存 (drafts) is offered.
    pub drafts: bool,
    /// The form's own idempotency key (a double click sends once), empty where the door keeps
    /// its own.
    pub idem: String,
}

impl ComposePage {
    /// An empty form.
    pub fn new(l: Layout) -> ComposePage {
        ComposePage {
            drafts: l.menu.iter().any(|m| m.nav == "drafts"),
            l,
            to: String::new(),
            purpose: "free".into(),
            purposes: PURPOSES.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect(),
            month: String::new(),
            subject: String::new(),
            units: String::new(),
            note: String::new(),
            error: None,
            flash: None,
            draft: String::new(),
            version: 0,
            existing: Vec::new(),
            held: String::new(),
            held_files: Vec::new(),
            idem: String::new(),
        }
    }
}

/// The verdicts of the files dropped into 新規作成 (htmx fragment).
#[derive(Debug, Template)]
#[template(path = "verdicts.html")]
pub struct VerdictsPage {
    /// One per file.
    pub files: Vec<VerdictView>,
}

/// One file's verdict for the screens.
#[derive(Debug, Clone)]
pub struct VerdictView {
    /// The file's name.
    pub name: String,
    /// Sendable.
    pub ok: bool,
    /// The destination its name gives.
    pub to: String,
    /// A file-name error: the national system's headline, which help desks know, goes first.
    pub name_error: bool,
    /// What the file is: the kind and month of a standard file, or 添付ファイル.
    pub what: String,
    /// An attachment without a destination (一括送信): sendable only from 新規作成.
    pub needs_to: bool,
    /// Its destination is not on the system (一括送信): printed and posted or faxed, not sent.
    pub paper: bool,
    /// Errors (the file is not sent).
    pub errors: Vec<Finding>,
    /// Warnings (the file is sent).
    pub warnings: Vec<Finding>,
}

impl VerdictView {
    /// [`NAME_HEADLINE`], for the template.
    pub fn name_headline(&self) -> &'static str {
        NAME_HEADLINE
    }

    /// The same verdict for a file whose destination is not on the system: 郵送・FAX.
    pub fn on_paper(self) -> VerdictView {
        VerdictView { paper: true, ..self }
    }

    /// The verdict of file `name` (standard kind `kind`, destination `to` from its name): the
    /// validator's errors and warnings as it writes them (`… [rule.id]`).
    pub fn new(name: &str, kind: Option<&str>, to: Option<&str>, errors: &[String], warnings: &[String]) -> VerdictView {
        let errors: Vec<Finding> = errors.iter().map(|e| Finding::of(e)).collect();
        VerdictView {
            name: name.to_owned(),
            ok: errors.is_empty(),
            to: to.unwrap_or_default().to_owned(),
            name_error: errors.iter().any(|f| f.rule.starts_with("name.")),
            what: what_it_is(name, kind),
            needs_to: to.is_none() && errors.is_empty(),
            paper: false,
            errors,
            // A PDF or a photo is an ordinary attachment, not something to warn about.
            warnings: warnings.iter().map(|w| Finding::of(w)).filter(|f| f.rule != "file.not-standard").collect(),
        }
    }
}

/// One finding as a clerk reads it; the rule id (for vendors) behind a details toggle.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The sentence.
    pub text: String,
    /// The rule's id.
    pub rule: String,
}

impl Finding {
    /// Splits `… [rule.id]` as the validator writes it.
    pub fn of(s: &str) -> Finding {
        match s.strip_suffix(']').and_then(|t| t.rsplit_once(" [")) {
            Some((text, rule)) if !rule.is_empty() && !rule.contains(' ') => Finding { text: text.to_owned(), rule: rule.to_owned() },
            _ => Finding { text: s.to_owned(), rule: String::new() },
        }
    }
}

/// What a file is, for the 内容 column: 「サービス提供票（予定） 2025年6月分」, or 添付ファイル（PDF）.
fn what_it_is(name: &str, kind: Option<&str>) -> String {
    match kind.and_then(renkei_spec::name::FileKind::from_prefix) {
        Some(k) => {
            let month = name.split('_').nth(1).filter(|m| m.len() == 6 && m.bytes().all(|b| b.is_ascii_digit()));
            match month {
                Some(m) if k.has_month() => format!("{} {}年{}月分", k.name_ja(), &m[..4], m[4..].trim_start_matches('0')),
                _ => k.name_ja().to_owned(),
            }
        }
        None => {
            let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_uppercase()).unwrap_or_default();
            if ext.is_empty() { "添付ファイル".into() } else { format!("添付ファイル（{ext}）") }
        }
    }
}

/// Escapes text for HTML written outside a template.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// 新規作成's answer as the destination is typed (htmx fragment): `to` as typed, and what the
/// hub's directory says of it (`directory` is asked only for a number of the right shape).
pub async fn lookup_html<F, Fut>(to: &str, directory: F) -> String
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<renkei_protocol::DirectoryEntry, String>>,
{
    let to = to.trim();
    if to.is_empty() {
        return String::new();
    }
    match renkei_spec::ids::OfficeNumber::parse_shape(to) {
        Err(e) if to.len() >= 10 => format!("<span class=\"error\">{}</span>", escape(&e.ja)),
        Err(_) => String::new(),
        Ok(n) => match directory(n.to_string()).await {
            // The registry is the truth: a registered number is accepted even when its check
            // digit fails (said as a note, never as an error).
            Ok(d) if d.registered && d.license_valid => format!(
                "<span class=\"ok\" id=\"to-ok\">送信先: {}</span>{}",
                escape(&d.name.unwrap_or_default()),
                if n.check_digit_problem(false).is_some() {
                    "<span class=\"note\">（検証番号は計算と合いませんが、事業所台帳に登録された番号です）</span>"
                } else {
                    ""
                }
            ),
            Ok(_) if n.check_digit_problem(false).is_some() => {
                format!("<span class=\"error\">{}</span>", escape(&n.check_digit_problem(false).map(|p| p.ja).unwrap_or_default()))
            }
            Ok(d) if d.registered => {
                format!("<span class=\"warn\">{} はライセンスが有効でないため受け取れません</span>", escape(&d.name.unwrap_or_default()))
            }
            Ok(_) => "<span class=\"error\">入力された番号はケアプランデータ連携システムに対応していません</span>".into(),
            Err(e) => format!("<span class=\"error\">{}</span>", escape(&e)),
        },
    }
}

/// What the form says besides its files: the note and, for a contact kind, the contact (its
/// fields checked by the one rule the hub applies, `Contact::from_fields`); for 通常の送信, the
/// 利用者 (if one was typed) becomes the note's first line rather than being dropped.
pub fn words_of(
    purpose: &str,
    month: &str,
    subject: &str,
    units: &str,
    note: &str,
) -> Result<(String, Option<renkei_protocol::Contact>), String> {
    if purpose.is_empty() || purpose == "free" {
        let note = match subject.trim() {
            "" => note.to_owned(),
            who if note.trim().is_empty() => format!("利用者: {who}"),
            who => format!("利用者: {who}\n{note}"),
        };
        return Ok((note, None));
    }
    let contact = renkei_protocol::Contact::from_fields(purpose, month, subject, units).map_err(|p| p.message)?;
    Ok((note.to_owned(), Some(contact)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_keep_their_rule() {
        let f = Finding::of("3行目: 項目が足りません [record.fields]");
        assert_eq!((f.text.as_str(), f.rule.as_str()), ("3行目: 項目が足りません", "record.fields"));
        assert_eq!(Finding::of("ただの文").rule, "");
    }

    #[test]
    fn a_verdict_says_what_the_file_is() {
        let v = VerdictView::new("plan.pdf", None, None, &[], &["x [file.not-standard]".into()]);
        assert!(v.ok && v.needs_to && v.warnings.is_empty());
        assert_eq!(v.what, "添付ファイル（PDF）");
    }
}
