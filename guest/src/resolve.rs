//! `resolve-endpoint`: where a request goes, with which credential (CONTRACT.md,
//! "resolve-endpoint").
//!
//! [`Routing`] classifies the configured base URLs once per request; [`Routing::route`] then
//! answers for one model ref. `filter-fallbacks` routes its candidates through the same code, so
//! a plan never promises a route that `resolve-endpoint` would not give.

use crate::model::{ModelRef, family_of, is_routed};
use crate::redact;
use crate::rules::{self, POLICY, ROUTES};
use crate::types::{
    AuthHeader, BaseUrlClass, Capability, Credential, CredentialKind, Endpoint, EndpointRequest, PolicyError,
    PolicyErrorCode, ProviderConfig, Transport,
};
use crate::url::{self, BaseUrl};

/// `resolve-endpoint`.
pub fn resolve_endpoint(request: &EndpointRequest) -> Result<Endpoint, PolicyError> {
    let routing = Routing::new(&request.providers, &request.credentials, request.env_base_url.as_deref())?;
    let model = ModelRef::parse(&request.model).map_err(|why| {
        PolicyError::new(PolicyErrorCode::InvalidModelRef, format!("model `{}` {why}", redact::short(&request.model)))
    })?;
    routing.route(&model, request.capability)
}

/// The routing context of one request: provider configs and credentials, with the configured
/// base URLs classified once.
pub struct Routing<'a> {
    providers: &'a [ProviderConfig],
    credentials: &'a [Credential],
    env_base_url: Option<&'a str>,
    openai: Option<&'a ProviderConfig>,
    openai_base: BaseUrl,
    codex: Option<&'a ProviderConfig>,
    codex_base: BaseUrl,
    azure: Option<&'a ProviderConfig>,
    azure_base: BaseUrl,
}

/// Which route a ref takes, before its endpoint is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Platform,
    Codex,
    Azure,
}

impl<'a> Routing<'a> {
    /// Checks the configs and credentials, and classifies the base URLs.
    pub fn new(
        providers: &'a [ProviderConfig],
        credentials: &'a [Credential],
        env_base_url: Option<&'a str>,
    ) -> Result<Self, PolicyError> {
        let limits = &POLICY.limits;
        let invalid = |message: String| PolicyError::new(PolicyErrorCode::InvalidInput, message);
        for (what, count) in [("credentials", credentials.len()), ("providers", providers.len())] {
            if count > limits.max_entries as usize {
                return Err(invalid(format!("{count} {what}; a request has at most {}", limits.max_entries)));
            }
        }
        // Names are echoed in answers and logs: non-empty, bounded, and one printable line.
        let name_ok = |name: &str| {
            !name.trim().is_empty() && name.len() <= limits.max_name_bytes as usize && !name.contains(char::is_control)
        };
        for (index, credential) in credentials.iter().enumerate() {
            if !name_ok(&credential.profile_id) || !name_ok(&credential.provider) {
                return Err(invalid(format!(
                    "credentials[{index}]: profile-id and provider must be non-empty, without control characters, and at most {} bytes",
                    limits.max_name_bytes
                )));
            }
            // A ChatGPT sign-in carries its account's plan; `api` is an API key's. A sign-in
            // that claims `api` would pass the plan gates the Codex route needs.
            let signs_in_to_chatgpt = credential.kind.is_account()
                && ["openai", ROUTES.codex.provider].iter().any(|p| credential.provider.eq_ignore_ascii_case(p));
            if signs_in_to_chatgpt && credential.plan == crate::types::Plan::Api {
                return Err(invalid(format!(
                    "credentials[{index}]: a ChatGPT sign-in ({}) has its account's plan (free, plus, pro, team, …, or unknown), never `api`",
                    credential.kind
                )));
            }
            if redact::has_secret_token(&credential.profile_id) {
                return Err(invalid(format!(
                    "credentials[{index}]: the profile-id looks like a secret; credentials are described, never carried"
                )));
            }
        }
        for (index, config) in providers.iter().enumerate() {
            if !name_ok(&config.id) {
                return Err(invalid(format!(
                    "providers[{index}]: id must be non-empty, without control characters, and at most {} bytes",
                    limits.max_name_bytes
                )));
            }
            for (field, value) in [("api", &config.api), ("deployment", &config.deployment)] {
                if value.as_deref().is_some_and(|v| v.len() > limits.max_name_bytes as usize) {
                    return Err(invalid(format!(
                        "providers[{index}]: {field} is longer than {} bytes",
                        limits.max_name_bytes
                    )));
                }
                // A key pasted into a name would travel in the request URL (an Azure deployment
                // is a path segment); it is refused, and never echoed.
                if value.as_deref().is_some_and(redact::has_secret_token) {
                    return Err(invalid(format!(
                        "providers[{index}]: {field} looks like a credential, not a name; credentials are described, never carried"
                    )));
                }
            }
            if providers[..index].iter().any(|earlier| earlier.id.eq_ignore_ascii_case(&config.id)) {
                return Err(invalid(format!(
                    "provider `{}` is configured twice; keep one config per provider",
                    redact::short(&config.id)
                )));
            }
        }
        let config = |id: &str| providers.iter().find(|p| p.id.eq_ignore_ascii_case(id));
        let openai = config("openai");
        let codex = config(ROUTES.codex.provider);
        let azure = config(ROUTES.azure.provider);
        let base = |c: Option<&ProviderConfig>| url::classify(c.and_then(|c| c.base_url.as_deref()));
        Ok(Routing {
            providers,
            credentials,
            env_base_url: env_base_url.map(str::trim).filter(|s| !s.is_empty()),
            openai_base: base(openai),
            openai,
            codex_base: base(codex),
            codex,
            azure_base: base(azure),
            azure,
        })
    }

