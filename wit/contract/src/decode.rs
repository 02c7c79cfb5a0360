//! The strict JSON decoder of the WIT vocabulary: what every host accepts as a request, and the
//! words it refuses the rest with.
//!
//! serde alone would be lenient where a contract must not be (a record from an array of its
//! fields, an enum from `{"chat": null}`, the last of two equal keys) and would quote offending
//! values whole. So a request is first parsed noting any key given twice, then checked against
//! the WIT's own shapes (`wit/v0.2/route-policy.wit`, compiled in by `build.rs`), and only then
//! handed to serde, which can no longer fail. The rules, which the Node host runs too (this
//! very code, in the toolkit component of `wit/v0.2/toolkit.wit`):
//!
//! - a record is a JSON object; a `list` or `tuple` an array; a `string` a string; `u16`, `u32`
//!   and `u64` integers in range (`u64` up to 2^53 − 1, what JSON carries exactly); an enum a
//!   string naming a case; an `option` null, absent, or its type;
//! - an object's keys are checked in code-point order (not the order written, which a parsed
//!   map may not keep): an unknown key is refused; then the first missing field in WIT order. A
//!   `list` or `option` field may be omitted, as may [`JSON_DEFAULTS`];
//! - a key given twice anywhere is refused before anything else;
//! - a message quotes a value the input gave (an unknown key or enum value) only when it is a
//!   plain name ([`quoted`]); anything else is shown as `[redacted]`, so no secret is echoed.

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::cell::{Cell, RefCell};
use std::fmt::{self, Write};

use crate::wit;

/// Fields that JSON may omit although their WIT type is neither a `list` nor an `option`: the
/// record, the field, and the value it then takes (as CONTRACT.md's JSON).
pub const JSON_DEFAULTS: &[(&str, &str, &str)] = &[
    ("provider-failure", "body", "\"\""),
    ("provider-failure", "attempt", "1"),
    ("http-response", "body", "\"\""),
    ("network-failure", "detail", "\"\""),
    ("stream-fault", "events", "0"),
    ("stream-fault", "detail", "\"\""),
    ("route-health", "failures", "0"),
    ("route-health", "opened", "0"),
    ("call-state", "streaming", "false"),
    ("call-state", "jitter-seed", "0"),
];

/// The largest integer a `u64` field takes: 2^53 − 1, the largest JSON carries exactly.
pub const MAX_JSON_INTEGER: u64 = (1 << 53) - 1;

/// A step of the path to a problem: a field or an index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// Where a problem is, as `credentials[0].kind`; empty at the top.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Path(pub Vec<Step>);

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (at, step) in self.0.iter().enumerate() {
            match step {
                Step::Key(key) if at == 0 => f.write_str(plain_or_redacted(key))?,
                Step::Key(key) => write!(f, ".{}", plain_or_redacted(key))?,
                Step::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// A problem with a request: where, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub path: Path,
    pub what: String,
}

impl Problem {
    fn at(path: &[Step], what: String) -> Problem {
        Problem { path: Path(path.to_vec()), what }
    }
}

/// A key given twice, and where.
pub type Duplicate = Problem;

/// Parses JSON text, noting the first key given twice (in document order) instead of silently
/// keeping the last; the value keeps the last, as every JSON parser does.
pub fn parse(text: &str) -> Result<(Value, Option<Duplicate>), serde_json::Error> {
    let state = Parse { path: RefCell::new(Vec::new()), duplicate: RefCell::new(None), values: Cell::new(0) };
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = Node(&state).deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok((value, state.duplicate.into_inner()))
}

/// The most JSON values (scalars, arrays and objects) a line may hold. A parsed value takes
/// tens of bytes however short its text, so a 32 MiB line of `[0,0,…]` would take a gigabyte;
/// no request of the contract comes near this many.
pub const MAX_VALUES: usize = 1 << 18;

/// The start of the parse error for a line past [`MAX_VALUES`], which `wire` words as a refusal.
pub const TOO_MANY_VALUES: &str = "too many JSON values";

struct Parse {
    path: RefCell<Vec<Step>>,
    duplicate: RefCell<Option<Duplicate>>,
    /// Values parsed so far, checked against [`MAX_VALUES`] before each one is built.
    values: Cell<usize>,
}

/// One JSON value, parsed with the path to it known.
struct Node<'a>(&'a Parse);

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        let values = self.0.values.get() + 1;
        if values > MAX_VALUES {
            return Err(serde::de::Error::custom(TOO_MANY_VALUES));
        }
        self.0.values.set(values);
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(number(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            self.0.path.borrow_mut().push(Step::Index(items.len()));
            let item = seq.next_element_seed(Node(self.0));
            self.0.path.borrow_mut().pop();
            match item? {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) && self.0.duplicate.borrow().is_none() {
                let what = format!("duplicate field {}", quoted(&key));
                *self.0.duplicate.borrow_mut() = Some(Problem::at(&self.0.path.borrow(), what));
            }
            self.0.path.borrow_mut().push(Step::Key(key.clone()));
            let value = map.next_value_seed(Node(self.0));
            self.0.path.borrow_mut().pop();
            object.insert(key, value?);
        }
        Ok(Value::Object(object))
    }
}

