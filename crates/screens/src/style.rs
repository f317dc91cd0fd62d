//! The one visual language of the client, the portal and the console: the デジタル庁デザイン
//! システム tokens (vendored, MIT) and renkei's base style sheet on them, served in front of each
//! program's own few rules.

/// The design tokens (CSS variables), as published on npm (`@digital-go-jp/design-tokens`).
pub const TOKENS: &str = include_str!("../assets/dads-tokens.css");
/// The shared rules: type, colour roles, focus indicator, targets, forms, tables, banners,
/// reflow at 200% zoom.
pub const BASE: &str = include_str!("../assets/base.css");

/// A program's style sheet: the tokens, the base, then its own rules (`own`).
pub fn sheet(own: &str) -> String {
    [TOKENS, "\n", BASE, "\n", own].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variable_the_base_uses_is_defined() {
        let defined: std::collections::HashSet<&str> =
            [TOKENS, BASE].iter().flat_map(|s| s.split("--").skip(1)).filter_map(|r| r.split_once(':').map(|(n, _)| n.trim())).collect();
        for used in BASE.split("var(--").skip(1) {
            let name = used.split(')').next().unwrap_or("");
            assert!(defined.contains(name), "var(--{name}) is not defined");
        }
    }
}
