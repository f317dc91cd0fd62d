//! Writes the v4 sample set to a directory (used to eyeball generator output).
fn main() {
    let dir = std::env::args().nth(1).expect("usage: dump <dir>");
    for f in renkei_testkit::Generator::new(7).sample_set(renkei_spec::calendar::YearMonth::new(2025, 6).unwrap()) {
        std::fs::write(std::path::Path::new(&dir).join(&f.name), &f.bytes).unwrap();
    }
}