/// A JSON number as JavaScript reads it: `5.0` is the integer 5 (within 2^53).
fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() <= MAX_JSON_INTEGER as f64 { Value::from(v as i64) } else { Value::from(v) }
}

/// Makes the integral floats of a value integers, as [`parse`] does (for values parsed
/// elsewhere, such as vector files).
pub fn normalize(value: &mut Value) {
    match value {
        Value::Number(n) if n.is_f64() => *value = number(n.as_f64().unwrap_or(f64::NAN)),
        Value::Array(items) => items.iter_mut().for_each(normalize),
        Value::Object(object) => object.values_mut().for_each(normalize),
        _ => {}
    }
}

/// Checks `value` against the WIT type `ty` (as written in the WIT: `option<list<string>>`).
pub fn check(value: &Value, ty: &str, path: &mut Vec<Step>) -> Result<(), Problem> {
    let wrong = |path: &[Step]| Problem::at(path, format!("expected {}, not {}", expected(ty), shown_kind(value)));
    if let Some(inner) = generic(ty, "option") {
        return if value.is_null() { Ok(()) } else { check(value, inner, path) };
    }
    if let Some(item) = generic(ty, "list") {
        let Value::Array(items) = value else { return Err(wrong(path)) };
        return items.iter().enumerate().try_for_each(|(at, item_value)| {
            path.push(Step::Index(at));
            let outcome = check(item_value, item, path);
            path.pop();
            outcome
        });
    }
    if let Some(members) = generic(ty, "tuple") {
        let types = split_top(members);
        let Value::Array(items) = value else { return Err(wrong(path)) };
        if items.len() != types.len() {
            let what = format!("expected {}, not an array of {}", expected(ty), items.len());
            return Err(Problem::at(path, what));
        }
        return items.iter().zip(types).enumerate().try_for_each(|(at, (item, member))| {
            path.push(Step::Index(at));
            let outcome = check(item, member, path);
            path.pop();
            outcome
        });
    }
    match ty {
        "string" => value.is_string().then_some(()).ok_or_else(|| wrong(path)),
        "bool" => value.is_boolean().then_some(()).ok_or_else(|| wrong(path)),
        "u16" | "u32" | "u64" => match integer(value) {
            Some(n) if n >= 0 && (n as u64) <= max_of(ty) => Ok(()),
            _ => Err(wrong(path)),
        },
        _ if variant_cases(ty).is_some() => check_variant(value, ty, path),
        _ => {
            if let Some(cases) = enum_cases(ty) {
                let Value::String(case) = value else { return Err(wrong(path)) };
                if cases.contains(&case.as_str()) {
                    return Ok(());
                }
                let what = format!("unknown value {}; expected {}", quoted(case), one_of(cases));
                return Err(Problem::at(path, what));
            }
            let fields =
                record_fields(ty).unwrap_or_else(|| panic!("the WIT type `{ty}` is neither built in nor declared"));
            let Value::Object(object) = value else { return Err(wrong(path)) };
            for (key, field_value) in object_in_order(object) {
                let Some((_, field_ty)) = fields.iter().find(|(name, _)| name == key) else {
                    let names: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
                    return Err(Problem::at(
                        path,
                        format!("unknown field {}; expected {}", quoted(key), one_of(&names)),
                    ));
                };
                path.push(Step::Key(key.clone()));
                let outcome = check(field_value, field_ty, path);
                path.pop();
                outcome?;
            }
            match fields.iter().find(|(name, field_ty)| !object.contains_key(*name) && !may_omit(ty, name, field_ty)) {
                Some((name, _)) => Err(Problem::at(path, format!("missing field `{name}`"))),
                None => Ok(()),
            }
        }
    }
}

