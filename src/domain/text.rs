//! Text that names people: NFKC-normalised so look-alikes compare equal,
//! and free of characters that render as nothing.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// NFKC (compatibility composition): fullwidth `ｂ` becomes `b`.
pub fn nfkc(s: &str) -> String {
    s.nfkc().collect()
}

/// Control (Cc), format (Cf: zero-width space, joiners, bidi overrides, soft
/// hyphen), line/paragraph separators, unassigned code points, and the other
/// default-ignorable code points that render as nothing.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::Unassigned
            | GeneralCategory::PrivateUse
            | GeneralCategory::Surrogate
    ) || matches!(c,
        '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}'
        | '\u{FFA0}' | '\u{E0100}'..='\u{E01EF}')
}

/// A display name as stored: trimmed and NFKC; `Err` says what is wrong.
pub fn normalize_name(raw: &str) -> Result<String, &'static str> {
    if raw.chars().any(is_invisible) {
        return Err("must not contain control, format or zero-width characters");
    }
    let n = nfkc(raw.trim());
    if !(1..=200).contains(&n.chars().count()) {
        return Err("must be 1 to 200 characters");
    }
    Ok(n)
}

/// Case-insensitive search text, normalised like the names it is matched against.
pub fn search_key(raw: &str) -> String {
    nfkc(&nfkc(raw).to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fullwidth_folds_to_ascii() {
        assert_eq!(nfkc("ｂｏｂ"), "bob");
        assert_eq!(search_key("ＢＯＢ"), "bob");
    }

    #[test]
    fn invisible_characters_are_named() {
        for c in [
            '\u{200B}',
            '\u{200D}',
            '\u{FEFF}',
            '\u{202E}',
            '\u{00AD}',
            '\u{0007}',
            '\u{2028}',
            '\u{3164}',
            '\u{FE0F}',
            '\u{E0001}',
        ] {
            assert!(is_invisible(c), "{:04X}", c as u32);
        }
        for c in ['a', 'é', 'ß', '李', ' ', '-', '\''] {
            assert!(!is_invisible(c), "{c}");
        }
    }

    #[test]
    fn names_are_trimmed_normalised_and_bounded() {
        assert_eq!(normalize_name("  Ｉｎｅｓ  ").as_deref(), Ok("Ines"));
        assert!(normalize_name("In\u{200B}es").is_err());
        assert!(normalize_name("   ").is_err());
        assert!(normalize_name(&"x".repeat(201)).is_err());
    }
}