    /// Whether the request configures `provider`'s own (OpenAI-compatible) base URL.
    pub fn configures(&self, provider: &str) -> bool {
        self.providers
            .iter()
            .any(|p| p.id.eq_ignore_ascii_case(provider) && p.base_url.as_deref().is_some_and(|b| !b.trim().is_empty()))
    }

    /// The first credential of `provider` (case-insensitive) whose kind passes `kind`.
    pub fn credential(&self, provider: &str, kind: impl Fn(CredentialKind) -> bool) -> Option<&'a Credential> {
        self.credentials.iter().find(|c| c.provider.eq_ignore_ascii_case(provider) && kind(c.kind))
    }

    /// The sign-in the Codex route uses: an OAuth or token credential of `openai-codex`, else
    /// of `openai`.
    pub fn account(&self) -> Option<&'a Credential> {
        self.credential(ROUTES.codex.provider, CredentialKind::is_account)
            .or_else(|| self.credential("openai", CredentialKind::is_account))
    }

    /// Answers `resolve-endpoint` for one parsed ref.
    pub fn route(&self, model: &ModelRef<'_>, capability: Capability) -> Result<Endpoint, PolicyError> {
        self.route_with(model, capability, true)
    }

    /// The same decision as [`Routing::route`] (the same errors, transport and credential),
    /// without writing notes: what a plan needs for each candidate.
    pub fn route_quietly(&self, model: &ModelRef<'_>, capability: Capability) -> Result<Endpoint, PolicyError> {
        self.route_with(model, capability, false)
    }

    fn route_with(&self, model: &ModelRef<'_>, capability: Capability, explain: bool) -> Result<Endpoint, PolicyError> {
        if !is_routed(&model.provider)
            && let Some(config) = self.providers.iter().find(|p| p.id.eq_ignore_ascii_case(&model.provider))
            && config.base_url.as_deref().is_some_and(|b| !b.trim().is_empty())
        {
            return self.openai_compatible(
                model,
                capability,
                config,
                Answer { notes: Vec::new(), rules: Vec::new(), explain },
            );
        }
        if !is_routed(&model.provider) {
            return Err(PolicyError::new(
                PolicyErrorCode::UnsupportedProvider,
                format!(
                    "`{}` belongs to {}, which this policy does not route ({}); the host's own {} provider serves it",
                    model.canonical(),
                    model.provider,
                    ROUTES.foreign_provider.id,
                    model.provider,
                ),
            ));
        }
        if let Some(family) = family_of(model)
            && !family.capabilities.contains(&capability)
        {
            return Err(PolicyError::new(
                PolicyErrorCode::UnsupportedCapability,
                format!(
                    "{} is a{} {} model ({}); {capability} needs a model of another family",
                    model.model,
                    if family.name.starts_with(['a', 'e', 'i', 'o', 'u']) { "n" } else { "" },
                    family.name,
                    family.id
                ),
            ));
        }
        let mut answer = Answer { notes: Vec::new(), rules: Vec::new(), explain };
        if let Some(alias) = model.alias {
            answer.rule(alias);
            answer.note(|| {
                format!(
                    "`{}/…` is the legacy name of `openai/…`",
                    ROUTES.aliases.iter().find(|a| a.id == alias).map_or("", |a| a.alias)
                )
            });
        }
        match self.choose(model)? {
            Route::Azure => self.azure(model, capability, answer),
            Route::Platform => self.platform(model, capability, answer),
            Route::Codex => self.codex(model, capability, answer),
        }
    }

    /// The route choice of CONTRACT.md, steps 1 and 2 (steps 3 and 4 fail inside the route).
    pub fn choose(&self, model: &ModelRef<'_>) -> Result<Route, PolicyError> {
        if model.provider == ROUTES.azure.provider {
            return Ok(Route::Azure);
        }
        if self.credential("openai", |k| k == CredentialKind::ApiKey).is_some() || self.explicit_direct()? {
            return Ok(Route::Platform);
        }
        Ok(Route::Codex)
    }

    /// Whether the `openai` config makes the direct route explicit: a non-default base URL, or
    /// an `api` of the platform family.
    fn explicit_direct(&self) -> Result<bool, PolicyError> {
        let Some(config) = self.openai else { return Ok(false) };
        let api = config.api.as_deref().map(str::trim).filter(|a| !a.is_empty());
        if let Some(api) = api {
            if ROUTES.platform.apis.contains(&api) {
                return Ok(true);
            }
            if api != CODEX_API {
                return Err(PolicyError::new(
                    PolicyErrorCode::InvalidInput,
                    format!(
                        "the openai config's api `{}` is not one this policy routes ({}, or {CODEX_API} for the ChatGPT sign-in)",
                        redact::short(api),
                        ROUTES.platform.apis.join(", ")
                    ),
                ));
            }
        }
        Ok(matches!(self.openai_base.class(), BaseUrlClass::Custom | BaseUrlClass::Azure | BaseUrlClass::Invalid))
    }

    fn platform(
        &self,
        model: &ModelRef<'_>,
        capability: Capability,
        mut answer: Answer,
    ) -> Result<Endpoint, PolicyError> {
        answer.rule(ROUTES.platform.id);
        if self.explicit_direct()? {
            answer.rule(ROUTES.platform.explicit_id);
        }
        let (base, source, raw) = self.platform_base(&mut answer)?;
        let key = self.platform_key()?;
        let (class, canonical) = match &base {
            BaseUrl::Valid { class: BaseUrlClass::Chatgpt, .. } => {
                return Err(PolicyError::new(
                    PolicyErrorCode::InvalidBaseUrl,
                    format!(
                        "{source} `{}` is the ChatGPT backend, which accepts only ChatGPT sign-ins, not the API key `{}`; use {} (or remove it)",
                        redact::url(raw.unwrap_or("")),
                        key.profile_id,
                        platform_canonical()
                    ),
                ));
            }
            BaseUrl::Valid { class: BaseUrlClass::Azure, .. } => {
                return self.azure_endpoint(model, capability, answer, &base, key, self.openai);
            }
            BaseUrl::Valid { class, canonical, rule, .. } => {
                answer.rule(rule);
                answer.note_canonicalized(source, raw.unwrap_or(""), canonical, false);
                (*class, canonical.clone())
            }
            _ => (BaseUrlClass::Unresolved, platform_canonical().to_owned()),
        };
        if class == BaseUrlClass::Custom {
            answer
                .note(|| format!("sending the API key `{}` to the configured endpoint {}", key.profile_id, canonical));
        }
        let path = platform_path(capability);
        Ok(answer.endpoint(Endpoint {
            transport: path.transport,
            request_url: url::join(&canonical, path.path),
            base_url: canonical,
            base_url_class: class,
            credential: key.profile_id.clone(),
            auth_header: AuthHeader::Bearer,
            upstream_model: model.model.to_owned(),
            tool: None,
            tool_model: None,
            notes: Vec::new(),
            rules: Vec::new(),
        }))
    }

    /// The direct route's base: the openai config's, else OPENAI_BASE_URL, else the platform
    /// default; with where it came from and as written.
    fn platform_base(&self, answer: &mut Answer) -> Result<(BaseUrl, &'static str, Option<&'a str>), PolicyError> {
        let configured = self.openai.and_then(|c| c.base_url.as_deref()).map(str::trim).filter(|s| !s.is_empty());
        let (base, source) = match (configured, self.env_base_url) {
            (Some(_), _) => (self.openai_base.clone(), "the openai config's base-url"),
            (None, Some(env)) => {
                answer.rule(ROUTES.env_base_url.id);
                (url::classify(Some(env)), "OPENAI_BASE_URL")
            }
            (None, None) => (BaseUrl::Unresolved, ""),
        };
        let raw = configured.or(self.env_base_url);
        if let BaseUrl::Invalid { .. } = base {
            return Err(invalid_base(source, raw, &base));
        }
        Ok((base, source, raw))
    }

    /// The API key the direct route needs; without one, the error names the setting that chose
    /// the route and, when there is a sign-in, the other way out.
    fn platform_key(&self) -> Result<&'a Credential, PolicyError> {
        if let Some(key) = self.credential("openai", |k| k == CredentialKind::ApiKey) {
            return Ok(key);
        }
        let setting = self.openai.map_or(String::new(), describe_direct_setting);
        let fix = match self.account() {
            Some(account) => format!(", or remove {setting} to use the ChatGPT sign-in `{}`", account.profile_id),
            None => String::new(),
        };
        Err(PolicyError::new(
            PolicyErrorCode::MissingCredential,
            format!(
                "the openai config sets {setting} (the direct API route), which needs an API key: add an api-key credential for openai{fix}"
            ),
        ))
    }

    fn codex(&self, model: &ModelRef<'_>, capability: Capability, mut answer: Answer) -> Result<Endpoint, PolicyError> {
        answer.rule(ROUTES.codex.id);
        let account = self.codex_account(model, capability)?;
        if self.env_base_url.is_some() {
            answer.rule(ROUTES.env_base_url.id);
            answer.note(|| format!("{}; the Codex route ignores it", ROUTES.env_base_url.note));
        }
        let (class, canonical) = self.codex_base(&mut answer)?;
        if class == BaseUrlClass::Custom {
            answer.note(|| {
                format!("sending the ChatGPT sign-in `{}` to the configured proxy {}", account.profile_id, canonical)
            });
        }
        let (upstream_model, tool, tool_model) = codex_model(model, capability, &mut answer);
        if self.credential("openai", |k| k == CredentialKind::ApiKey).is_none() {
            answer.note(|| format!("no API key for openai: using the ChatGPT sign-in `{}`", account.profile_id));
        }
        Ok(answer.endpoint(Endpoint {
            transport: Transport::CodexResponses,
            request_url: url::join(&canonical, ROUTES.codex.path),
            base_url: canonical,
            base_url_class: class,
            credential: account.profile_id.clone(),
            auth_header: AuthHeader::Bearer,
            upstream_model,
            tool,
            tool_model,
            notes: Vec::new(),
            rules: Vec::new(),
        }))
    }

    /// The sign-in the Codex route uses, for a capability it serves.
    fn codex_account(&self, model: &ModelRef<'_>, capability: Capability) -> Result<&'a Credential, PolicyError> {
        let account = self.account();
        if !ROUTES.codex.capabilities.contains(&capability) {
            let signed_in =
                account.map_or(String::new(), |a| format!("; the ChatGPT sign-in `{}` cannot serve it", a.profile_id));
            return Err(PolicyError::new(
                PolicyErrorCode::MissingCredential,
                format!("{capability} needs an OpenAI API key: add an api-key credential for openai{signed_in}"),
            ));
        }
        account.ok_or_else(|| {
            PolicyError::new(
                PolicyErrorCode::MissingCredential,
                format!(
                    "no credential can serve {} for {capability}: {} ({})",
                    model.canonical(),
                    ROUTES.missing_credential.note,
                    ROUTES.missing_credential.id
                ),
            )
        })
    }

    /// The Codex route's base, canonicalized: the openai-codex config's, else an openai config
    /// that points at chatgpt.com, else the default. A platform or Azure base is refused: they
    /// reject sign-ins (seed 000).
    fn codex_base(&self, answer: &mut Answer) -> Result<(BaseUrlClass, String), PolicyError> {
        let (base, source, raw) = match (&self.codex_base, self.openai_base.class()) {
            (BaseUrl::Unresolved, BaseUrlClass::Chatgpt) => {
                (&self.openai_base, "the openai config's base-url", self.openai.and_then(|c| c.base_url.as_deref()))
            }
            _ => {
                (&self.codex_base, "the openai-codex config's base-url", self.codex.and_then(|c| c.base_url.as_deref()))
            }
        };
        if let Some(api) =
            self.codex.and_then(|c| c.api.as_deref()).map(str::trim).filter(|a| !a.is_empty() && *a != CODEX_API)
        {
            return Err(PolicyError::new(
                PolicyErrorCode::InvalidInput,
                format!("the openai-codex config's api `{}` is not the Codex API ({CODEX_API})", redact::short(api)),
            ));
        }
        let refuse = |what: &str| {
            PolicyError::new(
                PolicyErrorCode::InvalidBaseUrl,
                format!(
                    "{source} `{}` is {what}; set it to {} or remove it",
                    redact::url(raw.unwrap_or("")),
                    chatgpt_canonical()
                ),
            )
        };
        match base {
            BaseUrl::Unresolved => Ok((BaseUrlClass::Unresolved, chatgpt_canonical().to_owned())),
            BaseUrl::Invalid { .. } => Err(invalid_base(source, raw, base)),
            // Seed 000: an OAuth token on the platform API gets 401 "Missing scopes".
            BaseUrl::Valid { class: BaseUrlClass::Platform, .. } => Err(refuse(
                "the platform API, which rejects ChatGPT sign-ins (401 Missing scopes: api.responses.write)",
            )),
            BaseUrl::Valid { class: BaseUrlClass::Azure, .. } => {
                Err(refuse("an Azure OpenAI resource, which does not accept ChatGPT sign-ins"))
            }
            BaseUrl::Valid { class, canonical, rule, legacy } => {
                answer.rule(rule);
                answer.note_canonicalized(source, raw.unwrap_or(""), canonical, *legacy);
                Ok((*class, canonical.clone()))
            }
        }
    }

    /// Another provider's OpenAI-compatible server, configured with a base URL: its API key
    /// (or token), the platform's paths (chat by Chat Completions unless `api` asks for
    /// Responses). An official OpenAI host is refused here: those routes have their own rules.
    fn openai_compatible(
        &self,
        model: &ModelRef<'_>,
        capability: Capability,
        config: &ProviderConfig,
        mut answer: Answer,
    ) -> Result<Endpoint, PolicyError> {
        let route = &ROUTES.openai_compatible;
        answer.rule(route.id);
        let source = format!("the {} config's base-url", redact::short(&config.id));
        let raw = config.base_url.as_deref();
        let base = url::classify(raw);
        let (class, canonical) = match &base {
            BaseUrl::Valid { class: class @ BaseUrlClass::Custom, canonical, rule, .. } => {
                answer.rule(rule);
                answer.note_canonicalized(&source, raw.unwrap_or(""), canonical, false);
                (*class, canonical.clone())
            }
            BaseUrl::Valid { .. } => {
                return Err(PolicyError::new(
                    PolicyErrorCode::InvalidBaseUrl,
                    format!(
                        "{source} `{}` is an OpenAI or Azure host; configure it under provider openai, openai-codex or azure-openai",
                        redact::url(raw.unwrap_or(""))
                    ),
                ));
            }
            _ => return Err(invalid_base(&source, raw, &base)),
        };
        let Some(key) = self.credential(&model.provider, |k| k != CredentialKind::Oauth) else {
            return Err(PolicyError::new(
                PolicyErrorCode::MissingCredential,
                format!(
                    "no credential for {provider}: add an api-key credential for {provider} to use {}",
                    model.canonical(),
                    provider = redact::short(&model.provider)
                ),
            ));
        };
        let api = config.api.as_deref().map(str::trim).unwrap_or("");
        let path = match capability {
            Capability::Chat if !route.responses_apis.contains(&api) => route.chat_completions_path,
            _ => platform_path(capability).path,
        };
        answer.note(|| {
            format!("sending the {} key `{}` to the configured endpoint {canonical}", model.provider, key.profile_id)
        });
        Ok(answer.endpoint(Endpoint {
            transport: Transport::Custom,
            request_url: url::join(&canonical, path),
            base_url: canonical,
            base_url_class: class,
            credential: key.profile_id.clone(),
            auth_header: AuthHeader::Bearer,
            upstream_model: model.model.to_owned(),
            tool: None,
            tool_model: None,
            notes: Vec::new(),
            rules: Vec::new(),
        }))
    }

    /// `azure-openai/…`: the azure-openai config's resource, with its API key.
    fn azure(&self, model: &ModelRef<'_>, capability: Capability, answer: Answer) -> Result<Endpoint, PolicyError> {
        let provider = ROUTES.azure.provider;
        let raw = self.azure.and_then(|c| c.base_url.as_deref());
        match &self.azure_base {
            BaseUrl::Valid { class: BaseUrlClass::Azure, .. } => {}
            // Nothing set up to serve the ref (as with a missing credential), not a broken
            // configuration: a plan drops this ref and keeps the others.
            BaseUrl::Unresolved => {
                return Err(PolicyError::new(
                    PolicyErrorCode::MissingCredential,
                    format!(
                        "{provider} is not set up: add a {provider} provider config with a base-url such as https://RESOURCE.openai.azure.com/openai/v1, and an api-key credential for {provider}"
                    ),
                ));
            }
            BaseUrl::Invalid { .. } => {
                return Err(invalid_base(&format!("the {provider} config's base-url"), raw, &self.azure_base));
            }
            BaseUrl::Valid { .. } => {
                return Err(PolicyError::new(
                    PolicyErrorCode::InvalidBaseUrl,
                    format!(
                        "the {provider} config's base-url `{}` is not an Azure OpenAI resource; use https://RESOURCE.openai.azure.com/openai/v1",
                        redact::url(raw.unwrap_or(""))
                    ),
                ));
            }
        }
        let Some(key) = self.credential(provider, |k| k == CredentialKind::ApiKey) else {
            return Err(PolicyError::new(
                PolicyErrorCode::MissingCredential,
                format!("{} needs an API key: add an api-key credential for {provider}", model.canonical()),
            ));
        };
        self.azure_endpoint(model, capability, answer, &self.azure_base, key, self.azure)
    }

    fn azure_endpoint(
        &self,
        model: &ModelRef<'_>,
        capability: Capability,
        mut answer: Answer,
        base: &BaseUrl,
        key: &Credential,
        config: Option<&ProviderConfig>,
    ) -> Result<Endpoint, PolicyError> {
        let BaseUrl::Valid { canonical, rule, .. } = base else {
            unreachable!("azure_endpoint is called with a valid Azure base");
        };
        let azure = &ROUTES.azure;
        answer.rule(azure.id).rule(rule);
        answer.note(|| format!("Azure OpenAI takes the API key `{}` in an api-key header", key.profile_id));
        let (transport, path) = match capability {
            Capability::Chat => (Transport::AzureResponses, azure.responses_path.to_owned()),
            Capability::ImageGenerate | Capability::ImageEdit => {
                let deployment = config.and_then(|c| c.deployment.as_deref()).map(str::trim).filter(|d| !d.is_empty());
                let deployment = deployment.unwrap_or(model.model);
                // A deployment name is one path segment: any character is allowed and
                // percent-encoded (`my deployment` → `my%20deployment`, `a/b` → `a%2Fb`), so it
                // can never add a segment or climb one. Only `.`/`..` and control characters,
                // which no deployment is named, are refused.
                if deployment.is_empty()
                    || deployment == "."
                    || deployment == ".."
                    || deployment.contains(char::is_control)
                {
                    return Err(PolicyError::new(
                        PolicyErrorCode::InvalidInput,
                        format!(
                            "the Azure deployment name `{}` is not a deployment: name it as the Azure portal shows it",
                            redact::short(deployment)
                        ),
                    ));
                }
                let operation = if capability == Capability::ImageEdit { "edits" } else { "generations" };
                let segment = url::encode_segment(deployment);
                let path = azure.images_path.replace("{deployment}", &segment).replace("{operation}", operation);
                (Transport::AzureImages, format!("{path}?api-version={}", azure.images_api_version))
            }
            other => {
                return Err(PolicyError::new(
                    PolicyErrorCode::UnsupportedCapability,
                    format!(
                        "Azure OpenAI is routed for chat and images; {other} needs the platform API with an OpenAI API key"
                    ),
                ));
            }
        };
        Ok(answer.endpoint(Endpoint {
            transport,
            request_url: url::join(canonical, &path),
            base_url: canonical.clone(),
            base_url_class: BaseUrlClass::Azure,
            credential: key.profile_id.clone(),
            auth_header: AuthHeader::ApiKey,
            upstream_model: model.model.to_owned(),
            tool: None,
            tool_model: None,
            notes: Vec::new(),
            rules: Vec::new(),
        }))
    }
}