/// A variant: `{"case": payload}` with exactly one case, or `"case"` for a case without a
/// payload (serde's external tagging, as the vocabulary's enums of data are written).
fn check_variant(value: &Value, ty: &str, path: &mut Vec<Step>) -> Result<(), Problem> {
    let cases = variant_cases(ty).unwrap_or_default();
    let names: Vec<&str> = cases.iter().map(|(name, _)| *name).collect();
    let (case, payload) = match value {
        Value::String(case) => (case.as_str(), None),
        Value::Object(object) if object.len() == 1 => {
            let (case, payload) = object.iter().next().expect("one entry");
            (case.as_str(), Some(payload))
        }
        _ => {
            let what = format!("expected an object with one of {}, not {}", one_of(&names), shown_kind(value));
            return Err(Problem::at(path, what));
        }
    };
    let Some((_, payload_ty)) = cases.iter().find(|(name, _)| *name == case) else {
        return Err(Problem::at(path, format!("unknown case {}; expected {}", quoted(case), one_of(&names))));
    };
    match (payload, payload_ty.is_empty()) {
        (None, true) => Ok(()),
        (Some(payload), false) => {
            path.push(Step::Key(case.to_owned()));
            let outcome = check(payload, payload_ty, path);
            path.pop();
            outcome
        }
        (None, false) => Err(Problem::at(path, format!("case `{case}` needs its {}", expected(payload_ty)))),
        (Some(_), true) => Err(Problem::at(path, format!("case `{case}` takes no value; write it as the string"))),
    }
}

/// The cases of a WIT variant, with their payload types (empty for none), in order.
pub fn variant_cases(name: &str) -> Option<&'static [(&'static str, &'static str)]> {
    wit::VARIANTS.iter().find(|(n, _)| *n == name).map(|(_, cases)| *cases)
}

/// Whether JSON may omit `field` of `record`.
pub fn may_omit(record: &str, field: &str, ty: &str) -> bool {
    generic(ty, "option").is_some()
        || generic(ty, "list").is_some()
        || JSON_DEFAULTS.iter().any(|(r, f, _)| *r == record && *f == field)
}

/// The fields of a WIT record, in order.
pub fn record_fields(name: &str) -> Option<&'static [(&'static str, &'static str)]> {
    wit::RECORDS.iter().find(|(n, _)| *n == name).map(|(_, fields)| *fields)
}

/// The cases of a WIT enum, in order.
pub fn enum_cases(name: &str) -> Option<&'static [&'static str]> {
    wit::ENUMS.iter().find(|(n, _)| *n == name).map(|(_, cases)| *cases)
}

/// An object's entries by key, in code-point order: the order both hosts check them in, whatever
/// the order they were written in (a `Map` may or may not keep it).
fn object_in_order(object: &Map<String, Value>) -> impl Iterator<Item = (&String, &Value)> {
    let mut entries: Vec<(&String, &Value)> = object.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    entries.into_iter()
}

/// `T` of `name<T>`, if `ty` is one.
fn generic<'t>(ty: &'t str, name: &str) -> Option<&'t str> {
    ty.strip_prefix(name)?.strip_prefix('<')?.strip_suffix('>').map(str::trim)
}

/// The members of `A, B`, split at top-level commas.
fn split_top(members: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (at, c) in members.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(members[start..at].trim());
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(members[start..].trim());
    parts
}

