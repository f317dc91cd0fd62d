//! Integration tests: the `renkei` binary against the committed samples; the client against a
//! hub in this process (`flow`); the web UI in headless Chromium (`browser`).

mod browser;
mod common;
mod flow;
mod forms_walk;
mod mailbox_walk;
mod portal_walk;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn renkei(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_renkei")).args(args).current_dir(root()).env_remove("RENKEI_LANG").output().expect("run renkei")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn committed_samples_match_the_generator() {
    let want = renkei_testkit::committed_samples();
    for (path, bytes) in &want {
        let got = std::fs::read(root().join("samples").join(path))
            .unwrap_or_else(|e| panic!("samples/{path}: {e}; run `cargo run -p renkei-testkit --example write-samples`"));
        assert!(&got == bytes, "samples/{path} differs from the generator; run `cargo run -p renkei-testkit --example write-samples`");
    }
    let mut on_disk = 0;
    for sub in ["valid", "valid-v3", "broken"] {
        on_disk += std::fs::read_dir(root().join("samples").join(sub)).unwrap().count();
    }
    assert_eq!(on_disk, want.len(), "stray files under samples/");
}

#[test]
fn valid_samples_pass() {
    let o = renkei(&["check", "samples/valid", "samples/valid-v3"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let s = stdout(&o);
    assert!(s.contains("問題はありません"), "{s}");
    assert!(s.contains("エラー 0件、警告 0件"), "{s}");
}

#[test]
fn broken_samples_name_line_item_and_rule_in_japanese() {
    let o = renkei(&["check", "samples/broken"]);
    assert_eq!(o.status.code(), Some(1));
    let s = stdout(&o);
    let row = s.lines().find(|l| l.contains("field.time")).unwrap_or_else(|| panic!("{s}"));
    for want in ["エラー", " 12 ", "サービス開始時刻", "8:00", "「:」を入れず数字4桁で書きます"] {
        assert!(row.contains(want), "{want} not in {row}");
    }
    assert!(s.contains("UPPLAN_202506_1374482477_43_1378994089_15_20250525100000.CSV"));
    assert!(s.contains("UTF-8 で保存されています"));
}

#[test]
fn json_output_is_stable() {
    let o = renkei(&["check", "--format", "json", "samples/broken"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["summary"]["errors"], 8);
    let d = &v["diagnostics"];
    let time = d.as_array().unwrap().iter().find(|d| d["rule"] == "field.time").unwrap();
    assert_eq!(time["record"], 3);
    assert_eq!(time["line"], 3);
    assert_eq!(time["column"], 12);
    assert_eq!(time["item"], "サービス開始時刻");
    insta::assert_json_snapshot!(d);
}

#[test]
fn english_messages() {
    let o = renkei(&["check", "--lang", "en", "samples/broken"]);
    let s = stdout(&o);
    assert!(s.contains("is not a time HHMM"), "{s}");
    assert!(s.contains("result: 6 files"), "{s}");
}

#[test]
fn warnings_only() {
    let dir = tempdir();
    let name = "UPPLAN_202506_1374482477_43_1378994089_15_20250525100000";
    for f in std::fs::read_dir(root().join("samples/valid")).unwrap() {
        let f = f.unwrap();
        let n = f.file_name().into_string().unwrap();
        if n.contains("_20250525100000") {
            let target = if n.starts_with(name) { format!("{name}.csv") } else { n };
            std::fs::copy(f.path(), dir.join(target)).unwrap();
        }
    }
    let o = renkei(&["check", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("name.extension.case"));
    let o = renkei(&["check", "--allow-warnings", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_registered_number_only_warns() {
    // The sample's care office renumbered to a published number whose check digit fails.
    let dir = tempdir();
    for e in std::fs::read_dir(root().join("samples/valid")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().replace("1374482477", "2372100034");
        if name.starts_with("UPPLAN_") {
            let bytes = std::fs::read(e.path()).unwrap();
            let text = renkei_spec::ms932::decode(&bytes).text.replace("1374482477", "2372100034");
            std::fs::write(dir.join(&name), renkei_spec::ms932::encode(&text, renkei_spec::ms932::Normalize::Never).unwrap()).unwrap();
        }
    }
    let o = renkei(&["check", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("name.office.check-digit"), "{}", stdout(&o));
    assert!(stdout(&o).contains("エラー"), "{}", stdout(&o));
    let o = renkei(&["check", "--format", "json", "--registered", "2372100034", dir.to_str().unwrap()]);
    let s = stdout(&o);
    assert!(s.contains("name.office.check-digit.registered") && s.contains("field.office.check-digit.registered"), "{s}");
    assert!(!s.contains("\"rule\":\"name.office.check-digit\""), "{s}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn reconcile_compares_the_units_of_the_seventh_table() {
    let v = |n: &str| root().join("samples/valid").join(n).display().to_string();
    let plan = v("UPPLAN_202506_1374482477_43_1378994089_15_20250525100000.CSV");
    let sikyu = v("UPSIKYU_202506_1374482477_43_1378994089_15_20250525100000.CSV");
    let actual = v("UPJSK_202506_1378994089_15_1374482477_43_20250703090000.CSV");
    // The plan provided exactly: nothing differs, units included.
    let o = renkei(&["reconcile", "--month", "202506", "--plan", &plan, "--actual", &plan, "--sikyu", &sikyu]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(!stdout(&o).contains("単位数の違い"), "{}", stdout(&o));
    // Other actuals: the units differ, with both figures.
    let o = renkei(&["reconcile", "--month", "202506", "--plan", &plan, "--actual", &actual, "--sikyu", &sikyu]);
    assert_eq!(o.status.code(), Some(1));
    let s = stdout(&o);
    assert!(s.contains("単位数の違い（第7表）") && s.contains("単位（") && s.contains("差 "), "{s}");
    let o = renkei(&["reconcile", "--month", "202506", "--plan", &plan, "--actual", &actual, "--sikyu", &sikyu, "--format", "json"]);
    let j: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(!j["unit_differences"].as_array().unwrap().is_empty());
}

#[test]
fn cannot_run_exits_2_with_a_japanese_reason() {
    let o = renkei(&["check", "samples/does-not-exist"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("が見つかりません"));
}

#[test]
fn reference_commands() {
    let o = renkei(&["rules"]);
    assert!(stdout(&o).contains("name.office.check-digit"));
    let o = renkei(&["layout", "UPSIKYU", "--v3"]);
    let s = stdout(&o);
    assert!(s.lines().any(|l| l.starts_with("13 ") && l.contains("回数／日数") && l.contains(" 2 ")), "{s}");
    let o = renkei(&["layout", "NOPE"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn show_prints_a_service_slip_as_its_monthly_grid() {
    let sample = |prefix: &str| {
        std::fs::read_dir(root().join("samples/valid"))
            .unwrap()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().starts_with(prefix))
            .unwrap()
            .path()
            .display()
            .to_string()
    };
    let o = renkei(&["show", &sample("UPPLAN_")]);
    assert_eq!(o.status.code(), Some(0));
    let s = stdout(&o);
    assert!(s.starts_with("第6表 サービス利用票（予定）  2025年6月分"), "{s}");
    assert!(s.lines().any(|l| l.starts_with("提供時間帯") && l.ends_with(" 計")), "{s}");
    let o = renkei(&["show", &sample("UPJSK_")]);
    assert!(stdout(&o).starts_with("第6表 サービス提供票（実績）"));
    // Every other kind: its paper form (第1表 with its boxes, 第7表 with its totals) …
    let o = renkei(&["show", &sample("UP1KYO_")]);
    assert_eq!(o.status.code(), Some(0));
    let s = stdout(&o);
    assert!(s.starts_with("■ 居宅サービス計画書（1）") && s.contains("【総合的な援助の方針】"), "{s}");
    let o = renkei(&["show", &sample("UPSIKYU_")]);
    let s = stdout(&o);
    assert!(s.starts_with("■ 第7表 サービス利用票別表") && s.contains("｜合計｜") && s.contains("明細の計"), "{s}");
    // … or with --items, its records as named items.
    let o = renkei(&["show", "--items", &sample("UP1KYO_")]);
    assert_eq!(o.status.code(), Some(0));
    let s = stdout(&o);
    assert!(s.starts_with("居宅サービス計画1表（UP1KYO）") && s.contains("── 1件目（ファイルの1行目）"), "{s}");
    assert!(s.contains("  被保険者番号: "), "{s}");
    // Not a standard CSV file (the family image): said plainly, exit 2.
    let o = renkei(&["show", &sample("UPKIHON_IMAGE_")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("帳票として表示できません"));
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "renkei-test-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn every_rule_is_documented_for_vendors() {
    let doc = std::fs::read_to_string(root().join("docs/validator.md")).unwrap();
    for r in renkei_spec::diag::Rule::ALL {
        assert!(doc.contains(&format!("`{}`", r.id())), "docs/validator.md lacks rule {}", r.id());
    }
}
