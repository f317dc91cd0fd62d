//! Sending: files (and folders and ZIPs) → validation with `renkei-spec` → 一括送信 groups, one
//! message per destination office taken from the file names → send.
//!
//! Sending is safe to re-run: each message's idempotency key is derived from what it carries
//! (sender, recipient, note, file names and contents). After a network failure the same command
//! sends the same key and the hub answers with the message it already stored, so nothing is sent
//! twice; after a success the local journal says 送信済み without asking the hub. `resend` makes a
//! deliberate second copy.

use crate::archive;
pub use crate::hub::Words;
use crate::hub::{HubClient, OutFile, hex};
use crate::state::State;
use renkei_spec::diag::Severity;
use renkei_spec::unit::UnitKind;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A file to send, read from disk or out of a ZIP.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Bare file name (what the hub sees).
    pub name: String,
    /// Contents.
    pub bytes: Vec<u8>,
    /// Where it came from (`folder/x.zip!entry` for ZIP entries).
    pub source: String,
    /// The file on disk it came from (the ZIP for entries).
    pub path: Option<PathBuf>,
}

/// Something that could not even be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// Path.
    pub source: String,
    /// Why (Japanese).
    pub reason: String,
}

/// Reads files, folders (not recursive into hidden entries) and ZIPs.
pub fn collect(paths: &[PathBuf]) -> (Vec<Candidate>, Vec<Unreadable>) {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for p in paths {
        collect_one(p, &mut out, &mut bad);
    }
    (out, bad)
}

fn collect_one(p: &Path, out: &mut Vec<Candidate>, bad: &mut Vec<Unreadable>) {
    let source = p.display().to_string();
    if p.is_dir() {
        match std::fs::read_dir(p) {
            Ok(rd) => {
                let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
                entries.sort();
                for e in entries {
                    let hidden = e.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
                    if !hidden && e.is_file() {
                        collect_one(&e, out, bad);
                    }
                }
            }
            Err(e) => bad.push(Unreadable { source, reason: format!("フォルダーを読めません: {e}") }),
        }
        return;
    }
    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    match std::fs::read(p) {
        Ok(bytes) if archive::is_zip(&bytes) && name.to_ascii_lowercase().ends_with(".zip") => {
            match archive::extract(&bytes, archive::Limits::default()) {
                Ok(entries) => out.extend(entries.into_iter().map(|(n, b)| Candidate {
                    source: format!("{source}!{n}"),
                    name: n,
                    bytes: b,
                    path: Some(p.to_owned()),
                })),
                Err(e) => bad.push(Unreadable { source, reason: e.to_string() }),
            }
        }
        Ok(bytes) => out.push(Candidate { name, bytes, source, path: Some(p.to_owned()) }),
        Err(e) => bad.push(Unreadable { source, reason: format!("ファイルを読めません: {e}") }),
    }
}

/// The verdict on one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileVerdict {
    /// Bare name.
    pub name: String,
    /// Where it came from.
    pub source: String,
    /// Errors (Japanese, with line and item where known): the file is not sent.
    pub errors: Vec<String>,
    /// Warnings: the file is sent.
    pub warnings: Vec<String>,
    /// Destination office from the name (standard files).
    pub to: Option<String>,
    /// Standard file kind (UPPLAN, …), none for attachments.
    pub kind: Option<String>,
}

impl FileVerdict {
    /// Sendable.
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// One message to send: everything for one destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Destination office.
    pub to: String,
    /// Indexes into [`Plan::files`] that go (valid units and attachments).
    pub files: Vec<usize>,
    /// Indexes held back (errors in the file or in its send unit).
    pub held: Vec<usize>,
    /// Send units, labelled for people (e.g. 「サービス利用票（第6表・第7表・補足） 20250525100000」).
    pub units: Vec<String>,
}

/// The result of looking at files before sending.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The files.
    pub files: Vec<Candidate>,
    /// A verdict per file (parallel to `files`).
    pub verdicts: Vec<FileVerdict>,
    /// One group per destination, ordered by office number.
    pub groups: Vec<Group>,
    /// Files with no destination (attachments without `to`, unreadable names).
    pub unassigned: Vec<usize>,
    /// What could not be read at all.
    pub unreadable: Vec<Unreadable>,
}

