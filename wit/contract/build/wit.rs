//! One reader of the WIT package, for the build scripts: its version, its enums and its records.
//! It understands what `wit/v0.2/route-policy.wit` uses (items with `{ … }` bodies, `//` comments)
//! and nothing more; `wit-parser` would pull a large dependency into every build for that.

use std::collections::BTreeMap;

/// `package agent:route-policy@0.1.0;` → `0.1.0`.
pub fn package_version(wit: &str) -> String {
    wit.lines()
        .map(str::trim)
        .find_map(|line| {
            line.strip_prefix("package ")?.split_once('@').map(|(_, v)| v.trim_end_matches(';').to_owned())
        })
        .expect("the WIT names its package with a version")
}

/// Every `KEYWORD name { body }` item of the WIT, comments removed: `(name, body)`.
fn items(wit: &str, keyword: &str) -> Vec<(String, String)> {
    let code: String = wit.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    let mut items = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find(&format!("{keyword} ")) {
        rest = &rest[at + keyword.len() + 1..];
        let (name, body) = rest.split_once('{').unwrap_or_else(|| panic!("a WIT {keyword} has a body"));
        let (body, after) = body.split_once('}').unwrap_or_else(|| panic!("a WIT {keyword} body closes"));
        items.push((name.trim().to_owned(), body.to_owned()));
        rest = after;
    }
    items
}

/// Every `enum name { a, b, … }` of the WIT.
pub fn enums(wit: &str) -> BTreeMap<String, Vec<String>> {
    items(wit, "enum")
        .into_iter()
        .map(|(name, body)| {
            (name, body.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect())
        })
        .collect()
}

/// Every `record name { field: type, … }` of the WIT, fields in order.
pub fn records(wit: &str) -> Vec<(String, Vec<(String, String)>)> {
    items(wit, "record")
        .into_iter()
        .map(|(name, body)| {
            // Fields are separated by commas outside angle brackets (`tuple<string, string>`).
            let (mut fields, mut depth, mut field) = (Vec::new(), 0, String::new());
            for c in body.chars().chain(std::iter::once(',')) {
                match c {
                    '<' => depth += 1,
                    '>' => depth -= 1,
                    ',' if depth == 0 => {
                        if let Some((name, ty)) = field.split_once(':') {
                            fields.push((name.trim().to_owned(), ty.split_whitespace().collect::<Vec<_>>().join(" ")));
                        }
                        field.clear();
                        continue;
                    }
                    _ => {}
                }
                field.push(c);
            }
            (name, fields)
        })
        .collect()
}

/// Every `variant name { case(type), case, … }` of the WIT: its cases and their payload types
/// (empty for a case without one).
pub fn variants(wit: &str) -> Vec<(String, Vec<(String, String)>)> {
    items(wit, "variant")
        .into_iter()
        .map(|(name, body)| {
            let (mut cases, mut depth, mut case) = (Vec::new(), 0, String::new());
            for c in body.chars().chain(std::iter::once(',')) {
                match c {
                    '<' | '(' => depth += 1,
                    '>' | ')' => depth -= 1,
                    ',' if depth == 0 => {
                        let case_text = case.split_whitespace().collect::<Vec<_>>().join(" ");
                        if !case_text.is_empty() {
                            let (name, payload) = match case_text.split_once('(') {
                                Some((name, rest)) => (name.trim(), rest.trim_end_matches(')').trim()),
                                None => (case_text.as_str(), ""),
                            };
                            cases.push((name.to_owned(), payload.to_owned()));
                        }
                        case.clear();
                        continue;
                    }
                    _ => {}
                }
                case.push(c);
            }
            (name, cases)
        })
        .collect()
}
