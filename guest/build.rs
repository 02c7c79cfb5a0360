//! Compiles the rule data in `rules/` into Rust statics, after checking it.
//!
//! The story, in order:
//! 1. read the WIT package for the enum vocabularies;
//! 2. parse each rule file into the schema of `rules/schema.rs`, refusing unknown keys and
//!    enum values the WIT does not define;
//! 3. check what serde cannot: unique rule ids, the classifier's layer order, that no `retry`
//!    rule can match a non-retryable status, well-formed patterns and placeholders;
//! 4. write the rules as statics (no parsing when an instance starts), with the sha256 of the
//!    rule files as `RULES_DIGEST`.
//!
//! `redact.toml` is digested here with the rest, but compiled and checked by the contract
//! crate's build script (`contract/build.rs`): redaction is shared by the policy and its hosts.

#[path = "build/rust_literal.rs"]
mod rust_literal;
#[allow(dead_code)] // the records serve the contract crate's decoder
#[path = "../wit/contract/build/wit.rs"]
mod wit;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use std::{env, fs, path::Path};

/// The rule files, in digest order. `rules-digest` is the sha256 of their concatenation:
/// `cat policy.toml urls.toml routes.toml models.toml errors.toml redact.toml loop.toml | sha256sum`.
const RULE_FILES: [&str; 7] =
    ["policy.toml", "urls.toml", "routes.toml", "models.toml", "errors.toml", "redact.toml", "loop.toml"];

/// The classifier's layers, in the order their rules must appear.
const LAYERS: [&str; 7] = ["html", "structured", "status", "pattern", "status-fallback", "network", "fallback"];

/// Placeholders a classifier message may use.
const PLACEHOLDERS: [&str; 12] = [
    "model",
    "plan",
    "status",
    "status-note",
    "request-url",
    "canonical-url",
    "excerpt",
    "network",
    "delay",
    "cap",
    "attempt",
    "resets",
];

type Str = String;
type List<T> = Vec<T>;

/// The WIT's enums: name → cases. Filled before any rule file is parsed.
static WIT_ENUMS: OnceLock<BTreeMap<String, Vec<String>>> = OnceLock::new();

/// Declares a stand-in for a vocabulary enum: it deserializes from a WIT case name (checked
/// against the WIT) and serializes as `Enum::Variant` for the generated code.
macro_rules! vocabulary {
    ($($name:ident = $wit:literal),* $(,)?) => {$(
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
        pub struct $name(String);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let value = String::deserialize(d)?;
                let cases = &WIT_ENUMS.get().expect("WIT read first")[$wit];
                if cases.contains(&value) {
                    Ok($name(value))
                } else {
                    Err(serde::de::Error::custom(format!(
                        "`{value}` is not a {} (expected one of {})", $wit, cases.join(", ")
                    )))
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let variant: &'static str = Box::leak(self.0.clone().into_boxed_str());
                s.serialize_unit_variant(stringify!($name), 0, variant)
            }
        }
    )*};
}

vocabulary!(
    Capability = "capability",
    CredentialKind = "credential-kind",
    Plan = "plan",
    FailureReason = "failure-reason",
    Action = "action",
    Transport = "transport",
    BaseUrlClass = "base-url-class",
    TimeoutKind = "timeout-kind",
    StreamFaultKind = "stream-fault-kind",
);

