//! A check character for codes people copy by hand: invitation codes end in one.
//!
//! The alphabet is lowercase RFC 4648 base32, `a`–`z` then `2`–`7`, with values 0 to 31. The
//! check is a weighted sum over GF(32), the field of 32 elements (polynomials over GF(2) modulo
//! x⁵ + x² + 1): a code c₀ … cₙ is valid when Σ cᵢ·xⁿ⁻ⁱ = 0. Changing one character by a
//! non-zero amount d changes the sum by d·xᵏ, which is never zero in a field, so every single
//! substitution is caught. Swapping neighbours a and b changes it by (a − b)·xᵏ·(x − 1), also
//! never zero when a ≠ b, so every adjacent transposition is caught too, as are jump
//! transpositions (abc ↔ cba) and twin errors (aa ↔ bb).
//!
//! Why not Luhn mod 32: its doubling step (double, then add the carry back) leaves both 0 and
//! 31 unchanged (62 is 1·32 + 30, and 1 + 30 = 31), so a neighbouring `a` and `7` add up to the
//! same sum in either order and their swap goes unseen, the blind spot `09` ↔ `90` has in
//! decimal Luhn. Over a field there is no such pair.

use data_encoding::{BASE32_NOPAD, Encoding};

/// The symbols, in value order.
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Lowercase RFC 4648 base32 without padding, the encoding codes are written in.
pub(crate) fn base32_lower() -> Encoding {
    let mut spec = BASE32_NOPAD.specification();
    spec.symbols = String::from_utf8(ALPHABET.to_vec()).expect("the alphabet is ASCII");
    spec.encoding().expect("lowercase base32 is a valid specification")
}

/// The value of a symbol, or `None` outside the alphabet.
fn value(symbol: char) -> Option<u8> {
    match symbol {
        'a'..='z' => Some(symbol as u8 - b'a'),
        '2'..='7' => Some(symbol as u8 - b'2' + 26),
        _ => None,
    }
}

/// Multiplies an element of GF(32) by x, reducing by x⁵ + x² + 1.
fn times_x(element: u8) -> u8 {
    let shifted = element << 1;
    if shifted & 0b10_0000 != 0 { shifted ^ 0b10_0101 } else { shifted }
}

/// Σ cᵢ·xⁿ⁻ⁱ over the symbols, by Horner's rule; `None` if one is outside the alphabet.
fn weighted_sum(symbols: &str) -> Option<u8> {
    symbols.chars().try_fold(0, |sum, symbol| Some(times_x(sum) ^ value(symbol)?))
}

/// The character to append to `body` to make a valid code; `None` if `body` holds a character
/// outside the lowercase base32 alphabet.
pub fn check_character(body: &str) -> Option<char> {
    // Appending c turns the sum s into s·x + c, which is zero for c = s·x (−1 = 1 in GF(2ᵏ)).
    let check = times_x(weighted_sum(body)?);
    Some(char::from(ALPHABET[usize::from(check)]))
}

/// Whether `code`, a body followed by its check character, is valid: `false` for an empty code
/// or one with a character outside the alphabet.
pub fn has_valid_check(code: &str) -> bool {
    !code.is_empty() && weighted_sum(code) == Some(0)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn with_check(body: &str) -> String {
        format!("{body}{}", check_character(body).unwrap())
    }

    #[test]
    fn a_body_with_its_check_character_is_valid() {
        for body in
            ["", "a", "herald", "mzxw6ytboi", "77777777", "abcdefghijklmnopqrstuvwxyz234567"]
        {
            assert!(has_valid_check(&with_check(body)), "{body}");
        }
    }

    #[test]
    fn characters_outside_the_alphabet_have_no_check() {
        for body in ["A", "0", "1", "8", "9", "-", " ", "é", "herald-x"] {
            assert_eq!(check_character(body), None, "{body}");
            assert!(!has_valid_check(body), "{body}");
        }
        assert!(!has_valid_check(""));
    }

    /// The pair Luhn mod 32 cannot tell apart.
    #[test]
    fn swapping_the_first_and_last_symbols_is_detected() {
        let code = with_check("xa7y");
        assert!(has_valid_check(&code));
        assert!(!has_valid_check(&format!("x7ay{}", &code[4..])));
    }

    #[test]
    fn the_symbol_values_follow_the_base32_alphabet() {
        for (position, symbol) in ALPHABET.iter().enumerate() {
            assert_eq!(value(char::from(*symbol)), Some(position as u8));
        }
        assert_eq!(base32_lower().encode(b"\xff"), "74");
    }

    proptest! {
        #![proptest_config(crate::admission::test_config())]

        #[test]
        fn every_substitution_and_adjacent_transposition_is_detected(
            body in "[a-z2-7]{1,60}",
        ) {
            let code = with_check(&body);
            prop_assert!(has_valid_check(&code));
            let symbols: Vec<char> = code.chars().collect();
            for position in 0..symbols.len() {
                for replacement in ALPHABET.iter().map(|symbol| char::from(*symbol)) {
                    if replacement == symbols[position] {
                        continue;
                    }
                    let mut changed = symbols.clone();
                    changed[position] = replacement;
                    let changed: String = changed.into_iter().collect();
                    prop_assert!(!has_valid_check(&changed), "{code} -> {changed}");
                }
            }
            for position in 0..symbols.len() - 1 {
                if symbols[position] == symbols[position + 1] {
                    continue;
                }
                let mut swapped = symbols.clone();
                swapped.swap(position, position + 1);
                let swapped: String = swapped.into_iter().collect();
                prop_assert!(!has_valid_check(&swapped), "{code} -> {swapped}");
            }
        }
    }
}
