//! Integration tests of renkei-spec (one test binary).

mod arith;
mod broken;
mod every_rule;
mod registry;
mod roundtrip;
mod samples;

use renkei_spec::diag::Diagnostic;

/// Renders findings compactly for assertion messages.
pub fn show(diags: &[&Diagnostic]) -> String {
    diags.iter().map(|d| format!("{:?} {} {:?} l{:?} c{:?} {}\n", d.severity, d.rule.id(), d.file, d.line, d.column, d.message)).collect()
}
