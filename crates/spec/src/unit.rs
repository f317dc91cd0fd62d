//! Send units (送信単位): the files that share one ファイル連番 between one sender and one
//! receiver. Checks the combinations the standard requires (§4.3), that satellites travel with
//! their parent, that records link to their parent records (§4.4), and gives the import order.

use crate::calendar::FileSeq;
use crate::diag::{Diagnostic, Problem, Rule};
use crate::field::{DateOrZero, YearMonthOrZero};
use crate::ids::{InsuredNumber, InsurerNumber};
use crate::name::{Family, FileKind, NameMonth, Party};
use crate::validate::{FileReport, Records};
use std::collections::{BTreeMap, HashSet};

/// What a send unit carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum UnitKind {
    /// 1表 + 2表 (+ 3表) + 補足 (000000).
    CarePlan,
    /// 第6表 + 第7表 + 補足 (service month).
    ServiceSlip,
    /// 実績.
    Actual,
    /// 利用者基本情報 (+ 別表1/2, images) and/or 介護予防サービス・支援計画書 (+ 別表).
    Prevention,
    /// A deletion file alone.
    Deletion,
    /// Files that do not form a unit of the standard.
    Invalid,
}

impl UnitKind {
    /// Japanese label.
    pub fn label_ja(self) -> &'static str {
        match self {
            UnitKind::CarePlan => "居宅サービス計画書（1表・2表・3表・補足）",
            UnitKind::ServiceSlip => "サービス利用票（第6表・第7表・補足）",
            UnitKind::Actual => "実績（第6表 実績）",
            UnitKind::Prevention => "介護予防（利用者基本情報・支援計画書）",
            UnitKind::Deletion => "削除",
            UnitKind::Invalid => "不正な組み合わせ",
        }
    }
}

/// One send unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendUnit {
    /// 送信元.
    pub sender: Party,
    /// 送信先.
    pub receiver: Party,
    /// ファイル連番.
    pub seq: FileSeq,
    /// Name family.
    pub family: Family,
    /// What it carries.
    pub kind: UnitKind,
    /// Indexes into the reports passed to [`group`], in import order.
    pub files: Vec<usize>,
}

/// Import rank within a unit: the supplement first (it creates the user), then parents, then
/// satellites.
fn rank(k: FileKind) -> u8 {
    use FileKind::*;
    match k {
        UpHosoku => 0,
        Up1Kyo => 1,
        Up2Kyo => 2,
        Up3Kyo => 3,
        UpPlan => 4,
        UpSikyu => 5,
        UpKihon => 6,
        UpKihonSub1 => 7,
        UpKihonSub2 => 8,
        UpKihonImage => 9,
        UpYobo => 10,
        UpYoboSub => 11,
        UpJsk => 12,
        Dlt1Kyo | DltPlan | DltJsk | DltKihon | DltYobo => 13,
    }
}

type Key = (String, Option<String>, String, Option<String>, FileSeq);

/// Groups files with valid names into send units, in import order (by ファイル連番, then sender and
/// receiver), and checks each unit. Files without a valid name are not grouped.
pub fn group(reports: &[FileReport]) -> (Vec<SendUnit>, Vec<Diagnostic>) {
    let mut map: BTreeMap<Key, Vec<usize>> = BTreeMap::new();
    for (i, r) in reports.iter().enumerate() {
        if let Some(n) = &r.name {
            let key = (
                n.sender.office.to_string(),
                n.sender.kind.map(|k| k.to_string()),
                n.receiver.office.to_string(),
                n.receiver.kind.map(|k| k.to_string()),
                n.seq,
            );
            map.entry(key).or_default().push(i);
        }
    }
    let mut units: Vec<SendUnit> = Vec::new();
    let mut diags = Vec::new();
    for (_, mut files) in map {
        files.sort_by_key(|&i| (rank(reports[i].kind.unwrap_or(FileKind::UpHosoku)), reports[i].file.clone()));
        let first = reports[files[0]].name.as_ref().expect("grouped files have names");
        let mut unit = SendUnit {
            sender: first.sender.clone(),
            receiver: first.receiver.clone(),
            seq: first.seq,
            family: first.family,
            kind: UnitKind::Invalid,
            files,
        };
        unit.kind = check_unit(&unit, reports, &mut diags);
        units.push(unit);
    }
    units.sort_by(|a, b| (a.seq, &a.sender, &a.receiver).cmp(&(b.seq, &b.sender, &b.receiver)));
    (units, diags)
}