macro_rules! schema {
    ($($item:item)*) => { $( #[derive(Debug, Deserialize, Serialize)] $item )* };
}

include!("rules/schema.rs");

fn main() {
    let manifest = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let manifest = Path::new(&manifest);
    // Another folder of rule data may be compiled instead (a variant policy for tests, an
    // operator's fork): `ROUTE_POLICY_RULES_DIR`. Its redaction rules stay the repository's.
    println!("cargo:rerun-if-env-changed=ROUTE_POLICY_RULES_DIR");
    let rules_dir =
        env::var_os("ROUTE_POLICY_RULES_DIR").map_or_else(|| manifest.join("rules"), std::path::PathBuf::from);
    let wit_path = manifest.join("../wit/v0.2/route-policy.wit");
    for watched in [&rules_dir, &wit_path, &manifest.join("build"), &manifest.join("contract/build")] {
        println!("cargo:rerun-if-changed={}", watched.display());
    }

    // The component's stack: wasm32 puts it first in linear memory, so its size decides how far
    // a fresh instance's first pages are. 128 KiB is ample (serde_json caps nesting at 128, and
    // nothing else recurses) and keeps stack, data and heap in the pages the host's pool keeps
    // resident between instances.
    if env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-cdylib=-zstack-size={}", 128 << 10);
    }

    // 1. The vocabularies come from the WIT, the single source.
    let wit = read(&wit_path);
    WIT_ENUMS.set(wit::enums(&wit)).expect("set once");

    // 2. Parse every rule file; the digest covers their exact bytes.
    let mut digest = Sha256::new();
    let texts: Vec<String> = RULE_FILES
        .iter()
        .map(|name| {
            let text = read(&rules_dir.join(name));
            digest.update(text.as_bytes());
            text
        })
        .collect();
    let policy: PolicyRules = parse(RULE_FILES[0], &texts[0]);
    let urls: UrlRules = parse(RULE_FILES[1], &texts[1]);
    let routes: RouteRules = parse(RULE_FILES[2], &texts[2]);
    let models: ModelRules = parse(RULE_FILES[3], &texts[3]);
    let errors: ErrorRules = parse(RULE_FILES[4], &texts[4]);
    let looping: LoopRules = parse(RULE_FILES[6], &texts[6]);

    // 3. What serde cannot check.
    let mut problems = Vec::new();
    let ids = check_ids(&urls, &routes, &models, &errors, &looping, &mut problems);
    check_loop(&looping, &mut problems);
    check_limits(&policy.limits, &mut problems);
    check_urls_and_routes(&urls, &routes, &mut problems);
    check_models(&models, &mut problems);
    check_errors(&errors, &mut problems);
    if !problems.is_empty() {
        panic!("the rule data in {} has problems:\n  - {}", rules_dir.display(), problems.join("\n  - "));
    }

    // 4. Emit statics.
    let digest = digest.finalize().iter().map(|b| format!("{b:02x}")).collect::<String>();
    let mut out = String::from("// Generated by guest/build.rs from guest/rules/*.toml. Do not edit.\n");
    let emit = |name: &str, ty: &str, value: String| format!("pub static {name}: {ty} = {value};\n");
    let lit = |r: Result<String, rust_literal::Error>| r.expect("the schema serializes");
    out += &emit("POLICY", "PolicyRules", lit(rust_literal::to_rust(&policy)));
    out += &emit("URLS", "UrlRules", lit(rust_literal::to_rust(&urls)));
    out += &emit("ROUTES", "RouteRules", lit(rust_literal::to_rust(&routes)));
    out += &emit("MODELS", "ModelRules", lit(rust_literal::to_rust(&models)));
    out += &emit("ERRORS", "ErrorRules", lit(rust_literal::to_rust(&errors)));
    out += &emit("LOOP", "LoopRules", lit(rust_literal::to_rust(&looping)));
    out += &format!("pub const RULES_DIGEST: &str = {digest:?};\n");
    out += &format!("pub static RULE_IDS: &[&str] = &{ids:?};\n");
    let out_dir = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let dest = Path::new(&out_dir).join("rules.rs");
    fs::write(&dest, out).unwrap_or_else(|e| panic!("writing {}: {e}", dest.display()));
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn parse<T: for<'de> Deserialize<'de>>(name: &str, text: &str) -> T {
    toml::from_str(text).unwrap_or_else(|e| panic!("guest/rules/{name}: {e}"))
}

fn check_ids(
    urls: &UrlRules,
    routes: &RouteRules,
    models: &ModelRules,
    errors: &ErrorRules,
    looping: &LoopRules,
    problems: &mut Vec<String>,
) -> Vec<String> {
    let mut ids: Vec<&str> = Vec::new();
    ids.extend(urls.official.iter().map(|o| o.id.as_str()));
    ids.extend(urls.not_api.iter().map(|n| n.id.as_str()));
    ids.extend([urls.azure.id.as_str(), urls.custom.id.as_str()]);
    ids.extend(routes.aliases.iter().map(|a| a.id.as_str()));
    ids.extend([
        routes.platform.id.as_str(),
        routes.platform.explicit_id.as_str(),
        routes.codex.id.as_str(),
        routes.codex.images.id.as_str(),
        routes.azure.id.as_str(),
        routes.env_base_url.id.as_str(),
        routes.missing_credential.id.as_str(),
        routes.foreign_provider.id.as_str(),
    ]);
    ids.extend(models.families.iter().map(|f| f.id.as_str()));
    ids.push(models.suppressed.id.as_str());
    ids.extend(models.plan_gates.iter().map(|g| g.id.as_str()));
    ids.extend([
        errors.retry.attempt_cap.id.as_str(),
        errors.retry.delay_cap.id.as_str(),
        errors.retry.repeat_cap.id.as_str(),
    ]);
    ids.extend(errors.rules.iter().map(|r| r.id.as_str()));
    ids.push(errors.fallback.id.as_str());
    ids.extend([
        looping.budget.id.as_str(),
        looping.circuit.id.as_str(),
        looping.circuit.probe_id.as_str(),
        looping.circuit.opened_id.as_str(),
    ]);
    ids.extend(looping.timeouts.iter().map(|t| t.id.as_str()));
    ids.extend(looping.first_token.iter().map(|f| f.id.as_str()));
    ids.extend(looping.outcomes.iter().map(|o| o.id.as_str()));
    ids.push(looping.context.id.as_str());

    let mut seen = BTreeSet::new();
    for id in &ids {
        let well_formed =
            !id.is_empty() && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b));
        if !well_formed {
            problems.push(format!("rule id `{id}` must be lowercase letters, digits and -._"));
        }
        if !seen.insert(*id) {
            problems.push(format!("rule id `{id}` is used twice; each rule lives in one place"));
        }
    }
    ids.into_iter().map(str::to_owned).collect()
}

