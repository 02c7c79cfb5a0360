//! Model refs and plans: the words every verb uses for what a user asked for and what their
//! account may use. `resolve-endpoint` routes a [`ModelRef`], `filter-fallbacks` checks each ref
//! of a chain, and `classify-error` reads the model a provider named in its message, all
//! through [`ModelRef::parse`].

use crate::redact;
use crate::rules::{self, MODELS, POLICY, ROUTES};
use crate::types::Plan;

pub use route_policy_contract::model_key::{rule_key, same_model_key};

/// A model ref as the user wrote it, parsed: `openai/gpt-5.5`, `openai-codex/gpt-5.5` (the
/// legacy alias), bare `gpt-5.5`, or another provider's `openrouter/openai/gpt-5.4-image-2`.
#[derive(Clone, Debug)]
pub struct ModelRef<'a> {
    /// The provider after aliasing, lowercase: `openai`, `azure-openai`, `openrouter`, …
    pub provider: String,
    /// The model id after the provider segment (for other providers it may hold `/`).
    pub model: &'a str,
    /// The alias rule that renamed the provider, if one did.
    pub alias: Option<&'static str>,
    /// The model's family, looked up once.
    family: std::cell::OnceCell<Option<&'static rules::Family>>,
}

impl<'a> ModelRef<'a> {
    /// Parses a ref, or says what is wrong with it (a phrase that follows the ref in a message).
    pub fn parse(raw: &'a str) -> Result<Self, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("is empty".to_owned());
        }
        let limit = POLICY.limits.max_ref_bytes as usize;
        if trimmed.len() > limit {
            return Err(format!("is {} bytes long; a model ref has at most {limit}", trimmed.len()));
        }
        if redact::has_secret_token(trimmed) {
            return Err("looks like a credential, not a model; credentials are described, never carried".to_owned());
        }
        let (provider, model) = match trimmed.split_once('/') {
            None => ("openai", trimmed),
            Some(("", _)) => return Err("has no provider before `/`".to_owned()),
            Some((provider, "")) => return Err(format!("has no model id after `{provider}/`")),
            Some(split) => split,
        };
        if let Some(bad) = trimmed.bytes().find(|b| !rules::is_model_byte(*b)) {
            let shown = match bad {
                b' ' => "a space".to_owned(),
                b if b.is_ascii_graphic() => format!("`{}`", b as char),
                b => format!("byte 0x{b:02x}"),
            };
            return Err(format!("has {shown}, which a model ref cannot contain"));
        }
        let provider = provider.to_ascii_lowercase();
        let alias = ROUTES.aliases.iter().find(|a| a.alias == provider);
        let provider = alias.map_or(provider, |a| a.provider.to_owned());
        let routed = is_routed(&provider);
        if routed && model.contains('/') {
            return Err(format!("has a `/` in the model id; a {provider} model id has none"));
        }
        if model.split('/').any(str::is_empty) {
            return Err("has an empty path segment".to_owned());
        }
        Ok(ModelRef { provider, model, alias: alias.map(|a| a.id), family: std::cell::OnceCell::new() })
    }

    /// The canonical ref, e.g. `openai/gpt-5.5`.
    pub fn canonical(&self) -> String {
        format!("{}/{}", self.provider, self.model)
    }

    /// The model as rules about it see it ([`rule_key`]).
    pub fn rule_key(&self) -> String {
        rule_key(self.model)
    }

    /// The model's last path segment (`gpt-5.4-image-2` of `openrouter/openai/gpt-5.4-image-2`),
    /// which names its family.
    pub fn leaf(&self) -> &'a str {
        self.model.rsplit('/').next().unwrap_or(self.model)
    }
}

/// Whether the policy routes this provider itself (OpenAI and Azure OpenAI).
pub fn is_routed(provider: &str) -> bool {
    provider == "openai" || provider == ROUTES.azure.provider
}

/// The family of a model (by its last path segment), if rule data knows it.
pub fn family_of(model: &ModelRef<'_>) -> Option<&'static rules::Family> {
    *model.family.get_or_init(|| {
        let leaf = model.leaf();
        MODELS.families.iter().find(|f| f.globs.iter().any(|g| rules::glob_matches(g, leaf)))
    })
}

/// A plan's name for a sentence: `Plus`, `Business`, `API`.
pub fn plan_name(plan: Plan) -> &'static str {
    match plan {
        Plan::Api => "API",
        Plan::Free => "Free",
        Plan::Go => "Go",
        Plan::Plus => "Plus",
        Plan::Pro => "Pro",
        Plan::Team => "Team",
        Plan::Business => "Business",
        Plan::Enterprise => "Enterprise",
        Plan::Edu => "Edu",
        Plan::Unknown => "unknown",
    }
}
