//! Conformance vectors: JSON files of requests and the answer fields they must produce, run by
//! the native tests, the wasmtime tests, `route-policy check` and the Node host alike.
//!
//! A file is `{"op": …, "about": …, "cases": [{"name", "source", "op"?, "input", "expect",
//! "never"?}]}`. `expect` is a pattern for the answer (`{"ok": …}` or `{"err": …}`):
//! - an object matches an object that has at least its keys, each matching; a `null` value
//!   matches a missing or null field;
//! - an array matches an array of the same length, element by element;
//! - a string, number or boolean matches an equal value;
//! - an object with one `$` key is a matcher: `{"$contains": s}` (a string containing `s`, or an
//!   array with such a string; `s` may be a list), `{"$excludes": s}` (nothing inside contains
//!   `s`), `{"$prefix": s}`, `{"$len": n}`, `{"$absent": true}`, `{"$between": [low, high]}`
//!   (a number within the bounds, inclusive).
//!
//! `never` lists strings that must not appear anywhere in the answer (planted secrets).
//!
//! An input that does not decode (an unknown enum value, a missing field) is answered as every
//! host answers it: `{"err": {"code": "invalid-input", "message": …}}`, the message naming the
//! problem. Vectors match such messages only on what any host must name: the field, the value.

use crate::types::PolicyError;
use crate::wire::{Call, OPS};
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A vector file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorFile {
    pub op: Option<String>,
    #[serde(default)]
    pub about: String,
    pub cases: Vec<Case>,
}

/// One case.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    #[serde(default)]
    pub source: String,
    pub op: Option<String>,
    #[serde(default)]
    pub input: Option<Value>,
    pub expect: Value,
    #[serde(default)]
    pub never: Vec<String>,
}

impl Case {
    /// The case's op: its own, else its file's.
    pub fn op<'a>(&'a self, file: &'a VectorFile) -> Option<&'a str> {
        self.op.as_deref().or(file.op.as_deref())
    }

    /// The call this case makes, or the `invalid-input` error its input earns (a case may test
    /// that bad input is refused by name).
    pub fn call(&self, file: &VectorFile) -> Result<Result<Call, PolicyError>, String> {
        let op = self.op(file).ok_or_else(|| format!("case `{}` names no op (and its file none)", self.name))?;
        Ok(Call::new(op, self.input.clone()))
    }

    /// The case's answer through `answer`: the call's, or the input's decoding error as a host
    /// writes it (`{"err": {"code": "invalid-input", …}}`).
    pub fn answer(&self, file: &VectorFile, answer: impl FnOnce(&Call) -> Value) -> Result<Value, String> {
        Ok(match self.call(file)? {
            Ok(call) => answer(&call),
            Err(error) => crate::wire::err(error.code.as_str(), &error.message),
        })
    }

    /// Checks an answer against `expect` and `never`.
    pub fn check(&self, answer: &Value) -> Result<(), String> {
        check(&self.expect, &self.never, answer)
    }
}

/// Checks an answer against a case's `expect` pattern and `never` list.
pub fn check(expect: &Value, never: &[String], answer: &Value) -> Result<(), String> {
    matches(expect, answer, "answer")?;
    let text = answer.to_string();
    for secret in never {
        if text.contains(secret.as_str()) {
            return Err(format!("the answer contains `{secret}`, which must never appear"));
        }
    }
    Ok(())
}

/// Reads a vector file.
pub fn load(path: &Path) -> Result<VectorFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file: VectorFile = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    for case in &file.cases {
        match case.op(&file) {
            Some(op) if OPS.contains(&op) => {}
            other => {
                return Err(format!(
                    "{}: case `{}` has op {other:?}; expected one of {}",
                    path.display(),
                    case.name,
                    OPS.join(", ")
                ));
            }
        }
    }
    Ok(file)
}