/// The loop's rules: every capability has its timeouts once; every timeout kind and every
/// stream fault but an error event (read by `errors.toml`) has its outcome rule once.
fn check_loop(looping: &LoopRules, problems: &mut Vec<String>) {
    for capability in &WIT_ENUMS.get().expect("WIT read")["capability"] {
        let rows = looping.timeouts.iter().filter(|t| t.capabilities.iter().any(|c| &c.0 == capability)).count();
        if rows != 1 {
            problems
                .push(format!("loop.toml: capability `{capability}` has {rows} timeout rows; it needs exactly one"));
        }
    }
    for timeout in &WIT_ENUMS.get().expect("WIT read")["timeout-kind"] {
        let rows = looping.outcomes.iter().filter(|o| o.timeout.as_ref().is_some_and(|t| &t.0 == timeout)).count();
        if rows != 1 {
            problems.push(format!("loop.toml: timeout `{timeout}` has {rows} outcome rules; it needs exactly one"));
        }
    }
    for fault in ["truncated", "malformed-event"] {
        let rows = looping.outcomes.iter().filter(|o| o.stream_fault.as_ref().is_some_and(|f| f.0 == fault)).count();
        if rows != 1 {
            problems.push(format!("loop.toml: stream fault `{fault}` has {rows} outcome rules; it needs exactly one"));
        }
    }
    for outcome in &looping.outcomes {
        if outcome.timeout.is_some() == outcome.stream_fault.is_some() {
            problems.push(format!("loop.toml {}: names a timeout or a stream fault, not both", outcome.id));
        }
        if outcome.action.0 == "retry" {
            problems.push(format!("loop.toml {}: a timed-out or broken route is not retried as is", outcome.id));
        }
    }
    if looping.budget.max_attempts == 0 || looping.circuit.failures == 0 || looping.circuit.open_ms == 0 {
        problems.push("loop.toml: the budget, the circuit's failures and its opening must be at least 1".to_owned());
    }
    if looping.circuit.jitter_percent > 100 || looping.circuit.long_open_ms < looping.circuit.open_ms {
        problems.push(
            "loop.toml: the circuit's jitter is at most 100% and its long opening at least its short one".to_owned(),
        );
    }
    if looping.jitter.percent > 100 {
        problems.push("loop.toml: jitter is at most 100 percent".to_owned());
    }
}

