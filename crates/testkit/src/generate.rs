//! Bundle generators.

use crate::rng::Rng;
use renkei_spec::calendar::{Date, FileSeq, YearMonth};
use renkei_spec::csv::RawField;
use renkei_spec::field::{Format, columns_for};
use renkei_spec::ids::{InsuredNumber, InsurerNumber, OfficeNumber, SERVICE_KINDS, ServiceKind};
use renkei_spec::ms932::Normalize;
use renkei_spec::name::{Family, FileKind, FileName, NameMonth, Party};
use renkei_spec::records::*;
use renkei_spec::validate::{Located, Records};
use renkei_spec::write;
use std::borrow::Cow;
use std::collections::HashMap;

/// An office of the exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Office {
    /// 事業所番号 (valid check digit).
    pub number: OfficeNumber,
    /// サービス種類.
    pub kind: ServiceKind,
    /// 事業所名.
    pub name: String,
}

impl Office {
    fn party(&self, family: Family) -> Party {
        Party { office: self.number.clone(), kind: (family == Family::V4).then_some(self.kind) }
    }
}

/// A care recipient (利用者).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// 保険者番号.
    pub insurer: InsurerNumber,
    /// 被保険者番号.
    pub insured: InsuredNumber,
    /// 氏名.
    pub name: String,
    /// フリガナ.
    pub kana: String,
    /// 性別 code.
    pub sex: &'static str,
    /// 生年月日.
    pub birth: Date,
    /// 居宅サービス計画作成（変更）日 (also 相談日 and 予防 計画作成日).
    pub plan_date: Date,
}

/// One generated file, with the typed records it holds (for round-trip tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenFile {
    /// File name.
    pub name: String,
    /// Contents (MS932 CSV, or JPEG bytes).
    pub bytes: Vec<u8>,
    /// The records written, with the line and number a reader must report.
    pub records: Option<Records>,
}

