//! Small readers over `serde_json` values that name the place of what they refuse, so every
//! translation reports a malformed body by its path (`messages[2].role`).

use crate::{Error, Note};
use serde_json::{Map, Value};

/// A `Malformed` error at `field`.
pub(crate) fn malformed(field: impl Into<String>, why: impl Into<String>) -> Error {
    Error::Malformed { field: field.into(), why: why.into() }
}

/// An `Untranslatable` error at `field`.
pub(crate) fn refuse(field: impl Into<String>, why: impl Into<String>) -> Error {
    Error::Untranslatable { field: field.into(), why: why.into() }
}

/// A note that `field` was dropped.
pub(crate) fn note(field: impl Into<String>, why: &'static str) -> Note {
    Note { field: field.into(), why }
}

/// `value` as an object, or a `Malformed` error at `field`.
pub(crate) fn object<'a>(value: &'a Value, field: &str) -> Result<&'a Map<String, Value>, Error> {
    value.as_object().ok_or_else(|| malformed(field, "expected an object"))
}

/// `value` as an array, or a `Malformed` error at `field`.
pub(crate) fn array<'a>(value: &'a Value, field: &str) -> Result<&'a Vec<Value>, Error> {
    value.as_array().ok_or_else(|| malformed(field, "expected an array"))
}

/// The string `value[key]`, required.
pub(crate) fn string<'a>(value: &'a Value, key: &str, at: &str) -> Result<&'a str, Error> {
    value.get(key).and_then(Value::as_str).ok_or_else(|| malformed(format!("{at}.{key}"), "expected a string"))
}

/// The string `value[key]`, if there is one.
pub(crate) fn opt_str<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// The unsigned number `value[key]`, if there is one.
pub(crate) fn opt_u64(value: &Value, key: &str) -> Option<u64> {
    value.get(key).and_then(Value::as_u64)
}

/// The type tag of an object (`type`), or the empty string.
pub(crate) fn kind(value: &Value) -> &str {
    opt_str(value, "type").unwrap_or_default()
}

/// Text from a content that is a string or a list of text parts (whatever their type tag),
/// joined; a part of another kind is refused at its place.
pub(crate) fn text_of(content: &Value, at: &str, text_kinds: &[&str]) -> Result<String, Error> {
    match content {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Ok(String::new()),
        Value::Array(parts) => {
            let mut text = String::new();
            for (i, part) in parts.iter().enumerate() {
                let here = format!("{at}[{i}]");
                if !text_kinds.contains(&kind(part)) {
                    return Err(refuse(format!("{here}.type"), "only text can stand here in the other API"));
                }
                text.push_str(string(part, "text", &here)?);
            }
            Ok(text)
        }
        _ => Err(malformed(at, "expected a string or a list of parts")),
    }
}
