//! Fixed-width base62 encoding (`0-9A-Za-z`) of byte strings, used for credential bodies,
//! their checksums and CSRF tokens. Values are big-endian integers; output is left-padded
//! with `0` to the requested width.

/// The alphabet, in digit order.
pub const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `log2(62)` times 10^7, rounded down: a lower bound, so [`fits`] never accepts a width that
/// is too small.
const LOG2_62_E7: u128 = 59_541_963;

/// True when every value of `bytes` bytes fits in `width` base62 digits (256^bytes ≤ 62^width,
/// decided with a lower bound of log2(62), so a borderline width is refused, never accepted).
pub const fn fits(bytes: usize, width: usize) -> bool {
    (bytes as u128) * 8 * 10_000_000 <= (width as u128) * LOG2_62_E7
}

/// Encodes the `N` bytes as exactly `W` base62 digits.
///
/// Infallible by construction: a width that cannot hold every `N`-byte value is a compile-time
/// error, so no credential can come out shorter than its format or empty.
///
/// ```compile_fail
/// // 32 bytes need 43 digits: 42 does not compile.
/// let _ = portcullis_core::base62::encode::<32, 42>(&[0xff; 32]);
/// ```
pub fn encode<const N: usize, const W: usize>(bytes: &[u8; N]) -> String {
    const {
        assert!(
            fits(N, W),
            "the width cannot hold every value of that many bytes"
        )
    };
    let mut num = *bytes;
    let mut digits = [b'0'; W];
    // Long division by 62, least significant digit first, filled from the right. `fits`
    // guarantees `num` is zero after `W` divisions, so nothing is cut off.
    for slot in digits.iter_mut().rev() {
        let mut rem: u16 = 0;
        for byte in num.iter_mut() {
            let acc = (rem << 8) | u16::from(*byte);
            // acc < 62 * 256, so the quotient is below 256.
            *byte = u8::try_from(acc / 62).unwrap_or(u8::MAX);
            rem = acc % 62;
        }
        *slot = digit(rem);
    }
    digits.iter().copied().map(char::from).collect()
}

/// The base62 digit of `value` (< 62).
fn digit(value: u16) -> u8 {
    // `value` < 62 here, so the conversion cannot fail.
    let v = u8::try_from(value).unwrap_or(0);
    match v {
        0..=9 => b'0' + v,
        10..=35 => b'A' + (v - 10),
        _ => b'a' + (v - 36),
    }
}

/// True when every byte of `s` is a base62 digit.
pub fn is_base62(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_known_values() {
        assert_eq!(encode::<1, 3>(&[0]), "000");
        assert_eq!(encode::<1, 2>(&[61]), "0z");
        assert_eq!(encode::<1, 2>(&[62]), "10");
        assert_eq!(encode::<2, 3>(&[1, 0]), "048");
    }

    #[test]
    fn the_digits_are_the_alphabet() {
        for (i, &c) in ALPHABET.iter().enumerate() {
            assert_eq!(digit(u16::try_from(i).unwrap()), c);
        }
    }

    #[test]
    fn widths_of_the_credential_formats_fit_and_short_ones_do_not() {
        for (bytes, width) in [
            (32, 43),
            (4, 6),
            (23, 32),
            (14, 20),
            (8, 11),
            (29, 40),
            (16, 22),
        ] {
            assert!(fits(bytes, width), "{bytes} bytes in {width}");
        }
        // 62^width < 256^bytes for each of these.
        for (bytes, width) in [(32, 42), (4, 5), (16, 21), (23, 30), (8, 10)] {
            assert!(!fits(bytes, width), "{bytes} bytes in {width}");
        }
    }

    #[test]
    fn the_largest_value_fills_the_width() {
        let max = encode::<32, 43>(&[0xff; 32]);
        assert_eq!(max.len(), 43);
        assert!(!max.starts_with('0'));
        assert_eq!(encode::<32, 43>(&[0; 32]), "0".repeat(43));
    }
}