fn max_of(ty: &str) -> u64 {
    match ty {
        "u16" => u16::MAX.into(),
        "u32" => u32::MAX.into(),
        _ => MAX_JSON_INTEGER,
    }
}

/// A JSON number as an integer, if it is one that JSON carries exactly (`5.0` is 5).
fn integer(value: &Value) -> Option<i64> {
    let n = value.as_number()?;
    let exact = |v: i64| (v.unsigned_abs() <= MAX_JSON_INTEGER).then_some(v);
    if let Some(v) = n.as_i64() {
        return exact(v);
    }
    if n.as_u64().is_some() {
        return None;
    }
    let f = n.as_f64()?;
    (f.fract() == 0.0 && f.abs() <= MAX_JSON_INTEGER as f64).then_some(f as i64)
}

/// What a WIT type takes, for messages.
fn expected(ty: &str) -> String {
    if let Some(inner) = generic(ty, "option") {
        return format!("{} or null", expected(inner));
    }
    if generic(ty, "list").is_some() {
        return "an array".to_owned();
    }
    if let Some(members) = generic(ty, "tuple") {
        return format!("an array of {} items", split_top(members).len());
    }
    match ty {
        "string" => "a string".to_owned(),
        "bool" => "true or false".to_owned(),
        "u16" | "u32" | "u64" => format!("an integer from 0 to {}", max_of(ty)),
        _ => match enum_cases(ty) {
            Some(cases) => one_of(cases),
            None => "an object".to_owned(),
        },
    }
}

