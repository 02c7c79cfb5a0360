//! Writes the seed corpora: one file per conformance vector input, in each target's format
//! (the verb's JSON input; for `eval_lines`, a JSON Lines request, and every vector file as one
//! stream). Run by `just fuzz`; `cargo +nightly run --example seed -- CORPUS_DIR`.

use route_policy_contract::vectors;
use serde_json::json;
use std::path::{Path, PathBuf};

fn main() -> Result<(), String> {
    let out = PathBuf::from(std::env::args().nth(1).ok_or("usage: seed CORPUS_DIR")?);
    let vectors_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors");
    let target_of = |op: &str| match op {
        "classify-error" => Some("classify_error"),
        "resolve-endpoint" => Some("resolve_endpoint"),
        "filter-fallbacks" => Some("filter_fallbacks"),
        _ => None,
    };
    let mut written = 0;
    let mut write = |target: &str, name: String, bytes: Vec<u8>| -> Result<(), String> {
        let dir = out.join(target);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        std::fs::write(dir.join(name), bytes).map_err(|e| e.to_string())?;
        written += 1;
        Ok(())
    };
    for (f, path) in vectors::files(&vectors_dir)?.iter().enumerate() {
        let file = vectors::load(path)?;
        let mut stream = Vec::new();
        for (c, case) in file.cases.iter().enumerate() {
            let op = case.op(&file).expect("load checked the op");
            let input = case.input.clone().unwrap_or(serde_json::Value::Null);
            let line = json!({"id": c, "op": op, "input": input}).to_string();
            stream.extend_from_slice(line.as_bytes());
            stream.push(b'\n');
            write("eval_lines", format!("vector-{f}-{c}"), line.into_bytes())?;
            if let Some(target) = target_of(op) {
                write(target, format!("vector-{f}-{c}"), serde_json::to_vec(&input).unwrap())?;
            }
        }
        write("eval_lines", format!("stream-{f}"), stream)?;
    }
    println!("wrote {written} seeds under {}", out.display());
    Ok(())
}