/// The `api` value that names the Codex API family.
pub const CODEX_API: &str = "openai-codex-responses";

fn platform_canonical() -> &'static str {
    crate::rules::URLS.official.iter().find(|o| o.class == BaseUrlClass::Platform).map_or("", |o| o.canonical)
}

fn chatgpt_canonical() -> &'static str {
    crate::rules::URLS.official.iter().find(|o| o.class == BaseUrlClass::Chatgpt).map_or("", |o| o.canonical)
}

/// The platform transport and path of a capability (`build.rs` checks every capability has
/// one).
fn platform_path(capability: Capability) -> &'static rules::CapabilityPath {
    ROUTES
        .platform
        .paths
        .iter()
        .find(|p| p.capability == capability)
        .expect("build.rs checks every capability has a path")
}

fn describe_direct_setting(config: &ProviderConfig) -> String {
    let mut parts = Vec::new();
    if let Some(base) = config.base_url.as_deref().filter(|b| !b.trim().is_empty()) {
        parts.push(format!("base-url `{}`", url::shown(base)));
    }
    if let Some(api) = config.api.as_deref().filter(|a| !a.trim().is_empty()) {
        parts.push(format!("api `{}`", redact::short(api)));
    }
    parts.join(" and ")
}

fn invalid_base(source: &str, raw: Option<&str>, base: &BaseUrl) -> PolicyError {
    let BaseUrl::Invalid { rule, reason } = base else {
        unreachable!("invalid_base is called with an invalid base");
    };
    PolicyError::new(
        PolicyErrorCode::InvalidBaseUrl,
        format!("{source} `{}` {reason} ({rule})", redact::url(raw.unwrap_or(""))),
    )
}

