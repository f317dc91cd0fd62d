//! Writes fuzz seed corpora from the generator:
//! `cargo run -p renkei-testkit --example fuzz-seeds` → `fuzz/corpus/<target>/`.
use renkei_spec::calendar::YearMonth;
use std::path::Path;

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let mut n = 0;
    for (seed, month) in [(1u64, (2025, 6)), (2, (2024, 2)), (3, (2025, 12))] {
        let month = YearMonth::new(month.0, month.1).expect("valid month");
        for (family, files) in
            [("v4", renkei_testkit::Generator::new(seed).sample_set(month)), ("v3", renkei_testkit::Generator::v3(seed).sample_set(month))]
        {
            for (i, f) in files.iter().enumerate() {
                let name_dir = root.join("file_name");
                std::fs::create_dir_all(&name_dir)?;
                std::fs::write(name_dir.join(format!("{family}-{seed}-{i}")), &f.name)?;
                if f.records.is_some() {
                    let csv_dir = root.join("csv_file");
                    std::fs::create_dir_all(&csv_dir)?;
                    // First byte selects the file kind in the target.
                    let mut data = vec![i as u8];
                    data.extend(f.bytes.iter().take(4096));
                    std::fs::write(csv_dir.join(format!("{family}-{seed}-{i}")), data)?;
                }
                n += 1;
            }
        }
    }
    println!("wrote {n} seeds under {}", root.display());
    Ok(())
}
