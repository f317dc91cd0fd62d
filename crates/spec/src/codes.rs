//! Code tables of the standard (§5): each is a marker type implementing [`CodeTable`], so that
//! a column's type names its table (`Code<CareLevel>`).

/// A code table as data.
#[derive(Debug, PartialEq, Eq)]
pub struct TableDef {
    /// Japanese name of the table.
    pub name: &'static str,
    /// `(code, meaning)` pairs.
    pub entries: &'static [(&'static str, &'static str)],
}

/// A marker type naming a code table.
pub trait CodeTable: 'static {
    /// The table.
    const DEF: &'static TableDef;
}

macro_rules! tables {
    ($( $(#[$m:meta])* $t:ident = $name:literal [ $( $c:literal => $meaning:literal ),* $(,)? ]; )*) => {$(
        $(#[$m])*
        #[doc = concat!("コード表: ", $name)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $t;
        impl CodeTable for $t {
            const DEF: &'static TableDef = &TableDef { name: $name, entries: &[$(($c, $meaning)),*] };
        }
    )*
    /// Every table, for documentation.
    pub const ALL_TABLES: &[&TableDef] = &[$(<$t as CodeTable>::DEF),*];
    };
}

tables! {
    PlanKubun = "計画書区分" ["11" => "初回", "12" => "紹介", "21" => "継続", "51" => "初回＆紹介", "52" => "初回＆継続", "53" => "紹介＆継続", "54" => "初回＆紹介＆継続"];
    CertStatus = "認定状況区分" ["1" => "申請中", "2" => "認定済"];
    CareLevel = "要介護状態区分" ["06" => "事業対象者", "12" => "要支援１", "13" => "要支援２", "21" => "要介護１", "22" => "要介護２", "23" => "要介護３", "24" => "要介護４", "25" => "要介護５"];
    CareLevelYobo = "要介護状態区分（予防）" ["01" => "非該当", "12" => "要支援１", "13" => "要支援２", "21" => "要介護１", "22" => "要介護２", "23" => "要介護３", "24" => "要介護４", "25" => "要介護５"];
    LivingSupportReason = "生活援助中心型の算定理由" ["1" => "一人暮らし", "2" => "家族等が障害、疾病等", "3" => "その他"];
    InsuranceCovered = "保険対象区分" ["Y" => "対象", "N" => "対象外"];
    Sex = "性別" ["1" => "男性", "2" => "女性"];
    Weekday = "曜日" ["1" => "月", "2" => "火", "3" => "水", "4" => "木", "5" => "金", "6" => "土", "7" => "日"];
    Over30 = "３０日超区分" ["1" => "該当", "0" => "非該当"];
    PlanType = "計画種類" ["1" => "介護予防支援", "2" => "介護予防ケアマネジメント"];
    Itaku = "委託の有無" ["1" => "自前", "2" => "委託"];
    ConsultMethod = "相談方法" ["01" => "来所", "02" => "電話", "03" => "その他"];
    ConsultCount = "相談回数" ["01" => "初回", "02" => "再来"];
    Situation = "利用者の現況" ["01" => "在宅", "02" => "入院又は入所中"];
    AdlIndependence = "障害高齢者の日常生活自立度" ["01" => "自立", "11" => "J1", "12" => "J2", "21" => "A1", "22" => "A2", "31" => "B1", "32" => "B2", "41" => "C1", "42" => "C2"];
    DementiaIndependence = "認知症高齢者の日常生活自立度" ["01" => "自立", "02" => "Ⅰ", "03" => "Ⅱa", "04" => "Ⅱb", "05" => "Ⅲa", "06" => "Ⅲb", "07" => "Ⅳ", "08" => "M"];
    ChecklistResult = "基本チェックリスト記入結果" ["1" => "事業対象者の該当あり", "2" => "事業対象者の該当なし"];
    Applicable = "該当／非該当" ["1" => "該当", "0" => "非該当"];
    Housing = "居住形態" ["01" => "自宅", "02" => "借家", "03" => "一戸建て", "04" => "集合住宅", "05" => "自宅・一戸建て", "06" => "自宅・集合住宅", "07" => "借家・一戸建て", "08" => "借家・集合住宅"];
    Presence = "有無" ["1" => "有", "2" => "無"];
    Need = "要否" ["1" => "要", "2" => "否"];
    SupportLevel = "要支援状態区分" ["1" => "要支援１", "2" => "要支援２", "3" => "地域支援事業"];
    DoctorFlag = "主治医・意見作成者フラグ" ["1" => "主治医", "2" => "それ以外"];
    Course = "経過" ["01" => "治療中", "02" => "経過観察中", "03" => "その他"];
}
