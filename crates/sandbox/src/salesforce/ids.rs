//! Salesforce record ids: a 3-character key prefix per object, then a serial, 15 characters in
//! all; the 18-character form adds Salesforce's case-safe checksum (three characters, one per
//! 5-character chunk, each encoding which of the chunk's letters are upper case).

const CHECKSUM: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The 18-character id of the `serial`-th record of the object with `prefix` (in an org whose
/// pod part is `pod`, two characters).
pub fn id(prefix: &str, pod: &str, serial: u64) -> String {
    let mut body = Vec::with_capacity(10);
    let mut n = serial;
    for _ in 0..10 {
        body.push(DIGITS[(n % 62) as usize]);
        n /= 62;
    }
    body.reverse();
    let fifteen = format!("{prefix}{pod}{}", String::from_utf8_lossy(&body));
    with_checksum(&fifteen)
}

/// The 18-character form of a 15-character id.
pub fn with_checksum(fifteen: &str) -> String {
    let bytes = fifteen.as_bytes();
    let mut out = fifteen.to_string();
    for chunk in bytes.chunks(5) {
        let flags = chunk
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_ascii_uppercase())
            .fold(0usize, |acc, (i, _)| acc | (1 << i));
        out.push(CHECKSUM[flags] as char);
    }
    out
}

/// The 18-character form of `id` (15 or 18 characters); `None` when it is neither.
pub fn normalize(id: &str) -> Option<String> {
    match id.len() {
        15 if id.chars().all(|c| c.is_ascii_alphanumeric()) => Some(with_checksum(id)),
        18 if id.chars().all(|c| c.is_ascii_alphanumeric()) => {
            let full = with_checksum(&id[..15]);
            (full.eq_ignore_ascii_case(id)).then_some(full)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_is_salesforces() {
        // Ids from the seed's examples, 15 and 18 characters long, name the same records.
        assert_eq!(with_checksum("01t08000009hOSU"), "01t08000009hOSUAA2");
        assert_eq!(with_checksum("01u0800000Z4vj6"), "01u0800000Z4vj6AAB");
        assert_eq!(
            normalize("01t08000009hOSU").as_deref(),
            Some("01t08000009hOSUAA2")
        );
        assert_eq!(
            normalize("01t08000009hosuAA2"),
            None,
            "case matters in the first 15"
        );
    }

    #[test]
    fn ids_carry_the_prefix_and_differ_by_serial() {
        let a = id("a00", "5f", 1);
        let b = id("a00", "5f", 2);
        assert_eq!(a.len(), 18);
        assert!(a.starts_with("a005f"));
        assert_ne!(a, b);
        assert_eq!(normalize(&a[..15]).as_deref(), Some(a.as_str()));
    }
}