fn check_limits(limits: &Limits, problems: &mut Vec<String>) {
    let all = [
        ("max-url-bytes", limits.max_url_bytes),
        ("max-ref-bytes", limits.max_ref_bytes),
        ("max-chain", limits.max_chain),
        ("max-entries", limits.max_entries),
        ("max-name-bytes", limits.max_name_bytes),
        ("default-max-candidates", limits.default_max_candidates),
        ("body-scan-bytes", limits.body_scan_bytes),
        ("max-headers", limits.max_headers),
        ("excerpt-chars", limits.excerpt_chars),
    ];
    for (name, value) in all {
        if value == 0 {
            problems.push(format!("policy.toml: limits.{name} must be at least 1"));
        }
    }
}

fn check_path(what: &str, path: &str, problems: &mut Vec<String>) {
    if !(path.is_empty() || path.starts_with('/')) || path.ends_with('/') {
        problems.push(format!("{what}: path `{path}` must start with `/` and not end with one"));
    }
}

fn check_urls_and_routes(urls: &UrlRules, routes: &RouteRules, problems: &mut Vec<String>) {
    for official in &urls.official {
        for path in official.paths.iter().chain(&official.legacy_paths) {
            check_path(&format!("urls.toml {}", official.id), path, problems);
        }
        if !official.canonical.starts_with("https://") {
            problems.push(format!("urls.toml {}: the canonical URL must be https", official.id));
        }
    }
    for suffix in &urls.azure.host_suffixes {
        if !suffix.starts_with('.') {
            problems.push(format!("urls.toml azure: host suffix `{suffix}` must start with `.`"));
        }
    }
    for path in routes.platform.paths.iter().map(|p| &p.path).chain([&routes.codex.path, &routes.azure.responses_path])
    {
        check_path("routes.toml", path, problems);
    }
    let covered: BTreeSet<_> = routes.platform.paths.iter().map(|p| p.capability.0.as_str()).collect();
    for capability in &WIT_ENUMS.get().expect("WIT read")["capability"] {
        if !covered.contains(capability.as_str()) {
            problems.push(format!("routes.toml: platform.paths has no entry for capability `{capability}`"));
        }
    }
}

fn check_glob(what: &str, glob: &str, problems: &mut Vec<String>) {
    if glob.is_empty() || glob != glob.to_ascii_lowercase() || glob.contains("**") {
        problems.push(format!("{what}: glob `{glob}` must be non-empty, lowercase, without `**`"));
    }
}

fn check_models(models: &ModelRules, problems: &mut Vec<String>) {
    for family in &models.families {
        for glob in &family.globs {
            check_glob(&format!("models.toml {}", family.id), glob, problems);
        }
    }
    for gate in &models.plan_gates {
        for glob in &gate.globs {
            check_glob(&format!("models.toml {}", gate.id), glob, problems);
        }
    }
    for model in &models.suppressed.models {
        if model.is_empty() || model.contains(['*', '/']) {
            problems.push(format!("models.toml suppressed: `{model}` must be a bare model id"));
        }
    }
}

