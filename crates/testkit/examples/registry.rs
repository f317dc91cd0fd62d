//! Prints a registry CSV with the 2023 national per-prefecture figures (181,566 offices), or
//! scaled: `cargo run -p renkei-testkit --example registry -- [divisor]`.

use std::io::Write as _;

fn main() -> std::io::Result<()> {
    let divisor: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1).max(1);
    let figures = renkei_testkit::prefecture_figures();
    std::io::stdout().lock().write_all(&renkei_testkit::registry_csv(&figures, |f| f.offices / divisor))
}