/// Every `*.json` file under `dir`, sorted by path.
pub fn files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The failures of one file, run through `answer` (a host's way to call the policy).
pub fn run(file: &VectorFile, mut answer: impl FnMut(&Call) -> Value) -> Vec<String> {
    let mut failures = Vec::new();
    for case in &file.cases {
        let outcome = case.answer(file, &mut answer).and_then(|answer| case.check(&answer));
        if let Err(why) = outcome {
            failures.push(format!("{}: {why}", case.name));
        }
    }
    failures
}

/// Whether `actual` matches the pattern `expect`; the error names the path of the mismatch.
pub fn matches(expect: &Value, actual: &Value, path: &str) -> Result<(), String> {
    let mismatch = |what: String| Err(format!("{path}: {what}"));
    match expect {
        Value::Object(pattern) if pattern.len() == 1 && pattern.keys().all(|k| k.starts_with('$')) => {
            let (matcher, arg) = pattern.iter().next().expect("one key");
            matcher_matches(matcher, arg, actual).map_err(|why| format!("{path}: {why}"))
        }
        Value::Object(pattern) => {
            let Value::Object(object) = actual else {
                return mismatch(format!("expected an object, got {actual}"));
            };
            for (key, want) in pattern {
                let child = format!("{path}.{key}");
                match (object.get(key), want) {
                    (None | Some(Value::Null), Value::Null) => {}
                    (None, Value::Object(m)) if m.contains_key("$absent") => {}
                    (None, _) => return Err(format!("{child}: missing, expected {want}")),
                    (Some(got), want) => matches(want, got, &child)?,
                }
            }
            Ok(())
        }
        Value::Array(items) => {
            let Value::Array(got) = actual else {
                return mismatch(format!("expected an array, got {actual}"));
            };
            if items.len() != got.len() {
                return mismatch(format!("expected {} items, got {}: {actual}", items.len(), got.len()));
            }
            items
                .iter()
                .zip(got)
                .enumerate()
                .try_for_each(|(i, (want, got))| matches(want, got, &format!("{path}[{i}]")))
        }
        scalar if scalar == actual => Ok(()),
        scalar => mismatch(format!("expected {scalar}, got {actual}")),
    }
}

fn matcher_matches(matcher: &str, arg: &Value, actual: &Value) -> Result<(), String> {
    let strings = |arg: &Value| -> Result<Vec<String>, String> {
        match arg {
            Value::String(s) => Ok(vec![s.clone()]),
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_owned).ok_or("matcher lists hold strings".to_owned()))
                .collect(),
            _ => Err(format!("{matcher} takes a string or a list of strings")),
        }
    };
    match matcher {
        "$contains" => {
            for needle in strings(arg)? {
                let found = match actual {
                    Value::String(s) => s.contains(&needle),
                    Value::Array(items) => items.iter().any(|i| i.as_str().is_some_and(|s| s.contains(&needle))),
                    _ => false,
                };
                if !found {
                    return Err(format!("expected something containing `{needle}`, got {actual}"));
                }
            }
            Ok(())
        }
        "$excludes" => {
            let text = actual.to_string();
            for needle in strings(arg)? {
                if text.contains(&needle) {
                    return Err(format!("expected no `{needle}`, got {actual}"));
                }
            }
            Ok(())
        }
        "$prefix" => {
            let prefix = arg.as_str().ok_or("$prefix takes a string")?;
            match actual.as_str() {
                Some(s) if s.starts_with(prefix) => Ok(()),
                _ => Err(format!("expected a string starting `{prefix}`, got {actual}")),
            }
        }
        "$len" => {
            let want = arg.as_u64().ok_or("$len takes a number")?;
            match actual.as_array() {
                Some(items) if items.len() as u64 == want => Ok(()),
                _ => Err(format!("expected {want} items, got {actual}")),
            }
        }
        "$absent" => match actual {
            Value::Null => Ok(()),
            _ => Err(format!("expected nothing, got {actual}")),
        },
        "$between" => {
            let bounds = arg.as_array().and_then(|b| Some((b.first()?.as_f64()?, b.get(1)?.as_f64()?)));
            let (low, high) = bounds.ok_or("$between takes [low, high]")?;
            match actual.as_f64() {
                Some(n) if (low..=high).contains(&n) => Ok(()),
                _ => Err(format!("expected a number from {low} to {high}, got {actual}")),
            }
        }
        other => Err(format!("unknown matcher `{other}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patterns_match_subsets_and_matchers() {
        let actual = json!({"ok": {"a": 1, "b": ["x-y", "z"], "c": null}});
        assert!(matches(&json!({"ok": {"a": 1}}), &actual, "answer").is_ok());
        assert!(matches(&json!({"ok": {"c": null, "d": null}}), &actual, "answer").is_ok());
        assert!(matches(&json!({"ok": {"b": {"$contains": "x-"}}}), &actual, "answer").is_ok());
        assert!(matches(&json!({"ok": {"b": {"$len": 2}}}), &actual, "answer").is_ok());
        assert!(matches(&json!({"$between": [1, 3]}), &json!(2), "n").is_ok());
        assert!(matches(&json!({"$between": [1, 3]}), &json!(4), "n").is_err());
        assert!(matches(&json!({"ok": {"$excludes": "secret"}}), &actual, "answer").is_ok());
        let wrong = matches(&json!({"ok": {"b": ["x-y"]}}), &actual, "answer").unwrap_err();
        assert!(wrong.contains("answer.ok.b"), "{wrong}");
        assert!(matches(&json!({"ok": {"a": 2}}), &actual, "answer").is_err());
        assert!(matches(&json!({"err": {}}), &actual, "answer").is_err());
    }
}