/// The notes and rules an endpoint collects on its way.
struct Answer {
    notes: Vec<String>,
    rules: Vec<String>,
    /// Whether notes are written: a plan's candidates only need the route.
    explain: bool,
}

impl Answer {
    fn rule(&mut self, id: &str) -> &mut Self {
        if !self.rules.iter().any(|r| r == id) {
            self.rules.push(id.to_owned());
        }
        self
    }

    fn note(&mut self, note: impl FnOnce() -> String) -> &mut Self {
        if self.explain {
            self.notes.push(note());
        }
        self
    }

    /// Notes a base URL that canonicalization changed.
    fn note_canonicalized(&mut self, source: &str, raw: &str, canonical: &str, legacy: bool) {
        let raw = raw.trim();
        if raw.is_empty() || raw == canonical {
            return;
        }
        let kind = if legacy { "legacy base URL" } else { "base URL" };
        let why = if legacy { "; the legacy path is retired and answers with an HTML 403" } else { "" };
        // A URL that classified as valid holds no user info, query or secret token.
        self.note(|| format!("canonicalized {kind} {raw} → {canonical} ({source}){why}"));
    }

    fn endpoint(self, mut endpoint: Endpoint) -> Endpoint {
        endpoint.notes = self.notes;
        endpoint.rules = self.rules;
        endpoint
    }
}