struct Ctx<'a> {
    unit: &'a SendUnit,
    reports: &'a [FileReport],
    diags: &'a mut Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn of(&self, k: FileKind) -> Vec<usize> {
        self.unit.files.iter().copied().filter(|&i| self.reports[i].kind == Some(k)).collect()
    }
    fn has(&self, k: FileKind) -> bool {
        !self.of(k).is_empty()
    }
    fn file_diag(&mut self, i: usize, p: Problem) {
        self.diags.push(Diagnostic::from_problem(p, Some(&self.reports[i].file)));
    }
    fn unit_diag(&mut self, p: Problem) {
        let f = self.reports[self.unit.files[0]].file.clone();
        self.diags.push(Diagnostic::from_problem(p, Some(&f)));
    }
    fn record_diag(&mut self, i: usize, number: u32, line: u32, p: Problem) {
        self.diags.push(Diagnostic::from_problem(p, Some(&self.reports[i].file)).at_record(number, line));
    }
    /// `true` when every file of kind `k` in the unit was read completely, so that a missing
    /// link is a real finding and not an echo of a record already reported as broken.
    fn complete(&self, k: FileKind) -> bool {
        self.of(k).iter().all(|&i| self.reports[i].dropped_records == 0)
    }
    fn tail(&self) -> String {
        self.reports[self.unit.files[0]].name.as_ref().map(|n| n.tail()).unwrap_or_default()
    }
    fn missing(&mut self, need: FileKind, because: FileKind) {
        let at = self.of(because).first().copied().unwrap_or(self.unit.files[0]);
        // The expected name in full: the month is the unit's (the file that needs it names it).
        let month = self.reports[at].name.as_ref().and_then(|n| n.service_month()).map(|m| m.to_string());
        let name = match (need.has_month(), month) {
            (false, _) => format!("{}_{}", need.prefix(), self.tail()),
            (true, Some(m)) => format!("{}_{m}_{}", need.prefix(), self.tail()),
            (true, None) => format!("{}_{}", need.prefix(), self.tail()),
        };
        self.file_diag(
            at,
            Problem::new(
                Rule::UnitMissingFile,
                None,
                format!(
                    "{}（{}）と同じファイル連番の{}（{}）がありません。{}は一緒に送ります",
                    because.name_ja(),
                    because.prefix(),
                    need.name_ja(),
                    name,
                    unit_members_ja(because)
                ),
                format!("{} needs {} with the same file sequence", because.prefix(), need.prefix()),
            ),
        );
    }
}

fn unit_members_ja(k: FileKind) -> &'static str {
    use FileKind::*;
    match k {
        Up1Kyo | Up2Kyo | Up3Kyo => "1表・2表（・3表）と利用者補足情報",
        UpPlan | UpSikyu => "第6表・第7表と利用者補足情報",
        _ => "これらのファイル",
    }
}

