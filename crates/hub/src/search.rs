//! Search as people type it: full-width and half-width alike (NFKC: `１３７２` is `1372`,
//! `ｻｸﾗ` is `サクラ`), katakana and hiragana alike (`サクラ` finds `さくら`), case ignored, and
//! spaces separating words that must all match (`さくら 居宅`).

use unicode_normalization::UnicodeNormalization as _;

/// At most this many words are taken from a query.
pub const MAX_TERMS: usize = 5;

/// The form names are stored and compared in: NFKC, katakana as hiragana, lower case, without
/// spaces.
#[must_use]
pub fn fold(s: &str) -> String {
    // Removing spaces or lowering case can leave a string that normalizes further (`g¯` is
    // `g` + space + combining macron under NFKC; without the space it composes to `ḡ`): repeat
    // until nothing changes, so that a folded name folds to itself.
    let step = |s: &str| -> String { s.nfkc().filter(|c| !c.is_whitespace()).map(hiragana).flat_map(char::to_lowercase).collect() };
    let mut folded = step(s);
    for _ in 0..4 {
        let again = step(&folded);
        if again == folded {
            break;
        }
        folded = again;
    }
    folded
}

/// The words of a query, each folded; empty words dropped, at most [`MAX_TERMS`] words of at
/// most 30 characters, `%` and `_` removed (they would be wildcards).
#[must_use]
pub fn terms(query: &str) -> Vec<String> {
    let normal: String = query.nfkc().collect();
    normal
        .split_whitespace()
        .map(|w| fold(w).replace(['%', '_'], "").chars().take(30).collect::<String>())
        .filter(|w| !w.is_empty())
        .take(MAX_TERMS)
        .collect()
}

/// Katakana (ァ–ヶ) as the hiragana of the same sound.
fn hiragana(c: char) -> char {
    match c {
        'ァ'..='ヶ' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_kana_and_case_fold_away() {
        assert_eq!(fold("さくら居宅介護支援事業所"), fold("サクラ居宅介護支援事業所"));
        assert_eq!(fold("ｻｸﾗ"), "さくら");
        assert_eq!(fold("１３７２"), "1372");
        assert_eq!(fold("ＡＢＣ ケア"), "abcけあ");
        assert_eq!(fold("ヴ"), "ゔ");
        assert_eq!(fold("g¯"), fold(&fold("g¯")), "a space removed can compose what follows");
    }

    #[test]
    fn spaces_separate_words() {
        assert_eq!(terms("さくら　居宅"), vec!["さくら", "居宅"], "an ideographic space too");
        assert_eq!(terms("  "), Vec::<String>::new());
        assert_eq!(terms("a b c d e f g").len(), MAX_TERMS);
        assert_eq!(terms("100%_"), vec!["100"]);
    }

    proptest::proptest! {
        #[test]
        fn folding_is_stable(s in ".{0,40}") {
            let once = fold(&s);
            proptest::prop_assert_eq!(fold(&once), once);
        }
    }
}