/// What the Codex route sends as the model: the model itself, or for images the Responses
/// model that hosts the `image_generation` tool, with the image model named in the tool.
fn codex_model(
    model: &ModelRef<'_>,
    capability: Capability,
    answer: &mut Answer,
) -> (String, Option<String>, Option<String>) {
    if !matches!(capability, Capability::ImageGenerate | Capability::ImageEdit) {
        return (model.model.to_owned(), None, None);
    }
    let images = &ROUTES.codex.images;
    answer.rule(images.id);
    answer.note(|| {
        format!(
            "images over the Codex route are made by the {} tool of {}; {} is named in the tool",
            images.tool, images.host_model, model.model
        )
    });
    (images.host_model.to_owned(), Some(images.tool.to_owned()), Some(model.model.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Plan;

    fn credential(id: &str, provider: &str, kind: CredentialKind) -> Credential {
        Credential { profile_id: id.to_owned(), provider: provider.to_owned(), kind, plan: Plan::Plus }
    }

    fn config(id: &str, base: Option<&str>) -> ProviderConfig {
        ProviderConfig { id: id.to_owned(), base_url: base.map(str::to_owned), api: None, deployment: None }
    }

    fn request(
        model: &str,
        capability: Capability,
        providers: Vec<ProviderConfig>,
        credentials: Vec<Credential>,
    ) -> EndpointRequest {
        EndpointRequest { model: model.to_owned(), capability, providers, credentials, env_base_url: None }
    }

    #[test]
    fn seed_004_legacy_base_is_canonical_on_the_image_path() {
        let answer = resolve_endpoint(&request(
            "openai/gpt-image-2",
            Capability::ImageGenerate,
            vec![config("openai-codex", Some("https://chatgpt.com/backend-api"))],
            vec![credential("codex-oauth", "openai-codex", CredentialKind::Oauth)],
        ))
        .unwrap();
        assert_eq!(answer.transport, Transport::CodexResponses);
        assert_eq!(answer.request_url, "https://chatgpt.com/backend-api/codex/responses");
        assert_eq!(answer.base_url_class, BaseUrlClass::Chatgpt);
        assert_eq!(answer.tool.as_deref(), Some("image_generation"));
        assert_eq!(answer.tool_model.as_deref(), Some("gpt-image-2"));
        assert_eq!(answer.upstream_model, "gpt-5.5");
        assert!(answer.notes.iter().any(|n| n.contains(
            "canonicalized legacy base URL https://chatgpt.com/backend-api → https://chatgpt.com/backend-api/codex"
        )));
    }

    #[test]
    fn seed_000_oauth_never_goes_to_the_platform() {
        let error = resolve_endpoint(&request(
            "openai/gpt-image-2",
            Capability::ImageGenerate,
            vec![config("openai-codex", Some("https://api.openai.com/v1"))],
            vec![credential("codex-oauth", "openai-codex", CredentialKind::Oauth)],
        ))
        .unwrap_err();
        assert_eq!(error.code, PolicyErrorCode::InvalidBaseUrl);
        assert!(error.message.contains("https://chatgpt.com/backend-api/codex"), "{}", error.message);
    }

    #[test]
    fn an_api_key_takes_the_platform_route() {
        let answer = resolve_endpoint(&request(
            "gpt-5.5",
            Capability::Chat,
            vec![],
            vec![
                credential("codex", "openai-codex", CredentialKind::Oauth),
                credential("key", "openai", CredentialKind::ApiKey),
            ],
        ))
        .unwrap();
        assert_eq!((answer.transport, answer.credential.as_str()), (Transport::PlatformResponses, "key"));
        assert_eq!(answer.request_url, "https://api.openai.com/v1/responses");
    }

    #[test]
    fn no_credential_names_both_fixes() {
        let error = resolve_endpoint(&request("openai/gpt-5.5", Capability::Chat, vec![], vec![])).unwrap_err();
        assert_eq!(error.code, PolicyErrorCode::MissingCredential);
        assert!(error.message.contains("api-key") && error.message.contains("oauth"), "{}", error.message);
    }

    #[test]
    fn model_refs_parse_and_alias() {
        let codex = ModelRef::parse(" openai-codex/gpt-5.5 ").unwrap();
        assert_eq!(codex.model, "gpt-5.5");
        assert_eq!((codex.canonical(), codex.alias.is_some()), ("openai/gpt-5.5".to_owned(), true));
        assert_eq!(ModelRef::parse("gpt-5.5").unwrap().canonical(), "openai/gpt-5.5");
        let foreign = ModelRef::parse("openrouter/openai/gpt-5.4-image-2").unwrap();
        assert_eq!((foreign.provider.as_str(), foreign.leaf()), ("openrouter", "gpt-5.4-image-2"));
        for bad in
            ["", "  ", "openai/", "/gpt-5.5", "openai/gpt 5", "openai/a/b", "openrouter//x", "sk-proj-abcdefghijklmnop"]
        {
            assert!(ModelRef::parse(bad).is_err(), "{bad:?} parsed");
        }
    }
}