fn check_unit(unit: &SendUnit, reports: &[FileReport], diags: &mut Vec<Diagnostic>) -> UnitKind {
    use FileKind::*;
    let mut c = Ctx { unit, reports, diags };
    let kinds: Vec<FileKind> = unit.files.iter().filter_map(|&i| reports[i].kind).collect();

    // One file per kind (images excepted).
    let mut seen = HashSet::new();
    for (&i, &k) in unit.files.iter().zip(&kinds) {
        if k != UpKihonImage && !seen.insert(k) {
            c.file_diag(
                i,
                Problem::new(
                    Rule::UnitDuplicateKind,
                    None,
                    format!(
                        "同じファイル連番の{}（{}）が2つあります。1つのファイルにまとめるか、ファイル連番を分けてください",
                        k.name_ja(),
                        k.prefix()
                    ),
                    format!("two {} files share one file sequence", k.prefix()),
                ),
            );
        }
    }

    // Deletions travel alone.
    if let Some(pos) = kinds.iter().position(|k| k.is_deletion()) {
        if unit.files.len() > 1 {
            c.file_diag(
                unit.files[pos],
                Problem::new(
                    Rule::UnitDeletionNotAlone,
                    None,
                    format!(
                        "削除ファイル（{}）は単独の送信単位です。ほかのファイルとは別のファイル連番にしてください",
                        kinds[pos].prefix()
                    ),
                    "a deletion file is a send unit on its own",
                ),
            );
            return UnitKind::Invalid;
        }
        return UnitKind::Deletion;
    }

    let anchors: Vec<FileKind> = [Up1Kyo, UpPlan, UpJsk]
        .into_iter()
        .filter(|k| c.has(*k))
        .chain(if c.has(UpKihon) || c.has(UpYobo) { Some(UpKihon) } else { None })
        .collect();
    if anchors.len() > 1 {
        let names: Vec<&str> = anchors.iter().map(|k| k.prefix()).collect();
        c.unit_diag(Problem::new(
            Rule::UnitIncompatible,
            None,
            format!("{} は同じ送信単位にできません。ファイル連番を分けてください", names.join("・")),
            format!("{} cannot share one send unit", names.join(", ")),
        ));
        return UnitKind::Invalid;
    }
    let allowed: &[FileKind] = match anchors.first() {
        Some(Up1Kyo) => &[Up1Kyo, Up2Kyo, Up3Kyo, UpHosoku],
        Some(UpPlan) => &[UpPlan, UpSikyu, UpHosoku],
        Some(UpJsk) => &[UpJsk],
        Some(_) => &[UpKihon, UpKihonSub1, UpKihonSub2, UpKihonImage, UpYobo, UpYoboSub],
        None => {
            // No parent at all: every file is an orphan.
            for (&i, &k) in unit.files.iter().zip(&kinds) {
                let parent = match k {
                    Up2Kyo | Up3Kyo => "居宅サービス計画1表（UP1KYO）",
                    UpSikyu => "第6表 予定（UPPLAN）",
                    UpHosoku => "居宅サービス計画1表（UP1KYO）または第6表 予定（UPPLAN）",
                    UpKihonSub1 | UpKihonSub2 | UpKihonImage => "利用者基本情報（UPKIHON）",
                    UpYoboSub => "介護予防サービス・支援計画書（UPYOBO）",
                    _ => "親ファイル",
                };
                c.file_diag(
                    i,
                    Problem::new(
                        Rule::UnitOrphan,
                        None,
                        format!("{}と組になる{}が、同じ送信元・送信先・ファイル連番（{}）でありません", k.name_ja(), parent, c.tail()),
                        format!("{} has no parent file with the same name tail", k.prefix()),
                    ),
                );
            }
            return UnitKind::Invalid;
        }
    };
    let mut ok = true;
    for (&i, &k) in unit.files.iter().zip(&kinds) {
        if !allowed.contains(&k) {
            ok = false;
            c.file_diag(
                i,
                Problem::new(
                    Rule::UnitIncompatible,
                    None,
                    format!(
                        "{}（{}）は{}と同じ送信単位にできません。ファイル連番を分けてください",
                        k.name_ja(),
                        k.prefix(),
                        anchors[0].name_ja()
                    ),
                    format!("{} cannot travel with {}", k.prefix(), anchors[0].prefix()),
                ),
            );
        }
    }

    let kind = match anchors[0] {
        Up1Kyo => {
            if !c.has(Up2Kyo) {
                ok = false;
                c.missing(Up2Kyo, Up1Kyo);
            }
            match c.of(UpHosoku).first() {
                None => {
                    ok = false;
                    c.missing(UpHosoku, Up1Kyo);
                }
                Some(&h) => {
                    if reports[h].name.as_ref().and_then(|n| n.month) != Some(NameMonth::Zero) {
                        ok = false;
                        c.file_diag(
                            h,
                            Problem::new(
                                Rule::UnitMonthMismatch,
                                None,
                                "計画書（1表・2表・3表）と組む利用者補足情報の提供年月は 000000 です",
                                "with plan sheets the supplement's month is 000000",
                            ),
                        );
                    }
                }
            }
            link_care_plan(&mut c);
            UnitKind::CarePlan
        }
        UpPlan => {
            if !c.has(UpSikyu) {
                ok = false;
                c.missing(UpSikyu, UpPlan);
            }
            if !c.has(UpHosoku) {
                ok = false;
                c.missing(UpHosoku, UpPlan);
            }
            let plan_month = c.of(UpPlan).first().and_then(|&i| reports[i].name.as_ref()).and_then(|n| n.month);
            for k in [UpSikyu, UpHosoku] {
                for i in c.of(k) {
                    let m = reports[i].name.as_ref().and_then(|n| n.month);
                    if m != plan_month {
                        ok = false;
                        let show = |m: Option<NameMonth>| m.map_or(String::new(), |m| m.to_string());
                        c.file_diag(
                            i,
                            Problem::new(
                                Rule::UnitMonthMismatch,
                                Some(show(m)),
                                format!("{}の年月 {} が第6表の年月 {} と違います", k.name_ja(), show(m), show(plan_month)),
                                "month differs from the 第6表 of the unit",
                            ),
                        );
                    }
                }
            }
            link_service_slip(&mut c);
            UnitKind::ServiceSlip
        }
        UpJsk => UnitKind::Actual,
        _ => {
            for (parent, subs) in [(UpKihon, &[UpKihonSub1, UpKihonSub2][..]), (UpYobo, &[UpYoboSub][..])] {
                if c.has(parent) {
                    for &s in subs {
                        if !c.has(s) {
                            c.unit_diag(Problem::new(
                                Rule::UnitMissingSatellite,
                                None,
                                format!(
                                    "{}と組になる{}（{}_{}）がありません。別表に記入がなくても、原則として一緒に送ります",
                                    parent.name_ja(),
                                    s.name_ja(),
                                    s.prefix(),
                                    c.tail()
                                ),
                                format!("{} normally travels with {}", parent.prefix(), s.prefix()),
                            ));
                        }
                    }
                } else {
                    for &s in subs {
                        for i in c.of(s) {
                            ok = false;
                            c.file_diag(
                                i,
                                Problem::new(
                                    Rule::UnitOrphan,
                                    None,
                                    format!(
                                        "{}と組になる{}（{}_{}）がありません",
                                        s.name_ja(),
                                        parent.name_ja(),
                                        parent.prefix(),
                                        c.tail()
                                    ),
                                    format!("{} has no {} in its unit", s.prefix(), parent.prefix()),
                                ),
                            );
                        }
                    }
                }
            }
            if !c.has(UpKihon) {
                for i in c.of(UpKihonImage) {
                    ok = false;
                    c.file_diag(
                        i,
                        Problem::new(
                            Rule::UnitOrphan,
                            None,
                            format!("家族構成画像と組になる利用者基本情報（UPKIHON_{}）がありません", c.tail()),
                            "image without UPKIHON",
                        ),
                    );
                }
            }
            link_prevention(&mut c);
            UnitKind::Prevention
        }
    };
    if ok { kind } else { UnitKind::Invalid }
}

