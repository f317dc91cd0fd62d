//! Rewrites `samples/` from the generator: `cargo run -p renkei-testkit --example write-samples`.
use std::path::Path;

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples");
    for sub in ["valid", "valid-v3", "broken"] {
        let d = root.join(sub);
        if d.exists() {
            std::fs::remove_dir_all(&d)?;
        }
        std::fs::create_dir_all(&d)?;
    }
    let samples = renkei_testkit::committed_samples();
    for (path, bytes) in &samples {
        std::fs::write(root.join(path), bytes)?;
    }
    println!("wrote {} files under {}", samples.len(), root.display());
    Ok(())
}