/// A send unit's file sequence (YYYYMMDDHHMMSS, when the care software made it) as people read
/// it: `2025/05/25 10:00`. Anything else is shown as it is.
pub fn made_at(seq: &str) -> String {
    if seq.len() == 14 && seq.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}/{}/{} {}:{}", &seq[..4], &seq[4..6], &seq[6..8], &seq[8..10], &seq[10..12])
    } else {
        seq.to_owned()
    }
}

fn describe(d: &renkei_spec::diag::Diagnostic) -> String {
    let mut s = String::new();
    if let Some(l) = d.line {
        s.push_str(&format!("{l}行目 "));
    }
    if let Some(i) = &d.item {
        s.push_str(&format!("「{i}」 "));
    }
    s.push_str(&d.message);
    s.push_str(&format!(" [{}]", d.rule.id()));
    s
}

/// At most this many numbers whose check digit fails are asked of the hub per check.
const MAX_REGISTRY_QUESTIONS: usize = 32;

/// The office numbers among `to` and the files' names whose shape is right but whose check
/// digit fails (other than this office's own): the ones to ask the registry about.
pub fn failing_numbers(office: &str, to: Option<&str>, files: &[Candidate]) -> std::collections::BTreeSet<String> {
    use renkei_spec::ids::OfficeNumber;
    let lexical = renkei_spec::name::Profile { check_digits: false, ..renkei_spec::name::Profile::LENIENT };
    let from_names = files
        .iter()
        .filter_map(|c| renkei_spec::name::parse(&c.name, lexical).ok())
        .flat_map(|p| [p.name.sender.office.to_string(), p.name.receiver.office.to_string()]);
    to.map(|t| t.trim().to_owned())
        .into_iter()
        .chain(from_names)
        .filter(|n| OfficeNumber::check_shape(n).is_ok() && OfficeNumber::check(n).is_err() && n != office)
        .take(MAX_REGISTRY_QUESTIONS)
        .collect()
}

/// This office (registered by definition) and those of `failing` that the hub's registry holds.
/// The registry is the truth: such a number is a warning where the hub knows it and an error
/// with its hint where it does not (or when the hub cannot be asked: it checks again at the send).
pub async fn registered(
    hub: Option<&HubClient>,
    office: &str,
    failing: std::collections::BTreeSet<String>,
) -> std::collections::BTreeSet<String> {
    let mut known = std::collections::BTreeSet::from([office.to_owned()]);
    if let Some(hub) = hub {
        for n in failing {
            if hub.directory(&n).await.is_ok_and(|d| d.registered) {
                known.insert(n);
            }
        }
    }
    known
}

/// Validates `files` as sent by `office`, and groups them by destination. `to`, when given, is
/// the destination for attachments (non-standard files) and must match the standard files' names.
/// `registry` holds the numbers known to be registered (see [`registered`]).
pub fn plan(
    office: &str,
    to: Option<&str>,
    files: Vec<Candidate>,
    unreadable: Vec<Unreadable>,
    registry: &dyn renkei_spec::Registry,
) -> Plan {
    let report = renkei_spec::check_with(files.iter().map(|c| (c.name.clone(), c.bytes.clone())).collect(), registry);
    let mut verdicts: Vec<FileVerdict> = files
        .iter()
        .zip(&report.files)
        .map(|(c, r)| FileVerdict {
            name: c.name.clone(),
            source: c.source.clone(),
            errors: r.diagnostics.iter().filter(|d| d.severity == Severity::Error).map(describe).collect(),
            warnings: r.diagnostics.iter().filter(|d| d.severity != Severity::Error).map(describe).collect(),
            to: r.name.as_ref().map(|n| n.receiver.office.to_string()),
            kind: r.kind.map(|k| k.to_string()),
        })
        .collect();
    for d in &report.unit_diagnostics {
        if let Some(i) = d.file.as_ref().and_then(|f| files.iter().position(|c| &c.name == f)) {
            let v = &mut verdicts[i];
            if d.severity == Severity::Error { v.errors.push(describe(d)) } else { v.warnings.push(describe(d)) }
        }
    }
    // Ownership and destination.
    for (i, r) in report.files.iter().enumerate() {
        if let Some(n) = &r.name {
            if n.sender.office.to_string() != office {
                verdicts[i].errors.push(format!(
                    "送信元の事業所番号が {} です。この端末の事業所（{office}）から送るファイルではありません",
                    n.sender.office
                ));
            }
            if let Some(t) = to
                && n.receiver.office.to_string() != t
            {
                verdicts[i].errors.push(format!("送信先の事業所番号が {} です（宛先 {t} と違います）", n.receiver.office));
            }
        } else if !r.standard {
            verdicts[i].to = to.map(str::to_owned);
        }
    }
    // Units: one bad file holds back its whole unit (a partial unit would break the partner's import).
    let mut held = vec![false; files.len()];
    let mut unit_of: Vec<Option<usize>> = vec![None; files.len()];
    for (u, unit) in report.units.iter().enumerate() {
        let bad = unit.kind == UnitKind::Invalid || unit.files.iter().any(|&i| !verdicts[i].ok());
        for &i in &unit.files {
            unit_of[i] = Some(u);
            if bad {
                held[i] = true;
                if verdicts[i].ok() {
                    verdicts[i].errors.push("同じ送信単位（同じファイル連番）のファイルにエラーがあるため、送りません".into());
                }
            }
        }
    }
    let mut by_to: BTreeMap<String, Group> = BTreeMap::new();
    let mut unassigned = Vec::new();
    for (i, v) in verdicts.iter().enumerate() {
        let Some(dest) = v.to.clone() else {
            unassigned.push(i);
            continue;
        };
        let g = by_to.entry(dest.clone()).or_insert_with(|| Group { to: dest, files: vec![], held: vec![], units: vec![] });
        if held[i] || !v.ok() {
            g.held.push(i);
        } else {
            g.files.push(i);
            if let Some(u) = unit_of[i] {
                let unit = &report.units[u];
                let label = format!("{}（{}作成）", unit.kind.label_ja(), made_at(&unit.seq.to_string()));
                if !g.units.contains(&label) {
                    g.units.push(label);
                }
            }
        }
    }
    Plan { files, verdicts, groups: by_to.into_values().collect(), unassigned, unreadable }
}