type UserDate = (InsurerNumber, InsuredNumber, crate::calendar::Date);

fn unlinked(what: &str, parent: &str, key: &str) -> Problem {
    Problem::new(
        Rule::UnitUnlinkedRecord,
        Some(key.to_owned()),
        format!("{what}（{key}）に対応する{parent}のレコードが、同じ送信単位にありません"),
        format!("{what} ({key}) has no matching {parent} record in the unit"),
    )
}

fn link_care_plan(c: &mut Ctx<'_>) {
    if !c.complete(FileKind::Up1Kyo) {
        return;
    }
    let mut parents: HashSet<UserDate> = HashSet::new();
    for i in c.of(FileKind::Up1Kyo) {
        if let Some(Records::Kyo1(v)) = &c.reports[i].records {
            parents.extend(v.iter().map(|l| (l.record.insurer.clone(), l.record.insured.clone(), l.record.plan_date)));
        }
    }
    let mut children: Vec<(usize, u32, u32, UserDate, &'static str)> = Vec::new();
    for i in c.unit.files.clone() {
        let what = c.reports[i].kind.map_or("計画書", FileKind::name_ja);
        match &c.reports[i].records {
            Some(Records::Kyo2(v)) => children.extend(
                v.iter().map(|l| (i, l.number, l.line, (l.record.insurer.clone(), l.record.insured.clone(), l.record.plan_date), what)),
            ),
            Some(Records::Kyo3(v)) => children.extend(
                v.iter().map(|l| (i, l.number, l.line, (l.record.insurer.clone(), l.record.insured.clone(), l.record.plan_date), what)),
            ),
            _ => {}
        }
    }
    let mut supplements: HashSet<UserDate> = HashSet::new();
    for i in c.of(FileKind::UpHosoku) {
        if let Some(Records::Hosoku(v)) = &c.reports[i].records {
            for l in v {
                if let DateOrZero::Date(d) = l.record.plan_date {
                    let key = (l.record.insurer.clone(), l.record.insured.clone(), d);
                    if !parents.contains(&key) {
                        c.record_diag(
                            i,
                            l.number,
                            l.line,
                            unlinked("利用者補足情報", "居宅サービス計画1表", &format!("{} {} {}", key.0.as_str(), key.1.as_str(), d)),
                        );
                    }
                    supplements.insert(key);
                }
            }
        }
    }
    for (i, number, line, key, what) in children {
        if !parents.contains(&key) {
            c.record_diag(
                i,
                number,
                line,
                unlinked(&format!("{what}のレコード"), "居宅サービス計画1表", &format!("{} {} {}", key.0.as_str(), key.1.as_str(), key.2)),
            );
        }
    }
    if c.has(FileKind::UpHosoku) && c.complete(FileKind::UpHosoku) {
        for i in c.of(FileKind::Up1Kyo) {
            if let Some(Records::Kyo1(v)) = &c.reports[i].records {
                for l in v {
                    let key = (l.record.insurer.clone(), l.record.insured.clone(), l.record.plan_date);
                    if !supplements.contains(&key) {
                        c.record_diag(
                            i,
                            l.number,
                            l.line,
                            unlinked("居宅サービス計画1表", "利用者補足情報", &format!("{} {} {}", key.0.as_str(), key.1.as_str(), key.2)),
                        );
                    }
                }
            }
        }
    }
}

type UserMonth = (InsurerNumber, InsuredNumber, crate::calendar::YearMonth);

fn link_service_slip(c: &mut Ctx<'_>) {
    let plan_complete = c.complete(FileKind::UpPlan);
    let mut slip: HashSet<UserMonth> = HashSet::new();
    let mut slip_rows: Vec<(usize, u32, u32, UserMonth)> = Vec::new();
    for i in c.of(FileKind::UpPlan) {
        if let Some(Records::Plan(v)) = &c.reports[i].records {
            for l in v {
                let k = (l.record.insurer.clone(), l.record.insured.clone(), l.record.month);
                if slip.insert(k.clone()) {
                    slip_rows.push((i, l.number, l.line, k));
                }
            }
        }
    }
    let mut sikyu: HashSet<UserMonth> = HashSet::new();
    for i in c.of(FileKind::UpSikyu) {
        if let Some(Records::Sikyu(v)) = &c.reports[i].records {
            for l in v {
                let k = (l.record.insurer.clone(), l.record.insured.clone(), l.record.month);
                if plan_complete && !slip.contains(&k) && !sikyu.contains(&k) {
                    c.record_diag(
                        i,
                        l.number,
                        l.line,
                        unlinked("第7表の利用者", "第6表", &format!("{} {} {}", k.0.as_str(), k.1.as_str(), k.2)),
                    );
                }
                sikyu.insert(k);
            }
        }
    }
    let mut sup: HashSet<UserMonth> = HashSet::new();
    for i in c.of(FileKind::UpHosoku) {
        if let Some(Records::Hosoku(v)) = &c.reports[i].records {
            for l in v {
                if let YearMonthOrZero::Month(m) = l.record.target_month {
                    let k = (l.record.insurer.clone(), l.record.insured.clone(), m);
                    if plan_complete && !slip.contains(&k) {
                        c.record_diag(
                            i,
                            l.number,
                            l.line,
                            unlinked("利用者補足情報", "第6表", &format!("{} {} {}", k.0.as_str(), k.1.as_str(), m)),
                        );
                    }
                    sup.insert(k);
                }
            }
        }
    }
    let check_sikyu = c.has(FileKind::UpSikyu) && c.complete(FileKind::UpSikyu);
    let check_sup = c.has(FileKind::UpHosoku) && c.complete(FileKind::UpHosoku);
    for (i, number, line, k) in slip_rows {
        let key = format!("{} {} {}", k.0.as_str(), k.1.as_str(), k.2);
        if check_sikyu && !sikyu.contains(&k) {
            c.record_diag(i, number, line, unlinked("第6表の利用者", "第7表", &key));
        }
        if check_sup && !sup.contains(&k) {
            c.record_diag(i, number, line, unlinked("第6表の利用者", "利用者補足情報", &key));
        }
    }
}

fn link_prevention(c: &mut Ctx<'_>) {
    let mut kihon: HashSet<UserDate> = HashSet::new();
    let mut referenced: HashSet<String> = HashSet::new();
    let mut image_refs: Vec<(usize, u32, u32, String)> = Vec::new();
    for i in c.of(FileKind::UpKihon) {
        if let Some(Records::Kihon(v)) = &c.reports[i].records {
            for l in v {
                kihon.insert((l.record.insurer.clone(), l.record.insured.clone(), l.record.consulted_on));
                if let Some(img) = &l.record.family_image {
                    let n = img.0.to_string();
                    referenced.insert(n.clone());
                    image_refs.push((i, l.number, l.line, n));
                }
            }
        }
    }
    let mut yobo: HashSet<UserDate> = HashSet::new();
    for i in c.of(FileKind::UpYobo) {
        if let Some(Records::Yobo(v)) = &c.reports[i].records {
            yobo.extend(v.iter().map(|l| (l.record.insurer.clone(), l.record.insured.clone(), l.record.plan_date)));
        }
    }
    let mut subs: Vec<(usize, u32, u32, UserDate, bool)> = Vec::new();
    for i in c.unit.files.clone() {
        match &c.reports[i].records {
            Some(Records::KihonSub1(v)) => subs.extend(
                v.iter().map(|l| (i, l.number, l.line, (l.record.insurer.clone(), l.record.insured.clone(), l.record.consulted_on), true)),
            ),
            Some(Records::KihonSub2(v)) => subs.extend(
                v.iter().map(|l| (i, l.number, l.line, (l.record.insurer.clone(), l.record.insured.clone(), l.record.consulted_on), true)),
            ),
            Some(Records::YoboSub(v)) => subs.extend(
                v.iter().map(|l| (i, l.number, l.line, (l.record.insurer.clone(), l.record.insured.clone(), l.record.plan_date), false)),
            ),
            _ => {}
        }
    }
    let has_kihon = c.has(FileKind::UpKihon) && c.complete(FileKind::UpKihon);
    let has_yobo = c.has(FileKind::UpYobo) && c.complete(FileKind::UpYobo);
    for (i, number, line, key, is_kihon) in subs {
        let (parents, present, what) = if is_kihon {
            (&kihon, has_kihon, "利用者基本情報")
        } else {
            (&yobo, has_yobo, "介護予防サービス・支援計画書")
        };
        if present && !parents.contains(&key) {
            c.record_diag(i, number, line, unlinked("別表のレコード", what, &format!("{} {} {}", key.0.as_str(), key.1.as_str(), key.2)));
        }
    }
    let files: HashSet<String> = c.of(FileKind::UpKihonImage).into_iter().map(|i| c.reports[i].file.clone()).collect();
    let kihon_complete = c.complete(FileKind::UpKihon);
    for (i, number, line, n) in image_refs {
        if !files.contains(&n) {
            c.record_diag(
                i,
                number,
                line,
                Problem::new(
                    Rule::UnitImageMissing,
                    Some(n.clone()),
                    format!("家族構成 画像ファイル名「{n}」の画像が同じ送信単位にありません"),
                    format!("image {n} is not in the send unit"),
                ),
            );
        }
    }
    for i in c.of(FileKind::UpKihonImage) {
        if kihon_complete && !referenced.contains(&c.reports[i].file) {
            c.file_diag(
                i,
                Problem::new(
                    Rule::UnitImageUnreferenced,
                    None,
                    "この画像はどの利用者基本情報の「家族構成 画像ファイル名」にも書かれていません",
                    "no 利用者基本情報 record names this image",
                ),
            );
        }
    }
}
