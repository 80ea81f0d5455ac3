//! Content fingerprints: a stable hash of a record's canonical serialization.
//!
//! The canonical serialization is a compact, self-delimiting binary form of serde's data model
//! (a type tag before every value, lengths before strings, end marks after sequences, maps and
//! structs), written into a reused buffer and hashed with XXH3-128 in one call. Every map in the
//! model is ordered (`BTreeMap`, and `serde_json::Map` without `preserve_order`), so key
//! insertion order never changes the bytes; struct fields are hashed with their names.
//!
//! A record a run reads by the million (a stock position) writes the same bytes by hand
//! (`StockPosition::canonical_record`), without serde's dispatch per field.

use std::fmt;

use serde::ser::{self, Serialize};
use serde::{Deserialize, Serialize as SerializeDerive};
use xxhash_rust::xxh3::xxh3_128;

/// A 128-bit content hash; equal fingerprints mean equal canonical content.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, SerializeDerive, Deserialize,
)]
pub struct Fingerprint(pub u128);

impl Fingerprint {
    /// Hashes the canonical serialization of `value`.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Self {
        Self::of_canonical(|out| {
            value
                .serialize(out)
                .expect("hashing a model value cannot fail")
        })
    }

    /// Hashes the canonical bytes `write` puts down.
    pub(crate) fn of_canonical(write: impl FnOnce(&mut Canonical<'_>)) -> Self {
        // Serialize into a reused buffer and hash it in one call: far cheaper than feeding a
        // streaming hasher many small pieces.
        thread_local! {
            static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        BUFFER.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buf) => {
                buf.clear();
                write(&mut Canonical(&mut buf));
                Fingerprint(xxh3_128(&buf))
            }
            // Re-entered from inside a Serialize impl: use a fresh buffer.
            Err(_) => {
                let mut buf = Vec::new();
                write(&mut Canonical(&mut buf));
                Fingerprint(xxh3_128(&buf))
            }
        })
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

/// The error type of the canonical serializer; never produced for model values.
#[derive(Debug)]
pub struct HashError(String);

impl fmt::Display for HashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HashError {}

impl ser::Error for HashError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        HashError(msg.to_string())
    }
}

mod tag {
    pub const BOOL: u8 = 1;
    pub const INT: u8 = 2;
    pub const UINT: u8 = 3;
    pub const FLOAT: u8 = 4;
    pub const STR: u8 = 5;
    pub const BYTES: u8 = 6;
    pub const NONE: u8 = 7;
    pub const SOME: u8 = 8;
    pub const UNIT: u8 = 9;
    pub const VARIANT: u8 = 10;
    pub const SEQ: u8 = 11;
    pub const MAP: u8 = 12;
    pub const STRUCT: u8 = 13;
    pub const END: u8 = 14;
    pub const WIDE: u8 = 15;
}

/// The canonical serializer: serde's data model written as tagged bytes into a buffer.
pub(crate) struct Canonical<'a>(&'a mut Vec<u8>);

impl Canonical<'_> {
    fn byte(&mut self, b: u8) {
        self.0.push(b);
    }

    /// A string, as `serialize_str` writes it (also a field's or a map key's name).
    pub(crate) fn str(&mut self, s: &str) {
        self.tagged(tag::STR, (s.len() as u64).to_le_bytes());
        self.0.extend_from_slice(s.as_bytes());
    }

    /// An integer, as `serialize_i64` writes it.
    pub(crate) fn int(&mut self, v: i64) {
        // Non-negative integers hash like unsigned ones, so that 5i64 and 5u64 agree.
        match v >= 0 {
            true => self.tagged(tag::UINT, v.to_le_bytes()),
            false => self.tagged(tag::INT, v.to_le_bytes()),
        }
    }

    /// The mark `serialize_some` writes before the value.
    pub(crate) fn some(&mut self) {
        self.byte(tag::SOME);
    }

    /// A unit variant, as `serialize_unit_variant` writes it.
    pub(crate) fn unit_variant(&mut self, variant: &str) {
        self.byte(tag::VARIANT);
        self.str(variant);
    }

    /// The start of a struct or map, as `serialize_struct` writes it.
    pub(crate) fn open_struct(&mut self) {
        self.byte(tag::MAP);
    }

    /// The end of a struct, map or sequence.
    pub(crate) fn close(&mut self) {
        self.byte(tag::END);
    }

    /// Any value, through serde.
    pub(crate) fn value<T: Serialize + ?Sized>(&mut self, value: &T) {
        value
            .serialize(&mut *self)
            .expect("hashing a model value cannot fail");
    }

    fn tagged(&mut self, t: u8, bytes: [u8; 8]) {
        self.0.push(t);
        self.0.extend_from_slice(&bytes);
    }
}

type Ok = ();