/// What a JSON value is, for messages: its kind, or the integer itself (numbers hold no
/// secrets, and `-1` says more than "a number").
fn shown_kind(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(_) => "a boolean".to_owned(),
        Value::Number(_) => match integer(value) {
            Some(n) => n.to_string(),
            None if value.as_f64().is_some_and(|f| f.fract() != 0.0) => "a fractional number".to_owned(),
            None => "a number beyond 2^53".to_owned(),
        },
        Value::String(_) => "a string".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// `one of `a`, `b``, for the cases or fields a value may be.
fn one_of(names: &[&str]) -> String {
    let mut out = String::from("one of ");
    for (at, name) in names.iter().enumerate() {
        let _ = write!(out, "{}`{name}`", if at == 0 { "" } else { ", " });
    }
    out
}

/// A value the input gave, quoted for a message when it is a plain name: 1 to 40 ASCII
/// letters, digits, `_`, `.` and `-`, starting with a letter, with at most 4 digits. Anything
/// else may be a pasted secret and is shown as `` `[redacted]` ``.
pub fn quoted(value: &str) -> String {
    format!("`{}`", plain_or_redacted(value))
}

fn plain_or_redacted(value: &str) -> &str {
    let plain = (1..=40).contains(&value.len())
        && value.starts_with(|c: char| c.is_ascii_alphabetic())
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        && value.bytes().filter(u8::is_ascii_digit).count() <= 4;
    if plain { value } else { crate::redact::REDACTED }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{EndpointRequest, FallbackRequest, ProviderFailure};
    use serde_json::json;

    /// Every field present, nested records included.
    fn full() -> [(&'static str, Value); 3] {
        let credential = json!({"profile-id": "k", "provider": "openai", "kind": "api-key", "plan": "api"});
        let config = json!({"id": "openai", "base-url": "https://api.openai.com/v1", "api": "openai-responses", "deployment": "d"});
        [
            (
                "endpoint-request",
                json!({"model": "gpt-5.5", "capability": "chat", "providers": [config], "credentials": [credential], "env-base-url": "https://x.example"}),
            ),
            (
                "fallback-request",
                json!({"capability": "chat", "primary": "gpt-5.5", "fallbacks": ["gpt-5.2"], "explicit-override": "gpt-5.5",
                    "credentials": [credential], "rejections": [{"model": "m", "plan": "plus", "reason": "blocked"}],
                    "max-candidates": 3, "providers": [config], "env-base-url": "https://x.example"}),
            ),
            (
                "provider-failure",
                json!({"status": 429, "headers": [["retry-after", "1"]], "body": "b", "network-error": "ETIMEDOUT",
                    "request-url": "https://x.example", "model": "gpt-5.5", "credential-kind": "oauth", "plan": "plus",
                    "capability": "chat", "attempt": 2, "now-ms": 1}),
            ),
        ]
    }

    fn serde_accepts(record: &str, value: &Value) -> bool {
        match record {
            "endpoint-request" => serde_json::from_value::<EndpointRequest>(value.clone()).is_ok(),
            "fallback-request" => serde_json::from_value::<FallbackRequest>(value.clone()).is_ok(),
            _ => serde_json::from_value::<ProviderFailure>(value.clone()).is_ok(),
        }
    }

    /// The checks and serde agree on which fields may be left out, nested records included, so
    /// `may_omit` and `JSON_DEFAULTS` say what the vocabulary's serde attributes do.
    #[test]
    fn omitting_a_field_is_refused_exactly_when_serde_refuses_it() {
        for (record, value) in full() {
            assert!(check(&value, record, &mut Vec::new()).is_ok() && serde_accepts(record, &value), "{record}");
            let mut paths: Vec<Vec<String>> = value.as_object().unwrap().keys().map(|k| vec![k.clone()]).collect();
            for nested in ["credentials", "providers", "rejections"] {
                if let Some(Value::Array(items)) = value.get(nested) {
                    for key in items[0].as_object().unwrap().keys() {
                        paths.push(vec![nested.to_owned(), key.clone()]);
                    }
                }
            }
            for path in paths {
                let mut without = value.clone();
                match path.as_slice() {
                    [key] => without.as_object_mut().unwrap().remove(key),
                    [list, key] => without[list][0].as_object_mut().unwrap().remove(key),
                    _ => unreachable!(),
                };
                let checked = check(&without, record, &mut Vec::new());
                assert_eq!(checked.is_ok(), serde_accepts(record, &without), "{record} without {path:?}: {checked:?}");
            }
        }
    }

    #[test]
    fn every_refusal_names_its_place_and_never_a_secret() {
        let problem = |value: Value| check(&value, "endpoint-request", &mut Vec::new()).unwrap_err();
        let p = problem(
            json!({"model": "m", "capability": "chat", "credentials": [{"profile-id": "k", "provider": "p", "kind": "pw", "plan": "api"}]}),
        );
        assert_eq!(
            (p.path.to_string(), p.what.as_str()),
            ("credentials[0].kind".to_owned(), "unknown value `pw`; expected one of `api-key`, `oauth`, `token`")
        );
        let p = problem(json!({"model": "m", "capability": "sk-proj-abcd1234efgh5678"}));
        assert!(p.what.starts_with("unknown value `[redacted]`"), "{}", p.what);
        let p = problem(json!({"model": "m", "capability": "chat", "sk-proj-abcd1234efgh5678": 1}));
        assert!(p.what.starts_with("unknown field `[redacted]`"), "{}", p.what);
        // Keys are checked in code-point order: `capability` before `model`.
        let p = problem(json!({"model": 1, "capability": 2}));
        assert_eq!(p.path.to_string(), "capability");
    }

    #[test]
    fn quoting_shows_only_plain_names() {
        for plain in ["teleport", "base_url", "api-key", "gpt-5.2", "a1b2c3d4"] {
            assert_eq!(quoted(plain), format!("`{plain}`"));
        }
        for hidden in ["", "sk-proj-abc123def456", "hello world", "1abc", "é", "x".repeat(41).as_str(), "a`b"] {
            assert_eq!(quoted(hidden), "`[redacted]`", "{hidden:?}");
        }
    }

    #[test]
    fn duplicates_are_found_in_document_order_with_their_path() {
        let (value, duplicate) = parse(r#"{"a":{"b":1,"b":2},"a":3}"#).unwrap();
        assert_eq!(value, json!({"a": 3}));
        let duplicate = duplicate.unwrap();
        assert_eq!((duplicate.path.to_string(), duplicate.what.as_str()), ("a".to_owned(), "duplicate field `b`"));
        assert_eq!(parse(r#"[{"k":1},{"k":1}]"#).unwrap().1, None);
    }
}