const FAMILY_NAMES: &[(&str, &str)] = &[
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("髙橋", "タカハシ"),
    ("田中", "タナカ"),
    ("渡辺", "ワタナベ"),
    ("伊藤", "イトウ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("﨑山", "サキヤマ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
];
const GIVEN_NAMES: &[(&str, &str)] = &[
    ("花子", "ハナコ"),
    ("一郎", "イチロウ"),
    ("トメ", "トメ"),
    ("清", "キヨシ"),
    ("ハル", "ハル"),
    ("正夫", "マサオ"),
    ("ふみ", "フミ"),
    ("勝", "マサル"),
    ("キヨ", "キヨ"),
    ("茂", "シゲル"),
];
const PHRASES: &[&str] = &[
    "自宅での入浴を安全に行えるよう支援する",
    "週2回、\"デイサービス\"で機能訓練を受ける",
    "①転倒予防\r\n②栄養状態の改善",
    "長男（同居）、長女（市内在住）",
    "10時～12時は近所の集会所へ行く",
    "㈱さくら介護サービス",
    "ﾍﾙﾊﾟｰが調理・掃除を支援、本人は見守り",
    "膝の痛みがあり、階段の昇降に不安がある",
    "妻の介護負担を軽くする。「できることは自分で」",
    "通院：月1回（〇〇内科）",
];
const PREF_NAMES: &[&str] = &["東京都千代田区", "大阪府大阪市北区", "北海道札幌市中央区", "福岡県福岡市博多区"];

/// The generator. Deterministic for a seed.
#[derive(Debug, Clone)]
pub struct Generator {
    rng: Rng,
    /// Name family to write.
    pub family: Family,
}

impl Generator {
    /// A v4 generator.
    pub fn new(seed: u64) -> Generator {
        Generator { rng: Rng::new(seed), family: Family::V4 }
    }
    /// A v3 (202208) generator: only the v3 file kinds are available.
    pub fn v3(seed: u64) -> Generator {
        Generator { rng: Rng::new(seed), family: Family::V3 }
    }
    /// The random source.
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// An office of a service kind in a prefecture (1–47), with a valid check digit.
    pub fn office(&mut self, kind: &str, prefecture: u8) -> Office {
        let kind = ServiceKind::parse(kind).expect("generator service kinds are valid");
        let class = match kind.as_str() {
            "46" => '0',
            k if k.starts_with('A') => 'A',
            "72" | "73" | "76" | "77" | "78" => '9',
            _ => '7',
        };
        let body = format!("{prefecture:02}{class}{}", self.rng.digits(6));
        let number = OfficeNumber::from_body(&body).expect("generated office body is valid");
        let label = SERVICE_KINDS.iter().find(|(c, _, _)| *c == kind.as_str()).map_or("事業所", |(_, n, _)| n);
        let name = format!("{}{}", self.rng.pick(&["さくら", "ひまわり", "あおば", "みどり", "ふれあい", "やすらぎ"]), label);
        Office { number, kind, name }
    }

    /// `n` clients insured in a prefecture, with plan dates in the month before `month`.
    pub fn clients(&mut self, n: usize, prefecture: u8, month: YearMonth) -> Vec<Client> {
        (0..n)
            .map(|_| {
                let insurer = InsurerNumber::from_body(&format!("{prefecture:02}{}", self.rng.digits(3))).expect("valid insurer body");
                let insured = if self.rng.percent(3) { format!("H{}", self.rng.digits(9)) } else { self.rng.digits(10) };
                let (fam, fam_k) = *self.rng.pick(FAMILY_NAMES);
                let (giv, giv_k) = *self.rng.pick(GIVEN_NAMES);
                let birth =
                    Date::new(self.rng.range(1925, 1955) as u16, self.rng.range(1, 12) as u8, self.rng.range(1, 28) as u8).expect("valid");
                let prev = YearMonth {
                    year: if month.month == 1 { month.year - 1 } else { month.year },
                    month: if month.month == 1 { 12 } else { month.month - 1 },
                };
                let plan_date = Date::new(prev.year, prev.month, self.rng.range(1, 28) as u8).expect("valid");
                Client {
                    insurer,
                    insured: InsuredNumber::parse(&insured).expect("valid insured"),
                    name: format!("{fam}　{giv}"),
                    kana: format!("{fam_k} {giv_k}"),
                    sex: if self.rng.percent(60) { "2" } else { "1" },
                    birth,
                    plan_date,
                }
            })
            .collect()
    }

    fn text(&mut self) -> String {
        let n = self.rng.range(1, 2);
        (0..n).map(|_| *self.rng.pick(PHRASES)).collect::<Vec<_>>().join("、")
    }

    fn random_value(&mut self, format: Format, len: Option<u16>, month: YearMonth) -> String {
        let r = &mut self.rng;
        match format {
            Format::CsvVersion => write::emitted_version(self.family).0.to_string(),
            Format::Insurer => InsurerNumber::from_body(&format!("13{}", r.digits(3))).expect("valid").as_str().to_owned(),
            Format::Insured => r.digits(10),
            Format::Date | Format::DateOrZero => {
                Date::new(r.range(2020, 2026) as u16, r.range(1, 12) as u8, r.range(1, 28) as u8).expect("valid").to_string()
            }
            Format::YearMonth | Format::YearMonthOrZero => month.to_string(),
            Format::Time => format!("{:02}{:02}", r.range(6, 20), r.pick(&[0, 15, 30, 45])),
            Format::ServiceTime => {
                if r.percent(20) {
                    "9999".into()
                } else {
                    format!("{:02}{:02}", r.range(8, 17), r.pick(&[0, 30]))
                }
            }
            Format::Integer => {
                let max_digits = len.unwrap_or(4).min(4) as u32;
                r.below(10u64.pow(max_digits)).to_string()
            }
            Format::Decimal => r.pick(&["10.00", "10.21", "10.42", "10.70", "10.84", "10.90", "11.05", "11.10", "11.40"]).to_string(),
            Format::Code(t) => r.pick(t.entries).0.to_owned(),
            Format::Office | Format::OfficeOrAll9 => OfficeNumber::from_body(&format!("137{}", r.digits(6))).expect("valid").to_string(),
            Format::All9 => "9999999999".into(),
            Format::ServiceKind => r.pick(&["11", "13", "15", "16", "17", "21", "78"]).to_string(),
            Format::ServiceCode | Format::SummaryServiceCode => format!("{}{}", r.pick(&["11", "13", "15", "16", "17", "78"]), r.digits(4)),
            Format::DayFlags => (1..=31).map(|d| if d <= 28 && r.percent(30) { '1' } else { '0' }).collect(),
            Format::Postal => format!("{}-{}", r.digits(3), r.digits(4)),
            Format::Phone => format!("0{}-{}-{}", r.digits(1), r.digits(4), r.digits(4)),
            Format::Tais => format!("{}-{}", r.digits(5), r.digits(6)),
            Format::Alnum => format!("K{}", r.digits(len.unwrap_or(8).min(8) as usize - 1)),
            Format::Text => self.text(),
            Format::Unused | Format::ImageName => String::new(),
        }
    }

    /// Builds one typed record: random valid values for every column, then the given values
    /// (by v4 column number). Optional columns are filled 70% of the time.
    pub fn record<R: Record>(&mut self, month: YearMonth, set: &[(u16, String)]) -> R {
        let family = self.family;
        let mut raw: Vec<(String, bool)> = Vec::new();
        for (_, col) in columns_for(R::layout(), family) {
            let fixed = set.iter().find(|(n, _)| *n == col.no).map(|(_, v)| v.clone());
            let v = match fixed {
                Some(v) => v,
                None if !col.required && !self.rng.percent(70) => String::new(),
                None => self.random_value(col.format, col.len_for(family), month),
            };
            raw.push((v, col.format.is_free_text()));
        }
        let fields: Vec<RawField<'_>> = raw.iter().map(|(v, q)| RawField { value: Cow::Borrowed(v.as_str()), quoted: *q }).collect();
        let mut sink = Vec::new();
        let rec = R::from_raw(&fields, family, &mut sink);
        // An office number given by the caller may fail its check digit (a registered number:
        // the registry is the truth); anything else the generator makes is valid.
        sink.retain(|(_, p)| p.rule != renkei_spec::diag::Rule::FieldOfficeCheckDigit);
        assert!(sink.is_empty(), "generator produced an invalid value: {sink:?}");
        rec.expect("generator records parse")
    }

    fn file<R: Record>(&self, name: FileName, records: Vec<R>, wrap: fn(Vec<Located<R>>) -> Records) -> GenFile {
        let bytes = write::to_ms932(&records, self.family, Normalize::Never).expect("generator text is MS932");
        let mut line = 1u32;
        let located = records
            .into_iter()
            .zip(1u32..)
            .map(|(record, number)| {
                let l = Located { line, number, record };
                line += write::to_csv_text(std::slice::from_ref(&l.record), self.family).matches('\n').count() as u32;
                l
            })
            .collect();
        GenFile { name: name.to_string(), bytes, records: Some(wrap(located)) }
    }

    fn name(&self, kind: FileKind, month: Option<NameMonth>, from: &Office, to: &Office, seq: FileSeq) -> FileName {
        let mut n = FileName::v4(kind, month, (from.number.clone(), from.kind), (to.number.clone(), to.kind), seq);
        n.family = self.family;
        n.sender = from.party(self.family);
        n.receiver = to.party(self.family);
        n
    }

    fn keys(c: &Client) -> Vec<(u16, String)> {
        vec![(2, c.insurer.as_str().to_owned()), (3, c.insured.as_str().to_owned())]
    }

    /// The TAISコード and 用具名称 of a line of `kind`: a 福祉用具貸与 (17, 67) line names its
    /// equipment; other lines leave both empty.
    fn equipment(kind: &str, rng: &mut Rng) -> (String, String) {
        if matches!(kind, "17" | "67") {
            (format!("00{}-{}", rng.digits(3), rng.digits(6)), "車いす（自走式）".into())
        } else {
            (String::new(), String::new())
        }
    }

    /// 第7表 for one user: a detail line per provider and サービスコード (単位数 × 回数), a
    /// 種類別小計 (`AAAA`) where a provider has several codes of one kind, and the 全合計 — with
    /// amounts that add up: within the limit, 単位数単価 10.90, 給付率 90, yen cut below one yen
    /// (the rules of `renkei_spec::arith`).
    fn sikyu_lines(&mut self, c: &Client, rows: &[Slip], month: YearMonth, created: &str) -> Vec<Sikyu> {
        use renkei_spec::arith::{benefit, yen};
        let price = renkei_spec::field::Decimal(1090);
        let rate = 90;
        // (provider, kind, code, 単位数, 回数, TAIS, 用具名称)
        let mut per: Vec<(String, String, String, i64, i64, String, String)> = Vec::new();
        for r in rows {
            let code = {
                let mut s = String::new();
                renkei_spec::field::FieldValue::render(&r.service_code, &mut s);
                s
            };
            let units = r.units.as_ref().map_or(0, |u| u.0);
            match per.iter_mut().find(|e| e.0 == r.provider.to_string() && e.2 == code) {
                Some(e) => e.4 += r.count.0,
                None => {
                    let tais = r.tais.as_ref().map(|t| {
                        let mut s = String::new();
                        renkei_spec::field::FieldValue::render(t, &mut s);
                        s
                    });
                    let name = r.equipment_name.as_ref().map(|t| t.0.clone());
                    per.push((
                        r.provider.to_string(),
                        code[..2].to_owned(),
                        code,
                        units,
                        r.count.0,
                        tais.unwrap_or_default(),
                        name.unwrap_or_default(),
                    ))
                }
            }
        }
        let money = |within: i64| {
            let cost = yen(within, &price);
            let claim = benefit(cost, rate);
            (cost, claim, cost - claim)
        };
        let base = |s: &mut Vec<(u16, String)>| {
            s.extend([(4, created.to_owned()), (5, month.to_string()), (33, "0".into()), (34, "9999999999".into())]);
            for col in [14u16, 15, 19, 20, 27, 30, 31, 32] {
                s.push((col, String::new()));
            }
        };
        let mut out = Vec::new();
        let (mut t17, mut t22, mut t24, mut t26, mut t28) = (0, 0, 0, 0, 0);
        let mut groups: Vec<(String, String)> = per.iter().map(|e| (e.0.clone(), e.1.clone())).collect();
        groups.dedup();
        for (prov, kind) in groups {
            let lines: Vec<_> = per.iter().filter(|e| e.0 == prov && e.1 == kind).collect();
            let subtotal = lines.len() > 1;
            let mut sum = 0;
            for e in &lines {
                let amount = e.3 * e.4;
                sum += amount;
                let mut s = Self::keys(c);
                base(&mut s);
                s.extend([
                    (7, e.0.clone()),
                    (8, String::new()),
                    (9, e.2.clone()),
                    (10, e.5.clone()),
                    (11, String::new()),
                    (12, e.6.clone()),
                    (13, e.3.to_string()),
                    (16, e.4.to_string()),
                    (17, amount.to_string()),
                    (18, amount.to_string()),
                ]);
                let bears = if subtotal { None } else { Some(amount) };
                Self::money_columns(&mut s, bears.map(|a| (a, money(a))), rate);
                out.push(self.record::<Sikyu>(month, &s));
            }
            if subtotal {
                let mut s = Self::keys(c);
                base(&mut s);
                s.extend([
                    (7, prov.clone()),
                    (8, String::new()),
                    (9, format!("{kind}AAAA")),
                    (10, String::new()),
                    (11, String::new()),
                    (12, String::new()),
                    (13, "0".into()),
                    (16, "1".into()),
                    (17, sum.to_string()),
                    (18, sum.to_string()),
                ]);
                Self::money_columns(&mut s, Some((sum, money(sum))), rate);
                out.push(self.record::<Sikyu>(month, &s));
            }
            let (cost, claim, copay) = money(sum);
            t17 += sum;
            t22 += sum;
            t24 += cost;
            t26 += claim;
            t28 += copay;
        }
        let mut s = Self::keys(c);
        base(&mut s);
        s.extend([
            (6, String::new()),
            (7, "9999999999".into()),
            (8, String::new()),
            (9, "999999".into()),
            (10, String::new()),
            (11, String::new()),
            (12, String::new()),
            (13, "0".into()),
            (16, "1".into()),
            (17, t17.to_string()),
            (18, t17.to_string()),
            (21, "0".into()),
            (22, t22.to_string()),
            (23, String::new()),
            (24, t24.to_string()),
            (25, String::new()),
            (26, t26.to_string()),
            (28, t28.to_string()),
            (29, "0".into()),
        ]);
        out.push(self.record::<Sikyu>(month, &s));
        out
    }

    /// Columns 21–29 of a line: the limit split and the money when it bears them, else empty.
    fn money_columns(s: &mut Vec<(u16, String)>, bears: Option<(i64, (i64, i64, i64))>, rate: i64) {
        match bears {
            Some((within, (cost, claim, copay))) => s.extend([
                (21, "0".into()),
                (22, within.to_string()),
                (23, "10.90".into()),
                (24, cost.to_string()),
                (25, rate.to_string()),
                (26, claim.to_string()),
                (28, copay.to_string()),
                (29, "0".into()),
            ]),
            None => s.extend([21u16, 22, 23, 24, 25, 26, 28, 29].map(|c| (c, String::new()))),
        }
    }

    /// 居宅サービス計画書 send unit: 1表, 2表, 3表 (v4) and 補足 (000000).
    pub fn care_plan_unit(&mut self, care: &Office, provider: &Office, clients: &[Client], seq: FileSeq) -> Vec<GenFile> {
        let month = clients.first().map_or(YearMonth { year: 2025, month: 4 }, |c| c.plan_date.year_month());
        let (mut k1, mut k2, mut k3, mut hs) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for c in clients {
            let pd = c.plan_date.to_string();
            let mut s = Self::keys(c);
            s.extend([
                (4, pd.clone()),
                (13, care.number.to_string()),
                (14, pd.clone()),
                (15, pd.clone()),
                (8, "山田　太郎".into()),
                (9, care.name.clone()),
                (27, care.number.to_string()),
            ]);
            s.extend(validity(c, 19, 20));
            k1.push(self.record::<Kyo1>(month, &s));
            for (issue, goal) in [(1, 1), (1, 2), (2, 1)] {
                let mut s = Self::keys(c);
                s.extend([
                    (4, pd.clone()),
                    (5, pd.clone()),
                    (6, issue.to_string()),
                    (8, goal.to_string()),
                    (13, "1".into()),
                    (17, provider.number.to_string()),
                    (18, provider.name.clone()),
                ]);
                k2.push(self.record::<Kyo2>(month, &s));
            }
            if self.family == Family::V4 {
                for wd in 1..=3 {
                    let mut s = Self::keys(c);
                    s.extend([(4, pd.clone()), (5, pd.clone()), (7, wd.to_string())]);
                    k3.push(self.record::<Kyo3>(month, &s));
                }
            }
            hs.push(self.hosoku(c, care, Some(&c.plan_date), None));
        }
        let mut out = vec![
            self.file(self.name(FileKind::UpHosoku, Some(NameMonth::Zero), care, provider, seq), hs, Records::Hosoku),
            self.file(self.name(FileKind::Up1Kyo, None, care, provider, seq), k1, Records::Kyo1),
            self.file(self.name(FileKind::Up2Kyo, None, care, provider, seq), k2, Records::Kyo2),
        ];
        if self.family == Family::V4 {
            out.push(self.file(self.name(FileKind::Up3Kyo, None, care, provider, seq), k3, Records::Kyo3));
        }
        out
    }

    fn hosoku(&mut self, c: &Client, care: &Office, plan_date: Option<&Date>, month: Option<YearMonth>) -> Hosoku {
        let mut s = Self::keys(c);
        s.extend([
            (4, plan_date.map_or("00000000".into(), |d| d.to_string())),
            (5, c.kana.clone()),
            (6, c.name.clone()),
            (7, c.sex.to_owned()),
            (8, c.birth.to_string()),
            (10, self.rng.pick(PREF_NAMES).to_string()),
            (60, care.number.to_string()),
            (61, care.number.to_string()),
            (14, validity(c, 14, 15)[0].1.clone()),
            (15, validity(c, 14, 15)[1].1.clone()),
            (63, month.map_or("000000".into(), |m| m.to_string())),
        ]);
        self.record::<Hosoku>(month.unwrap_or(c.plan_date.year_month()), &s)
    }

    fn slip_rows(
        &mut self,
        c: &Client,
        month: YearMonth,
        care: &Office,
        provider: &Office,
        other: Option<&Office>,
        actual: bool,
    ) -> Vec<Slip> {
        let mut rows = Vec::new();
        let days = self.rng.range(2, 8);
        let mut lines: Vec<(&Office, u64)> = vec![(provider, days)];
        if let Some(o) = other {
            lines.push((o, 1));
        }
        for (prov, n) in lines {
            let code = format!("{}{}", prov.kind, self.rng.digits(4));
            let start = self.rng.range(8, 15);
            let units = self.rng.range(150, 800);
            let equipment = Self::equipment(&prov.kind.to_string(), &mut self.rng);
            for k in 0..n {
                let day = Date::new(month.year, month.month, (1 + k * 3 % 28) as u8 + (k as u8 % 3)).expect("valid day");
                let mut s = Self::keys(c);
                s.extend([
                    (5, month.to_string()),
                    (4, Date::new(month.year, month.month, 1).expect("valid").to_string()),
                    (6, care.number.to_string()),
                    (7, "介護支援専門員　山田　太郎".into()),
                    (10, day.to_string()),
                    (12, format!("{start:02}00")),
                    (13, format!("{:02}00", start + 1)),
                    (8, units.to_string()),
                    (14, "1".into()),
                    (15, code.clone()),
                    (16, equipment.0.clone()),
                    (17, String::new()),
                    (18, equipment.1.clone()),
                    (20, prov.number.to_string()),
                    (21, prov.name.clone()),
                    (23, "0".into()),
                    (24, if actual { prov.number.to_string() } else { care.number.to_string() }),
                ]);
                rows.push(self.record::<Slip>(month, &s));
            }
        }
        rows
    }

    /// サービス利用票 send unit: 第6表 予定, 第7表 and 補足 for a month. Some clients also use
    /// `other` (another provider), as a real slip lists every provider of the client.
    pub fn service_slip_unit(
        &mut self,
        care: &Office,
        provider: &Office,
        other: Option<&Office>,
        clients: &[Client],
        month: YearMonth,
        seq: FileSeq,
    ) -> Vec<GenFile> {
        let (mut plan, mut sikyu, mut hs) = (Vec::new(), Vec::new(), Vec::new());
        let created = Date::new(month.year, month.month, 1).expect("valid").to_string();
        for c in clients {
            let o = if self.rng.percent(30) { other } else { None };
            let rows = self.slip_rows(c, month, care, provider, o, false);
            sikyu.extend(self.sikyu_lines(c, &rows, month, &created));
            plan.extend(rows);
            hs.push(self.hosoku(c, care, None, Some(month)));
        }
        let m = Some(NameMonth::Month(month));
        vec![
            self.file(self.name(FileKind::UpHosoku, m, care, provider, seq), hs, Records::Hosoku),
            self.file(self.name(FileKind::UpPlan, m, care, provider, seq), plan, Records::Plan),
            self.file(self.name(FileKind::UpSikyu, m, care, provider, seq), sikyu, Records::Sikyu),
        ]
    }

    /// 実績 send unit from a provider back to the care manager.
    pub fn actual_unit(&mut self, provider: &Office, care: &Office, clients: &[Client], month: YearMonth, seq: FileSeq) -> Vec<GenFile> {
        let mut rows = Vec::new();
        for c in clients {
            rows.extend(self.slip_rows(c, month, care, provider, None, true));
        }
        vec![self.file(self.name(FileKind::UpJsk, Some(NameMonth::Month(month)), provider, care, seq), rows, Records::Jsk)]
    }

    /// 実績 answering a 予定: the plan's 第6表 lines for `provider`, sent back by the provider, with
    /// `change(record number, fields)` applied to each line (to make deliberate differences).
    pub fn actual_from_plan(
        &self,
        plan: &GenFile,
        provider: &Office,
        care: &Office,
        month: YearMonth,
        seq: FileSeq,
        mut change: impl FnMut(usize, &mut Vec<(String, bool)>),
    ) -> GenFile {
        let bytes = crate::samples::edit_records(&plan.bytes, |i, r| {
            r[23].0 = provider.number.to_string(); // 更新業者コード: the provider now
            change(i, r);
        });
        let name = self.name(FileKind::UpJsk, Some(NameMonth::Month(month)), provider, care, seq).to_string();
        GenFile { name, bytes, records: None }
    }

    /// Every deletion kind available in the family, each as its own send unit (seq + i seconds).
    pub fn deletion_units(&mut self, care: &Office, provider: &Office, clients: &[Client], month: YearMonth, seq: FileSeq) -> Vec<GenFile> {
        let mut out = Vec::new();
        let m = Some(NameMonth::Month(month));
        let seqs: Vec<FileSeq> = (0..5).map(|i| add_seconds(seq, i)).collect();
        let mut v = Vec::new();
        for c in clients {
            let mut s = Self::keys(c);
            s.push((4, c.plan_date.to_string()));
            v.push(self.record::<Dlt1Kyo>(month, &s));
        }
        out.push(self.file(self.name(FileKind::Dlt1Kyo, None, care, provider, seqs[0]), v, Records::Dlt1Kyo));
        let v: Vec<DltPlan> = clients.iter().map(|c| self.record::<DltPlan>(month, &Self::keys(c))).collect();
        out.push(self.file(self.name(FileKind::DltPlan, m, care, provider, seqs[1]), v, Records::DltPlan));
        let v: Vec<DltJsk> = clients
            .iter()
            .map(|c| {
                let mut s = Self::keys(c);
                s.extend([(5, provider.number.to_string()), (6, provider.kind.to_string())]);
                self.record::<DltJsk>(month, &s)
            })
            .collect();
        out.push(self.file(self.name(FileKind::DltJsk, m, provider, care, seqs[2]), v, Records::DltJsk));
        if self.family == Family::V4 {
            let v: Vec<DltKihon> = clients
                .iter()
                .map(|c| self.record::<DltKihon>(month, &[Self::keys(c), vec![(4, c.plan_date.to_string())]].concat()))
                .collect();
            out.push(self.file(self.name(FileKind::DltKihon, None, care, provider, seqs[3]), v, Records::DltKihon));
            let v: Vec<DltYobo> = clients
                .iter()
                .map(|c| self.record::<DltYobo>(month, &[Self::keys(c), vec![(4, c.plan_date.to_string())]].concat()))
                .collect();
            out.push(self.file(self.name(FileKind::DltYobo, None, care, provider, seqs[4]), v, Records::DltYobo));
        }
        out
    }

    /// 介護予防 send unit (v4): 利用者基本情報 with 別表1, 別表2 and family images, and the
    /// 介護予防サービス・支援計画書 with its 別表.
    pub fn prevention_unit(&mut self, center: &Office, provider: &Office, clients: &[Client], seq: FileSeq) -> Vec<GenFile> {
        assert_eq!(self.family, Family::V4, "介護予防 files exist only in v4");
        let month = clients.first().map_or(YearMonth { year: 2025, month: 4 }, |c| c.plan_date.year_month());
        let (mut kihon, mut sub1, mut sub2, mut yobo, mut ysub, mut images) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (i, c) in clients.iter().enumerate() {
            let d = c.plan_date.to_string();
            let image = if i % 2 == 0 {
                let mut n = self.name(FileKind::UpKihonImage, None, center, provider, seq);
                n.branch = Some(images.len() as u16 + 1);
                images.push(GenFile { name: n.to_string(), bytes: tiny_jpeg(&mut self.rng), records: None });
                n.to_string()
            } else {
                String::new()
            };
            let mut s = Self::keys(c);
            s.extend([
                (4, d.clone()),
                (14, c.kana.clone()),
                (15, c.name.clone()),
                (16, c.sex.into()),
                (17, c.birth.to_string()),
                (62, image),
            ]);
            s.extend(validity(c, 24, 25));
            s.push((11, String::new()));
            kihon.push(self.record::<Kihon>(month, &s));
            for _ in 0..2 {
                sub1.push(self.record::<KihonSub1>(month, &[Self::keys(c), vec![(4, d.clone())]].concat()));
                sub2.push(self.record::<KihonSub2>(month, &[Self::keys(c), vec![(4, d.clone())]].concat()));
            }
            yobo.push(self.record::<Yobo>(
                month,
                &[Self::keys(c), vec![(4, d.clone()), (8, c.name.clone()), (20, d.clone())], validity(c, 10, 11)].concat(),
            ));
            for no in 1..=2 {
                ysub.push(
                    self.record::<YoboSub>(month, &[Self::keys(c), vec![(4, d.clone()), (5, "1".into()), (10, no.to_string())]].concat()),
                );
            }
        }
        let mut out = vec![
            self.file(self.name(FileKind::UpKihon, None, center, provider, seq), kihon, Records::Kihon),
            self.file(self.name(FileKind::UpKihonSub1, None, center, provider, seq), sub1, Records::KihonSub1),
            self.file(self.name(FileKind::UpKihonSub2, None, center, provider, seq), sub2, Records::KihonSub2),
            self.file(self.name(FileKind::UpYobo, None, center, provider, seq), yobo, Records::Yobo),
            self.file(self.name(FileKind::UpYoboSub, None, center, provider, seq), ysub, Records::YoboSub),
        ];
        out.extend(images);
        out
    }

    /// A set with every file kind of the family: a care-plan unit, a service-slip unit, an
    /// actual unit, every deletion, and (v4) a prevention unit. All valid.
    pub fn sample_set(&mut self, month: YearMonth) -> Vec<GenFile> {
        let care = self.office("43", 13);
        let provider = self.office("15", 13);
        let other = self.office("11", 13);
        let center = self.office("46", 27);
        let yobo_provider = self.office("A6", 27);
        let clients = self.clients(3, 13, month);
        let day = |d: u8, h: u8| FileSeq { date: Date::new(month.year, month.month, d).expect("valid"), hour: h, minute: 0, second: 0 };
        let prev =
            Date::new(if month.month == 1 { month.year - 1 } else { month.year }, if month.month == 1 { 12 } else { month.month - 1 }, 25)
                .expect("valid");
        let before = FileSeq { date: prev, hour: 9, minute: 0, second: 0 };
        let mut out = self.care_plan_unit(&care, &provider, &clients, before);
        out.extend(self.service_slip_unit(&care, &provider, Some(&other), &clients, month, FileSeq { hour: 10, ..before }));
        let next = month.next();
        let after = FileSeq { date: Date::new(next.year, next.month, 3).expect("valid"), hour: 9, minute: 0, second: 0 };
        out.extend(self.actual_unit(&provider, &care, &clients, month, after));
        out.extend(self.deletion_units(&care, &provider, &clients[..1], month, day(20, 15)));
        if self.family == Family::V4 {
            let kids = self.clients(2, 27, month);
            out.extend(self.prevention_unit(&center, &yobo_provider, &kids, day(10, 11)));
        }
        out
    }

    /// One month of a large care-management office: `clients` users spread over `providers`
    /// providers (each user has 1–3), a 予定 unit per provider and a 実績 unit back from each.
    pub fn month_of_large_office(&mut self, clients: usize, providers: usize, month: YearMonth) -> Vec<GenFile> {
        let care = self.office("43", 13);
        let kinds = ["11", "13", "15", "16", "17", "78", "21"];
        let provs: Vec<Office> = (0..providers).map(|i| self.office(kinds[i % kinds.len()], 13)).collect();
        let users = self.clients(clients, 13, month);
        let mut by_provider: HashMap<usize, Vec<Client>> = HashMap::new();
        for u in &users {
            let n = self.rng.range(1, 3) as usize;
            for _ in 0..n {
                let p = self.rng.below(providers as u64) as usize;
                let list = by_provider.entry(p).or_default();
                if !list.contains(u) {
                    list.push(u.clone());
                }
            }
        }
        let prev = if month.month == 1 {
            YearMonth { year: month.year - 1, month: 12 }
        } else {
            YearMonth { year: month.year, month: month.month - 1 }
        };
        let mut out = Vec::new();
        let mut keys: Vec<usize> = by_provider.keys().copied().collect();
        keys.sort_unstable();
        for (i, p) in keys.into_iter().enumerate() {
            let list = &by_provider[&p];
            let seq = FileSeq {
                date: Date::new(prev.year, prev.month, 25).expect("valid"),
                hour: 9 + (i / 3600) as u8 % 10,
                minute: (i / 60 % 60) as u8,
                second: (i % 60) as u8,
            };
            out.extend(self.service_slip_unit(&care, &provs[p], None, list, month, seq));
            let next = month.next();
            let back = FileSeq { date: Date::new(next.year, next.month, 2).expect("valid"), ..seq };
            out.extend(self.actual_unit(&provs[p], &care, list, month, back));
        }
        out
    }
}

/// A certification period around the client's plan date: (from column, to column).
fn validity(c: &Client, from: u16, to: u16) -> Vec<(u16, String)> {
    let d = c.plan_date;
    let start = Date::new(d.year - 1, d.month, 1).expect("valid");
    let end = Date::new(d.year + 1, d.month, 1).expect("valid");
    vec![(from, start.to_string()), (to, end.to_string())]
}

/// Adds seconds to a sequence (within the same day; wraps the minute and hour).
pub fn add_seconds(seq: FileSeq, s: u32) -> FileSeq {
    let total = seq.hour as u32 * 3600 + seq.minute as u32 * 60 + seq.second as u32 + s;
    FileSeq { date: seq.date, hour: (total / 3600 % 24) as u8, minute: (total / 60 % 60) as u8, second: (total % 60) as u8 }
}

/// A minimal, complete baseline JPEG (8×8, one grey block) with a random comment so that
/// files differ. Decodable by any JPEG reader.
pub fn tiny_jpeg(rng: &mut Rng) -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x0A];
    v.extend((0..8).map(|_| rng.below(256) as u8));
    // Quantisation table 0: all ones.
    v.extend([0xFF, 0xDB, 0x00, 0x43, 0x00]);
    v.extend([1u8; 64]);
    // Frame: 8 bits, 8×8, one component (id 1, 1×1 sampling, table 0).
    v.extend([0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x08, 0x00, 0x08, 0x01, 0x01, 0x11, 0x00]);
    // Huffman tables DC0 and AC0, each a single 1-bit code for symbol 0.
    for class in [0x00u8, 0x10] {
        v.extend([0xFF, 0xC4, 0x00, 0x14, class, 0x01]);
        v.extend([0u8; 15]);
        v.push(0x00);
    }
    // Scan: DC diff 0 ("0"), EOB ("0"), padded with ones.
    v.extend([0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x3F, 0xFF, 0xD9]);
    v
}