impl<'a, 'b> ser::Serializer for &'a mut Canonical<'b> {
    type Ok = Ok;
    type Error = HashError;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn serialize_bool(self, v: bool) -> Result<Ok, HashError> {
        self.0.extend_from_slice(&[tag::BOOL, v as u8]);
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<Ok, HashError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<Ok, HashError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<Ok, HashError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<Ok, HashError> {
        self.int(v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<Ok, HashError> {
        match i64::try_from(v) {
            Ok(small) => self.serialize_i64(small),
            Err(_) => {
                self.byte(tag::WIDE);
                self.0.extend_from_slice(&v.to_le_bytes());
                Ok(())
            }
        }
    }
    fn serialize_u8(self, v: u8) -> Result<Ok, HashError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<Ok, HashError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<Ok, HashError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<Ok, HashError> {
        self.tagged(tag::UINT, v.to_le_bytes());
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<Ok, HashError> {
        match u64::try_from(v) {
            Ok(small) => self.serialize_u64(small),
            Err(_) => self.serialize_i128(v as i128),
        }
    }
    fn serialize_f32(self, v: f32) -> Result<Ok, HashError> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<Ok, HashError> {
        self.tagged(tag::FLOAT, v.to_bits().to_le_bytes());
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<Ok, HashError> {
        self.str(v.encode_utf8(&mut [0u8; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<Ok, HashError> {
        self.str(v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Ok, HashError> {
        self.tagged(tag::BYTES, (v.len() as u64).to_le_bytes());
        self.0.extend_from_slice(v);
        Ok(())
    }
    fn serialize_none(self) -> Result<Ok, HashError> {
        self.byte(tag::NONE);
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Ok, HashError> {
        self.some();
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Ok, HashError> {
        self.byte(tag::UNIT);
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Ok, HashError> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Ok, HashError> {
        self.unit_variant(variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Ok, HashError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Ok, HashError> {
        self.byte(tag::VARIANT);
        self.str(variant);
        value.serialize(self)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self, HashError> {
        self.byte(tag::SEQ);
        Ok(self)
    }
    fn serialize_tuple(self, len: usize) -> Result<Self, HashError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Self, HashError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self, HashError> {
        self.byte(tag::VARIANT);
        self.str(variant);
        self.byte(tag::SEQ);
        Ok(self)
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self, HashError> {
        self.byte(tag::MAP);
        Ok(self)
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self, HashError> {
        // Structs hash like maps, so that an internally tagged enum (a map with its tag) and the
        // struct it carries agree however serde routes them.
        self.open_struct();
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self, HashError> {
        self.byte(tag::VARIANT);
        self.str(variant);
        self.byte(tag::STRUCT);
        Ok(self)
    }
}

macro_rules! compound {
    ($trait:ident, $method:ident) => {
        impl<'a, 'b> ser::$trait for &'a mut Canonical<'b> {
            type Ok = Ok;
            type Error = HashError;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), HashError> {
                value.serialize(&mut **self)
            }
            fn end(self) -> Result<Ok, HashError> {
                self.byte(tag::END);
                Ok(())
            }
        }
    };
}

compound!(SerializeSeq, serialize_element);
compound!(SerializeTuple, serialize_element);
compound!(SerializeTupleStruct, serialize_field);
compound!(SerializeTupleVariant, serialize_field);

impl<'a, 'b> ser::SerializeMap for &'a mut Canonical<'b> {
    type Ok = Ok;
    type Error = HashError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), HashError> {
        key.serialize(&mut **self)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), HashError> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<Ok, HashError> {
        self.byte(tag::END);
        Ok(())
    }
}

macro_rules! fields {
    ($trait:ident) => {
        impl<'a, 'b> ser::$trait for &'a mut Canonical<'b> {
            type Ok = Ok;
            type Error = HashError;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), HashError> {
                self.str(key);
                value.serialize(&mut **self)
            }
            fn end(self) -> Result<Ok, HashError> {
                self.byte(tag::END);
                Ok(())
            }
        }
    };
}

fields!(SerializeStruct);
fields!(SerializeStructVariant);

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
        assert_ne!(
            Fingerprint::of(&json!(["ab", "c"])),
            Fingerprint::of(&json!(["a", "bc"]))
        );
        assert_ne!(
            Fingerprint::of(&json!([["a"], []])),
            Fingerprint::of(&json!([[], ["a"]]))
        );
        assert_ne!(
            Fingerprint::of(&json!({"a": null})),
            Fingerprint::of(&json!({}))
        );
        assert_ne!(Fingerprint::of(&json!("1")), Fingerprint::of(&json!(1)));
    }

    #[test]
    fn a_value_hashes_the_same_after_a_json_round_trip() {
        let v = json!({"n": -3, "f": 1.5, "s": "x", "l": [1, {"k": true}]});
        let back: serde_json::Value = serde_json::from_str(&v.to_string()).unwrap();
        assert_eq!(Fingerprint::of(&v), Fingerprint::of(&back));
    }

    #[test]
    fn bytes_round_trip() {
        let fp = Fingerprint::of(&json!([1, 2, 3]));
        assert_eq!(Fingerprint::from_bytes(&fp.to_bytes()), Some(fp));
        assert_eq!(Fingerprint::from_bytes(&[1, 2]), None);
    }
}
