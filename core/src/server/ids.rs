//! Request and session ids: random 64-bit values written as lowercase hex.

/// Writes `value` as 16 lowercase hex digits.
pub(crate) fn hex16(value: u64) -> String {
    hex16_digits(value)
        .iter()
        .map(|&digit| char::from(digit))
        .collect()
}

/// The 16 lowercase hex digits of `value`, most significant first.
pub(super) fn hex16_digits(value: u64) -> [u8; 16] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0; 16];
    for (i, digit) in out.iter_mut().enumerate() {
        *digit = DIGITS[(value >> ((15 - i) * 4)) as usize & 0xf];
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex16_writes_sixteen_digits() {
        assert_eq!(super::hex16(0), "0000000000000000");
        assert_eq!(super::hex16(0x0123_4567_89ab_cdef), "0123456789abcdef");
        assert_eq!(super::hex16(u64::MAX), format!("{:016x}", u64::MAX));
    }
}