fn check_message(id: &str, message: &str, problems: &mut Vec<String>) {
    let mut rest = message;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            problems.push(format!("errors.toml {id}: unclosed `{{` in the message"));
            return;
        };
        let name = &rest[open + 1..open + close];
        if !PLACEHOLDERS.contains(&name) {
            problems
                .push(format!("errors.toml {id}: unknown placeholder {{{name}}} (known: {})", PLACEHOLDERS.join(", ")));
        }
        rest = &rest[open + close + 1..];
    }
}

fn check_errors(errors: &ErrorRules, problems: &mut Vec<String>) {
    let retry = &errors.retry;
    let retryable = |status: u16| {
        retry.retryable_statuses.contains(&status)
            || (retry.retryable_range.len() == 2
                && (retry.retryable_range[0]..=retry.retryable_range[1]).contains(&status))
    };
    let mut layer_at = 0;
    for rule in errors.rules.iter().chain([&errors.fallback]) {
        let id = rule.id.as_str();
        match LAYERS.iter().position(|l| *l == rule.layer) {
            None => problems.push(format!(
                "errors.toml {id}: unknown layer `{}` (known: {})",
                rule.layer,
                LAYERS.join(", ")
            )),
            Some(at) if at < layer_at => problems.push(format!(
                "errors.toml {id}: a `{}` rule after a `{}` rule; rules go in layer order ({})",
                rule.layer,
                LAYERS[layer_at],
                LAYERS.join(" → ")
            )),
            Some(at) => layer_at = at,
        }
        if !(rule.status_range.is_empty()
            || (rule.status_range.len() == 2 && rule.status_range[0] <= rule.status_range[1]))
        {
            problems.push(format!("errors.toml {id}: status-range is [low, high]"));
        }
        if rule.layer == "pattern" && rule.status.is_empty() && rule.status_range.is_empty() {
            problems.push(format!(
                "errors.toml {id}: a pattern rule names the statuses it reads (`status`, 0 for none): words echoed in another status mean something else"
            ));
        }
        if rule.action.0 == "retry" {
            let range_ok = rule.status_range.len() != 2 || (rule.status_range[0]..=rule.status_range[1]).all(retryable);
            if (rule.status.is_empty() && rule.status_range.is_empty())
                || !rule.status.iter().copied().all(retryable)
                || !range_ok
            {
                problems.push(format!(
                    "errors.toml {id}: a `retry` rule must name its statuses, all retryable: a 400 is never retried"
                ));
            }
        }
        if rule.remember && rule.action.0 != "drop-candidate" {
            problems.push(format!("errors.toml {id}: `remember` goes with `drop-candidate`"));
        }
        for pattern in &rule.text {
            let captures = pattern.matches("{model}").count();
            let bad_brace = pattern.replace("{model}", "").contains(['{', '}']);
            if pattern.is_empty() || pattern != &pattern.to_ascii_lowercase() || captures > 1 || bad_brace {
                problems.push(format!(
                    "errors.toml {id}: pattern `{pattern}` must be lowercase with at most one {{model}} and no other braces"
                ));
            }
        }
        for code in rule.code.iter().chain(&rule.network) {
            if code.is_empty() || code != &code.to_ascii_lowercase() {
                problems.push(format!("errors.toml {id}: code `{code}` must be lowercase"));
            }
        }
        check_message(id, &rule.message, problems);
    }
    for cap in [&retry.attempt_cap, &retry.delay_cap] {
        check_message(&cap.id, &cap.message, problems);
        if cap.value == 0 {
            problems.push(format!("errors.toml {}: value must be at least 1", cap.id));
        }
    }
    if errors.fallback.layer != "fallback" || errors.fallback.action.0 == "retry" {
        problems.push("errors.toml fallback: layer `fallback`, and never `retry`".to_owned());
    }
}
