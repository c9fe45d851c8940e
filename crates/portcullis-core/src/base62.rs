//! Fixed-width base62 encoding (`0-9A-Za-z`) of byte strings, used for credential bodies,
//! their checksums and CSRF tokens. Values are big-endian integers; output is left-padded
//! with `0` to the requested width.

/// The alphabet, in digit order.
pub const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Encodes `bytes` as exactly `width` base62 digits. Returns `None` when the value needs
/// more digits than `width`.
pub fn encode_fixed(bytes: &[u8], width: usize) -> Option<String> {
    let mut num: Vec<u8> = bytes.to_vec();
    let mut digits = Vec::with_capacity(width);
    while num.iter().any(|&b| b != 0) {
        let mut rem: u32 = 0;
        for byte in num.iter_mut() {
            let acc = (rem << 8) | u32::from(*byte);
            *byte = u8::try_from(acc / 62).unwrap_or(0);
            rem = acc % 62;
        }
        digits.push(*ALPHABET.get(usize::try_from(rem).ok()?)?);
        if digits.len() > width {
            return None;
        }
    }
    while digits.len() < width {
        digits.push(b'0');
    }
    digits.reverse();
    String::from_utf8(digits).ok()
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
        assert_eq!(encode_fixed(&[0], 3).as_deref(), Some("000"));
        assert_eq!(encode_fixed(&[61], 2).as_deref(), Some("0z"));
        assert_eq!(encode_fixed(&[62], 2).as_deref(), Some("10"));
        assert_eq!(encode_fixed(&[1, 0], 2).as_deref(), Some("48"));
    }

    #[test]
    fn thirty_two_bytes_fit_in_43_digits() {
        let max = [0xffu8; 32];
        assert_eq!(encode_fixed(&max, 43).map(|s| s.len()), Some(43));
        assert_eq!(encode_fixed(&max, 42), None);
    }
}
