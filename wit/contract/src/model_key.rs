//! How rules compare model ids: one function for duplicates ([`same_model_key`]) and one for
//! the rules about a model ([`rule_key`]): plan gates, suppressions, learned rejections, and the
//! host's check that a rejection names the model its attempt sent. The policy and every host
//! use these, so that no two of them read a model id differently.

/// A model id as two writings of one model compare: lowercase, and without Ollama's default
/// `:latest` tag (`GPT-5.5`, `gpt-5.5:latest` and `gpt-5.5` are one model). Two dated snapshots
/// stay two models, and so do two other tags (`llama3:8b`, `llama3:70b`). Duplicates in a chain
/// are found with it.
pub fn same_model_key(id: &str) -> String {
    let lower = id.trim().to_ascii_lowercase();
    match lower.strip_suffix(":latest") {
        Some(stripped) if !stripped.is_empty() => stripped.to_owned(),
        _ => lower,
    }
}

/// The model a rule about a model speaks of: the bare id (the last path segment, no provider
/// prefix), lowercase, without any `:tag`, and without a dated snapshot suffix
/// (`-2026-01-15`, `-20260115`). A gate, a suppression or a learned rejection of `gpt-5.5-pro`
/// holds for `openai-codex/GPT-5.5-pro:latest` and `gpt-5.5-pro-2026-01-15` alike: an account
/// that cannot use a model cannot use its snapshots or its tags.
pub fn rule_key(id: &str) -> String {
    let leaf = id.trim().rsplit('/').next().unwrap_or("");
    let mut key = leaf.to_ascii_lowercase();
    if let Some((name, _tag)) = key.split_once(':')
        && !name.is_empty()
    {
        key = name.to_owned();
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    // `-YYYY-MM-DD`
    let parts: Vec<&str> = key.rsplitn(4, '-').collect();
    if parts.len() == 4
        && parts[2].len() == 4
        && parts[1].len() == 2
        && parts[0].len() == 2
        && [parts[0], parts[1], parts[2]].iter().all(|p| digits(p))
        && !parts[3].is_empty()
    {
        return parts[3].to_owned();
    }
    // `-YYYYMMDD`
    if let Some((name, date)) = key.rsplit_once('-')
        && date.len() == 8
        && digits(date)
        && date.starts_with('2')
        && !name.is_empty()
    {
        return name.to_owned();
    }
    key
}