/// The idempotency key of a message: what it carries, so the same files to the same office with
/// the same note (and contact) always give the same key.
pub fn idempotency_key(from: &str, to: &str, words: &Words, files: &[OutFile]) -> String {
    let mut parts: Vec<(String, String)> = files.iter().map(|f| (f.name.clone(), hex(&Sha256::digest(&f.bytes)))).collect();
    parts.sort();
    let mut h = Sha256::new();
    for s in [from, to, &words.note] {
        h.update(s.as_bytes());
        h.update([0]);
    }
    if let Some(c) = &words.contact {
        // Only a contact adds to the key: keys of messages without one stay what they were.
        h.update(format!("contact:{}:{}:{}:{}", c.kind.as_str(), c.month.as_deref().unwrap_or(""), c.person, c.units.unwrap_or(0)));
        h.update([0]);
    }
    for (n, d) in parts {
        h.update(n.as_bytes());
        h.update([0]);
        h.update(d.as_bytes());
        h.update([0]);
    }
    format!("renkei-{}", &hex(&h.finalize())[..40])
}

/// What happened to one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Sent now.
    Sent {
        /// Message id.
        id: String,
    },
    /// The hub already had it (a re-run after a failure, or the journal knew it).
    AlreadySent {
        /// Message id.
        id: String,
    },
    /// Refused or failed (Japanese reason).
    Failed {
        /// Why.
        reason: String,
        /// A retry may work (network).
        retry: bool,
    },
}

/// Sends one message with journal and idempotency. `resend` forces a new copy.
pub async fn send_one(
    hub: &HubClient,
    state: &State,
    from: &str,
    to: &str,
    words: impl Into<Words>,
    files: Vec<OutFile>,
    resend: bool,
) -> Result<Outcome, sqlx::Error> {
    let words = words.into();
    let mut key = idempotency_key(from, to, &words, &files);
    if resend {
        key = format!("{key}-{}", time::OffsetDateTime::now_utc().unix_timestamp_nanos());
    } else if let Some(j) = state.sent(&key).await? {
        return Ok(Outcome::AlreadySent { id: j.message_id });
    }
    let names: Vec<String> = files.iter().map(|f| f.name.clone()).collect();
    match hub.send(to, &words, &files, &key).await {
        Ok(r) => {
            state.record_sent(&key, to, &r.message.id, &names).await?;
            Ok(if r.replayed { Outcome::AlreadySent { id: r.message.id } } else { Outcome::Sent { id: r.message.id } })
        }
        Err(e) => Ok(Outcome::Failed { retry: e.is_transient(), reason: e.to_string() }),
    }
}

