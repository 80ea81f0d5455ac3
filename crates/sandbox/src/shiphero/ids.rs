//! Base64 (standard; decoding URL-safe too), ShipHero's opaque ids (`base64("<Type>:<int>")`), 24-hex
//! inventory-sync ids and the `2019-10-07T16:39:23+00:00` datetime format.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn encode_with(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let symbols = chunk.len() + 1;
        for i in 0..4 {
            if i < symbols {
                out.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 with padding.
pub fn encode(bytes: &[u8]) -> String {
    encode_with(bytes, STD, true)
}

/// Decodes standard or URL-safe base64, padded or not.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for c in text.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
        }
    }
    Some(out)
}

/// The opaque id of `<kind>:<legacy>` (`Warehouse:4350` → `V2FyZWhvdXNlOjQzNTA=`).
pub fn global_id(kind: &str, legacy: u64) -> String {
    encode(format!("{kind}:{legacy}").as_bytes())
}

/// The type and legacy id inside an opaque id; a bare number is taken as a legacy id.
pub fn parse_global_id(id: &str) -> Option<(String, u64)> {
    if let Ok(n) = id.trim().parse::<u64>() {
        return Some((String::new(), n));
    }
    let text = String::from_utf8(decode(id.trim())?).ok()?;
    let (kind, n) = text.split_once(':')?;
    Some((kind.to_string(), n.parse().ok()?))
}

/// A fresh 24-hex id (like a Mongo ObjectId: seconds, then random).
pub fn hex_id() -> String {
    format!(
        "{:08x}{:016x}",
        Utc::now().timestamp() as u32,
        fastrand::u64(..)
    )
}

/// `2019-10-07T16:39:23+00:00`.
pub fn format_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

/// Parses RFC 3339, `YYYY-MM-DD HH:MM:SS`, `YYYY-MM-DDTHH:MM:SS` (UTC) or a bare date.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_as_the_reference_shows() {
        assert_eq!(global_id("Warehouse", 4350), "V2FyZWhvdXNlOjQzNTA=");
        assert_eq!(
            parse_global_id("V2FyZWhvdXNlOjQzNTA="),
            Some(("Warehouse".to_string(), 4350))
        );
        assert_eq!(encode(b"f"), "Zg==");
        assert_eq!(encode(b"fo"), "Zm8=");
        assert_eq!(decode("-_8").unwrap(), b"\xfb\xff");
        assert_eq!(hex_id().len(), 24);
    }
}
