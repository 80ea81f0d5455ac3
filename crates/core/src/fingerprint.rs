//! Content fingerprints: a stable hash of a record's canonical serialization.

use std::fmt;
use std::io;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

/// A 128-bit content hash; equal fingerprints mean equal canonical content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Fingerprint(pub u128);

impl Fingerprint {
    /// Hashes the canonical JSON serialization of `value`.
    ///
    /// Canonical because every map in the model is ordered (`BTreeMap`, and `serde_json::Map`
    /// without `preserve_order`), so field and key insertion order never changes the bytes.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Self {
        let mut writer = HashWriter(Xxh3::new());
        serde_json::to_writer(&mut writer, value)
            .expect("serializing a model value into a hasher cannot fail");
        Fingerprint(writer.0.digest128())
    }

    /// The fingerprint as 16 big-endian bytes, for storage.
    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }

    /// Reads a fingerprint back from its 16 stored bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; 16] = bytes.get(..16)?.try_into().ok()?;
        Some(Fingerprint(u128::from_be_bytes(arr)))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

struct HashWriter(Xxh3);

impl io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_object_key_order_does_not_change_the_fingerprint() {
        let a: serde_json::Value = serde_json::from_str(r#"{"b":1,"a":{"y":2,"x":3}}"#).unwrap();
        let b: serde_json::Value = serde_json::from_str(r#"{"a":{"x":3,"y":2},"b":1}"#).unwrap();
        assert_eq!(Fingerprint::of(&a), Fingerprint::of(&b));
    }

    #[test]
    fn different_content_gives_a_different_fingerprint() {
        assert_ne!(
            Fingerprint::of(&json!({"a": 1})),
            Fingerprint::of(&json!({"a": 2}))
        );
    }

    #[test]
    fn bytes_round_trip() {
        let fp = Fingerprint::of(&json!([1, 2, 3]));
        assert_eq!(Fingerprint::from_bytes(&fp.to_bytes()), Some(fp));
        assert_eq!(Fingerprint::from_bytes(&[1, 2]), None);
    }
}