/// The files of a group, ready to send.
pub fn group_files(plan: &Plan, g: &Group) -> Vec<OutFile> {
    g.files.iter().map(|&i| OutFile { name: plan.files[i].name.clone(), bytes: plan.files[i].bytes.clone() }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use renkei_protocol::Contact;

    #[test]
    fn a_units_sequence_reads_as_when_it_was_made() {
        assert_eq!(made_at("20250525100000"), "2025/05/25 10:00");
        assert_eq!(made_at("2025052510"), "2025052510");
    }

    fn cands(files: Vec<(String, Vec<u8>)>) -> Vec<Candidate> {
        files.into_iter().map(|(name, bytes)| Candidate { source: name.clone(), name, bytes, path: None }).collect()
    }

    #[test]
    fn groups_by_destination_and_holds_back_broken_units() {
        let month = renkei_spec::calendar::YearMonth { year: 2025, month: 6 };
        let mut g = renkei_testkit::Generator::new(7);
        let care = g.office("43", 13);
        let p1 = g.office("15", 13);
        let p2 = g.office("11", 13);
        let clients = g.clients(3, 13, month);
        let seq =
            renkei_spec::calendar::FileSeq { date: renkei_spec::calendar::Date::new(2025, 5, 25).unwrap(), hour: 10, minute: 0, second: 0 };
        let seq2 = renkei_testkit::add_seconds(seq, 1);
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        for f in g.service_slip_unit(&care, &p1, None, &clients, month, seq) {
            files.push((f.name, f.bytes));
        }
        for f in g.service_slip_unit(&care, &p2, None, &clients, month, seq) {
            files.push((f.name, f.bytes));
        }
        // A second unit to p2 whose 第6表 is broken: that unit is held, the other one goes.
        for f in g.service_slip_unit(&care, &p2, None, &clients, month, seq2) {
            let bytes =
                if f.name.starts_with("UPPLAN") { renkei_testkit::edit_records(&f.bytes, |_, r| r[2].0 = "X".into()) } else { f.bytes };
            files.push((f.name, bytes));
        }
        files.push(("memo.pdf".into(), b"%PDF-1.4".to_vec()));
        let plan = plan(&care.number.to_string(), None, cands(files), vec![], &renkei_spec::NoRegistry);
        assert_eq!(plan.groups.len(), 2);
        let to_p2 = plan.groups.iter().find(|x| x.to == p2.number.to_string()).unwrap();
        assert_eq!((to_p2.files.len(), to_p2.held.len(), to_p2.units.len()), (3, 3, 1));
        let to_p1 = plan.groups.iter().find(|x| x.to == p1.number.to_string()).unwrap();
        assert_eq!((to_p1.files.len(), to_p1.held.len()), (3, 0));
        assert_eq!(plan.unassigned.len(), 1, "the PDF has no destination without --to");
        // From another office's PC, nothing goes.
        let other = plan_from(&p1.number.to_string(), &plan);
        assert!(other.groups.iter().all(|x| x.files.is_empty()));
    }

    fn plan_from(office: &str, p: &Plan) -> Plan {
        plan(office, None, p.files.clone(), vec![], &renkei_spec::NoRegistry)
    }

    #[test]
    fn keys_depend_on_content_not_order() {
        let a = OutFile { name: "a".into(), bytes: b"1".to_vec() };
        let b = OutFile { name: "b".into(), bytes: b"2".to_vec() };
        let n = Words::from("n");
        let k = idempotency_key("x", "y", &n, &[a.clone(), b.clone()]);
        assert_eq!(k, idempotency_key("x", "y", &n, &[b.clone(), a.clone()]));
        assert_ne!(k, idempotency_key("x", "y", &"n2".into(), &[a.clone(), b.clone()]));
        let contact = Contact::from_fields("no_use", "202507", "H000000001", "").unwrap();
        let with = Words { contact: Some(contact.clone()), ..n.clone() };
        assert_ne!(k, idempotency_key("x", "y", &with, &[a.clone(), b.clone()]));
        let other = Words { contact: Some(Contact { person: "H000000002".into(), ..contact }), ..n.clone() };
        assert_ne!(idempotency_key("x", "y", &with, &[]), idempotency_key("x", "y", &other, &[]));
        assert_ne!(k, idempotency_key("x", "y", &n, &[a, OutFile { name: "b".into(), bytes: b"3".to_vec() }]));
    }
}
