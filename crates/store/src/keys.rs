//! Composite keys: parts joined by a 0x00 byte, so that a prefix scan over the leading parts
//! answers "everything of this pipeline" or "everything of this connector and entity".

/// Joins parts with a 0x00 separator. Parts must not contain 0x00 (names are validated in config).
pub fn compose(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(0);
        }
        out.extend_from_slice(part);
    }
    out
}

/// The prefix that selects every key starting with these whole parts.
pub fn prefix(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = compose(parts);
    out.push(0);
    out
}

/// The part of `key` after `prefix`, as text.
pub fn suffix_str<'k>(key: &'k [u8], prefix: &[u8]) -> Option<&'k str> {
    key.strip_prefix(prefix)
        .and_then(|rest| std::str::from_utf8(rest).ok())
}

/// A printable form of a key for messages.
pub fn printable(key: &[u8]) -> String {
    String::from_utf8_lossy(key).replace('\0', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_selects_only_whole_parts() {
        let k1 = compose(&[b"erp", b"x"]);
        let k2 = compose(&[b"erp2", b"x"]);
        let p = prefix(&[b"erp"]);
        assert!(k1.starts_with(&p));
        assert!(!k2.starts_with(&p));
        assert_eq!(suffix_str(&k1, &p), Some("x"));
    }
}
