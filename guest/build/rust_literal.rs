//! A serde serializer that writes a value as a Rust expression, for `build.rs` to emit statics.
//!
//! Structs become `Name { field: … }` (kebab-case keys back to snake_case), sequences become
//! `&[…]` slices, strings become escaped literals, and unit variants become `Enum::Variant`.
//! Maps, floats and other shapes the rule schema does not use are refused.

use serde::ser::{self, Serialize};
use std::fmt::{self, Display, Write};

/// Writes `value` as a Rust expression.
pub fn to_rust<T: Serialize>(value: &T) -> Result<String, Error> {
    let mut out = RustLiteral { out: String::new() };
    value.serialize(&mut out)?;
    Ok(out.out)
}

#[derive(Debug)]
pub struct Error(String);

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

struct RustLiteral {
    out: String,
}

fn unsupported<T>(what: &str) -> Result<T, Error> {
    Err(Error(format!("the rule schema has no {what}")))
}

/// `image-generate` → `ImageGenerate`.
pub fn camel(kebab: &str) -> String {
    kebab
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

impl ser::Serializer for &mut RustLiteral {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = Self;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        write!(self.out, "{v}").map_err(ser::Error::custom)
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        write!(self.out, "{v}").map_err(ser::Error::custom)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        write!(self.out, "{v}").map_err(ser::Error::custom)
    }
    fn serialize_f32(self, _: f32) -> Result<(), Error> {
        unsupported("floats")
    }
    fn serialize_f64(self, _: f64) -> Result<(), Error> {
        unsupported("floats")
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        write!(self.out, "{v:?}").map_err(ser::Error::custom)
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        // Debug formatting of a str is a valid Rust string literal.
        write!(self.out, "{v:?}").map_err(ser::Error::custom)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        unsupported("byte strings")
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.out.push_str("None");
        Ok(())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Error> {
        self.out.push_str("Some(");
        value.serialize(&mut *self)?;
        self.out.push(')');
        Ok(())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.push_str("()");
        Ok(())
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<(), Error> {
        self.out.push_str(name);
        Ok(())
    }
    fn serialize_unit_variant(self, name: &'static str, _: u32, variant: &'static str) -> Result<(), Error> {
        write!(self.out, "{name}::{}", camel(variant)).map_err(ser::Error::custom)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        unsupported("enums with data")
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, Error> {
        self.out.push_str("&[");
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, Error> {
        self.out.push('(');
        Ok(self)
    }
    fn serialize_tuple_struct(self, name: &'static str, _: usize) -> Result<Self, Error> {
        write!(self.out, "{name}(").map_err(ser::Error::custom)?;
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        unsupported("enums with data")
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        unsupported("maps")
    }
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Self, Error> {
        write!(self.out, "{name} {{ ").map_err(ser::Error::custom)?;
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        unsupported("enums with data")
    }
}

impl ser::SerializeSeq for &mut RustLiteral {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut **self)?;
        self.out.push_str(", ");
        Ok(())
    }
    fn end(self) -> Result<(), Error> {
        self.out.push(']');
        Ok(())
    }
}

impl ser::SerializeTuple for &mut RustLiteral {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Error> {
        self.out.push(')');
        Ok(())
    }
}

impl ser::SerializeTupleStruct for &mut RustLiteral {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Error> {
        self.out.push(')');
        Ok(())
    }
}

impl ser::SerializeStruct for &mut RustLiteral {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        write!(self.out, "{}: ", key.replace('-', "_")).map_err(ser::Error::custom)?;
        value.serialize(&mut **self)?;
        self.out.push_str(", ");
        Ok(())
    }
    fn end(self) -> Result<(), Error> {
        self.out.push('}');
        Ok(())
    }
}
