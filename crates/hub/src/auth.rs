//! Passwords (argon2id), random tokens and their hashes.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};

/// Hex of a SHA-256 digest.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hashes a password (argon2id, PHC string).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    Ok(Argon2::default().hash_password(password.as_bytes()).map_err(|e| anyhow::anyhow!("argon2: {e}"))?.to_string())
}

/// Verifies a password against a PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// 256 random bits, hex.
pub fn token() -> String {
    let mut b = [0u8; 32];
    rand::fill(&mut b);
    hex(&b)
}

/// How tokens and codes are stored: SHA-256 hex.
pub fn token_hash(t: &str) -> String {
    sha256_hex(t.as_bytes())
}

/// A one-time enrolment code people can type: 12 digits in groups (`1234-5678-9012`), the
/// last a check digit (`renkei_protocol::codes`).
pub fn enrolment_code() -> String {
    // Digits without modulo bias: bytes below 250 only.
    let mut d = String::with_capacity(11);
    while d.len() < 11 {
        let mut b = [0u8; 16];
        rand::fill(&mut b);
        d.extend(b.iter().filter(|x| **x < 250).map(|x| char::from(b'0' + x % 10)).take(11 - d.len()));
    }
    renkei_protocol::codes::with_check_digit(&d)
}

/// A one-time recovery code: 10 characters from an alphabet without look-alikes, in two
/// groups (`ab3d5-fg7hj`).
pub fn recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnopqrstuvwxyz23456789"; // 32: no modulo bias
    let mut b = [0u8; 10];
    rand::fill(&mut b);
    let s: String = b.iter().map(|x| char::from(ALPHABET[usize::from(*x) % ALPHABET.len()])).collect();
    format!("{}-{}", &s[..5], &s[5..])
}

/// Normalises a typed recovery code (case, spaces, hyphens, full-width forms tolerated).
pub fn normalize_recovery_code(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF10}'..='\u{FF19}' | '\u{FF21}'..='\u{FF3A}' | '\u{FF41}'..='\u{FF5A}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            c => c,
        })
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Normalises a typed enrolment code (spaces, full-width digits and hyphens tolerated).
pub fn normalize_code(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '0'..='9' => Some(c),
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32),
            _ => None,
        })
        .collect()
}

/// A temporary password for a new user (letters and digits, 12 characters).
pub fn temporary_password() -> String {
    const A: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut b = [0u8; 12];
    rand::fill(&mut b);
    let mut s: String = b.iter().map(|x| A[*x as usize % A.len()] as char).collect();
    // Guarantee both a letter and a digit.
    s.replace_range(0..1, "k");
    s.replace_range(11..12, "7");
    s
}

/// The password rule: 8–64 characters with at least one letter and one digit.
pub fn password_ok(p: &str) -> bool {
    let n = p.chars().count();
    (8..=64).contains(&n) && p.chars().any(|c| c.is_ascii_alphabetic()) && p.chars().any(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords() {
        let h = hash_password("renkei2025").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("renkei2025", &h));
        assert!(!verify_password("renkei2026", &h));
        assert!(password_ok(&temporary_password()));
        assert!(!password_ok("abcdefgh") && !password_ok("1234567") && password_ok("abcd1234"));
        assert_eq!(normalize_code("１２３４-5678 9012"), "123456789012");
        assert_eq!(normalize_code(&enrolment_code()).len(), 12);
        for _ in 0..200 {
            let c = enrolment_code();
            assert_eq!(renkei_protocol::codes::problem(&c), None, "{c}: a code the hub issues passes the client's check");
        }
    }
}

/// Compares secrets in time that depends on their length only, not on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod ct_tests {
    #[test]
    fn constant_time_eq_is_equality() {
        assert!(super::constant_time_eq(b"abc", b"abc"));
        assert!(!super::constant_time_eq(b"abc", b"abd"));
        assert!(!super::constant_time_eq(b"abc", b"abcd"));
        assert!(super::constant_time_eq(b"", b""));
    }
}
