//! Route requirements, compiled: what one route adds to the policy.
//!
//! A route only adds. Its rules hold on top of every policy rule, its
//! forwarded headers come after the policy's, and nested routes (Nginx
//! `http` → `server` → `location`, Express `app.use` → `router` → route)
//! concatenate with [`Route::merge`]. Routes are checked against the
//! verified token's claims, so any number of layers costs one verification.

use serde_json::Value;

use crate::claims::{ClaimPath, Rule, RuleSet};
use crate::compiled::Policy;
use crate::error::{Error, ErrorKind};
use crate::forward::is_header_name;
use crate::policy::{ClaimRuleDoc, ClaimRulesDoc, Mode, RouteDoc, TokenSourceDoc, path_error};
use crate::sources::TokenSource;

use super::request::Request;

/// Compiled route requirements. Build once per route, not per request.
#[derive(Debug, Clone, Default)]
pub struct Route {
    /// `claims` and one `any_of` group per level that has one.
    pub(crate) rules: RuleSet,
    pub(crate) scopes: Vec<String>,
    pub(crate) forward: Vec<(ClaimPath, String)>,
    pub(crate) payload_header: Option<String>,
    pub(crate) token_sources: Option<Vec<TokenSource>>,
    pub(crate) mode: Option<Mode>,
    pub(crate) keep_query_token: Option<bool>,
    pub(crate) exclude: Vec<String>,
}

impl Route {
    /// A route that adds nothing.
    pub fn new() -> Route {
        Route::default()
    }

    /// Compiles a route document for `policy`. A forwarded header the
    /// policy already sets, a bad header name, rule or exclude prefix is a
    /// `policy` error that names the field.
    pub fn compile(policy: &Policy, doc: &RouteDoc) -> Result<Route, Error> {
        let mut route = Route::new();
        for (name, rule) in &doc.claims {
            route.add_claim_rule(name, rule)?;
        }
        if let Some(any_of) = &doc.any_of {
            route.add_any_of(any_of)?;
        }
        for scope in &doc.scopes {
            route.add_scope(scope)?;
        }
        for (claim, header) in &doc.claims_to_headers {
            route.add_claim_header(policy, claim, header)?;
        }
        if let Some(header) = &doc.payload_header {
            route.set_payload_header(policy, header)?;
        }
        if let Some(sources) = &doc.token_sources {
            route.set_token_sources(sources)?;
        }
        route.mode = doc.mode;
        route.keep_query_token = doc.keep_query_token;
        for prefix in &doc.exclude {
            route.add_exclude(prefix)?;
        }
        Ok(route)
    }

    /// Compiles a route document given as JSON; unknown fields are errors
    /// that name the field.
    pub fn from_value(policy: &Policy, value: Value) -> Result<Route, Error> {
        let doc: RouteDoc = serde_path_to_error::deserialize(value).map_err(path_error)?;
        Route::compile(policy, &doc)
    }

    /// Adds a claim rule (the policy's rule syntax).
    pub fn add_claim_rule(&mut self, name: &str, rule: &ClaimRuleDoc) -> Result<(), Error> {
        self.rules.push(Rule::compile("claims", name, rule)?);
        Ok(())
    }

    /// Adds a group of alternatives (the policy's `any_of` syntax): at
    /// least one must hold in full, on top of every other rule and group.
    pub fn add_any_of(&mut self, any_of: &[ClaimRulesDoc]) -> Result<(), Error> {
        self.rules.add_any_of(any_of)
    }

    /// Adds a group of alternatives given as JSON text, a list of claim
    /// maps such as `[{"roles": {"contains_any": ["admin"]}}, {"scope":
    /// {"contains_any": ["orders:write"]}}]` (an Nginx
    /// `jwtgate_claim_any_of` value).
    pub fn add_any_of_json(&mut self, any_of_json: &str) -> Result<(), Error> {
        let value = crate::json::parse_strict(any_of_json)
            .map_err(|e| Error::policy(format!("any_of: not valid JSON: {e}")))?;
        let any_of: Vec<ClaimRulesDoc> = serde_path_to_error::deserialize(value)
            .map_err(|e| Error::policy(format!("any_of{}", bracketed(path_error(e).message()))))?;
        self.add_any_of(&any_of)
    }

    /// Adds a claim rule given as JSON text, e.g. `{"contains_all": ["orders"]}`
    /// (an Nginx `jwtgate_claim_rule` value).
    pub fn add_claim_rule_json(&mut self, name: &str, rule_json: &str) -> Result<(), Error> {
        let value = crate::json::parse_strict(rule_json)
            .map_err(|e| Error::policy(format!("claims.{name}: not valid JSON: {e}")))?;
        let rule: ClaimRuleDoc = serde_path_to_error::deserialize(value)
            .map_err(|e| Error::policy(format!("claims.{name}.{}", path_error(e).message())))?;
        self.add_claim_rule(name, &rule)
    }

    /// Adds a scope the token must hold.
    pub fn add_scope(&mut self, scope: &str) -> Result<(), Error> {
        if scope.is_empty() || scope.contains(' ') || !scope.is_ascii() {
            return Err(Error::policy(format!("scopes: {scope:?} is not one scope")));
        }
        if !self.scopes.iter().any(|s| s == scope) {
            self.scopes.push(scope.to_owned());
        }
        Ok(())
    }

    /// Forwards a claim (name or JSON Pointer) as a header.
    pub fn add_claim_header(&mut self, policy: &Policy, claim: &str, header: &str) -> Result<(), Error> {
        self.check_new_header(policy, "claims_to_headers", header)?;
        let path = ClaimPath::parse(claim).map_err(|e| Error::policy(format!("claims_to_headers: {e}")))?;
        self.forward.push((path, header.to_owned()));
        Ok(())
    }

    /// Sends the whole payload (base64url) in `header`.
    pub fn set_payload_header(&mut self, policy: &Policy, header: &str) -> Result<(), Error> {
        if self.payload_header.as_deref().is_some_and(|own| own.eq_ignore_ascii_case(header)) {
            return Ok(());
        }
        self.check_new_header(policy, "payload_header", header)?;
        if let Some(own) = &self.payload_header {
            return Err(Error::policy(format!("payload_header: the route already uses {own}")));
        }
        self.payload_header = Some(header.to_owned());
        Ok(())
    }

    /// Looks for the token in these sources instead of the policy's.
    pub fn set_token_sources(&mut self, sources: &[TokenSourceDoc]) -> Result<(), Error> {
        let compiled = sources.iter().map(TokenSource::compile).collect::<Result<Vec<_>, _>>()?;
        if compiled.is_empty() {
            return Err(Error::policy("token_sources: list at least one source"));
        }
        self.token_sources = Some(compiled);
        Ok(())
    }

    /// Adds a token source; the route's sources replace the policy's, in
    /// the order they are added.
    pub fn add_token_source(&mut self, doc: &TokenSourceDoc) -> Result<(), Error> {
        let source = TokenSource::compile(doc)?;
        self.token_sources.get_or_insert_with(Vec::new).push(source);
        Ok(())
    }

    /// Sets the route's mode.
    pub fn set_mode(&mut self, mode: Mode) {
        self.mode = Some(mode);
    }

    /// Sets whether a query-string token stays in the upstream URL.
    pub fn set_keep_query_token(&mut self, keep: bool) {
        self.keep_query_token = Some(keep);
    }

    /// Adds a path prefix checked in mode `off`.
    pub fn add_exclude(&mut self, prefix: &str) -> Result<(), Error> {
        if !prefix.starts_with('/') {
            return Err(Error::policy(format!("exclude: {prefix:?} is not a path prefix starting with '/'")));
        }
        let trimmed = if prefix.len() > 1 { prefix.trim_end_matches('/') } else { prefix };
        self.exclude.push(if trimmed.is_empty() { "/".to_owned() } else { trimmed.to_owned() });
        Ok(())
    }

    /// `child` on top of this route: rules, scopes, forwarded headers and
    /// excluded paths concatenate; the child's mode, token sources and
    /// query-token setting replace this route's where the child sets them.
    /// A header both forward is an error.
    pub fn merge(&self, child: &Route) -> Result<Route, Error> {
        let mut merged = self.clone();
        merged.rules.extend(&child.rules);
        for scope in &child.scopes {
            if !merged.scopes.contains(scope) {
                merged.scopes.push(scope.clone());
            }
        }
        for (path, header) in &child.forward {
            if merged.sets_header(header) {
                return Err(Error::policy(format!("claims_to_headers: {header} is forwarded twice")));
            }
            merged.forward.push((path.clone(), header.clone()));
        }
        if let Some(header) = &child.payload_header {
            match &merged.payload_header {
                Some(own) if !own.eq_ignore_ascii_case(header) => {
                    return Err(Error::policy(format!("payload_header: already {own}")));
                }
                _ if merged.forward.iter().any(|(_, h)| h.eq_ignore_ascii_case(header)) => {
                    return Err(Error::policy(format!("payload_header: {header} is forwarded twice")));
                }
                _ => merged.payload_header = Some(header.clone()),
            }
        }
        if child.token_sources.is_some() {
            merged.token_sources = child.token_sources.clone();
        }
        merged.mode = child.mode.or(merged.mode);
        merged.keep_query_token = child.keep_query_token.or(merged.keep_query_token);
        merged.exclude.extend(child.exclude.iter().cloned());
        Ok(merged)
    }

    /// Header names this route forwards.
    pub fn forwarded_names(&self) -> impl Iterator<Item = &str> {
        self.forward.iter().map(|(_, h)| h.as_str()).chain(self.payload_header.as_deref())
    }

    /// The mode for `request`: `off` under an excluded prefix, else the
    /// route's mode, else the policy's. The path is split out of the
    /// target only where a prefix is excluded.
    pub(crate) fn mode_for(&self, policy: &Policy, request: &Request<'_>) -> Mode {
        let excluded = !self.exclude.is_empty() && {
            let path = request.path();
            is_plain_path(path)
                && self.exclude.iter().any(|p| {
                    p == "/"
                        || path == p
                        || path.strip_prefix(p.as_str()).is_some_and(|rest| rest.starts_with('/'))
                })
        };
        if excluded { Mode::Off } else { self.mode.unwrap_or(policy.mode()) }
    }

    /// Checks the route's rules and scopes against verified claims.
    pub(crate) fn check(&self, claims: &Value) -> Result<(), Error> {
        self.rules.check(|path| path.lookup_value(claims).filter(|v| !v.is_null()).map(Into::into))?;
        if !self.scopes.is_empty() {
            check_scopes(&self.scopes, claims)?;
        }
        Ok(())
    }

    fn sets_header(&self, header: &str) -> bool {
        self.forwarded_names().any(|h| h.eq_ignore_ascii_case(header))
    }

    fn check_new_header(&self, policy: &Policy, field: &str, header: &str) -> Result<(), Error> {
        if !is_header_name(header) {
            return Err(Error::policy(format!("{field}: {header:?} is not a header name")));
        }
        if policy.forwarded_names().iter().any(|h| h.eq_ignore_ascii_case(header)) {
            return Err(Error::policy(format!("{field}: the policy already forwards {header}")));
        }
        if self.sets_header(header) {
            return Err(Error::policy(format!("{field}: {header} is forwarded twice")));
        }
        Ok(())
    }
}

/// Whether `path` may be matched against excluded prefixes: no `.` or `..`
/// segment, no percent-encoded dot, slash or backslash, no backslash and no
/// empty segment. An upstream that normalises paths would read
/// `/health/../admin` as `/admin`, so such a path is never excluded: it is
/// checked (fail closed).
pub fn is_plain_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    !(path.contains('\\')
        || path.contains("//")
        || lower.contains("%2e")
        || lower.contains("%2f")
        || lower.contains("%5c")
        || path.split('/').any(|segment| segment == "." || segment == ".."))
}

/// A path error's message (`[1].roles: unknown field ...`) placed after
/// the field it is in: `[1]...` joins directly, anything else after `: `.
fn bracketed(message: &str) -> String {
    if message.starts_with('[') { message.to_owned() } else { format!(": {message}") }
}

/// The scopes a token holds: `scope` (space-delimited, RFC 8693 and 9068)
/// and `scp` (an array or a string, as Azure AD and Okta issue it).
fn check_scopes(wanted: &[String], claims: &Value) -> Result<(), Error> {
    let held = |scope: &str| {
        ["scope", "scp"].iter().any(|name| match claims.get(name) {
            Some(Value::String(s)) => s.split(' ').any(|w| w == scope),
            Some(Value::Array(items)) => items.iter().any(|i| i.as_str() == Some(scope)),
            _ => false,
        })
    };
    match wanted.iter().find(|s| !held(s)) {
        None => Ok(()),
        Some(missing) => {
            Err(Error::with_claim(ErrorKind::Claim, "scope", format!("scope {missing} is required"))
                .with_scope(wanted.join(" ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Route, is_plain_path};

    #[test]
    fn rule_text_errors_name_the_rule() {
        let any_of = |text: &str| Route::new().add_any_of_json(text).unwrap_err().message().to_owned();
        assert_eq!(any_of("[]"), "any_of: list at least one alternative");
        let unknown = any_of(r#"[{"roles": {"equls": 1}}]"#);
        assert!(unknown.starts_with("any_of[0].roles.equls: unknown field"), "{unknown}");
        assert!(
            any_of(r#"[{"a": {"equals": 1}}, {"roles": {"regex": "("}}]"#)
                .starts_with("any_of[1].roles.regex: ")
        );
        assert!(any_of(r#"{"roles": {}}"#).starts_with("any_of: invalid type: map"));
        assert!(any_of("[").starts_with("any_of: not valid JSON"));
        let rule =
            |text: &str| Route::new().add_claim_rule_json("level", text).unwrap_err().message().to_owned();
        assert_eq!(rule(r#"{"ge": 2, "status": 500}"#), "claims.level.status: must be 401 or 403, not 500");
        assert!(
            rule(r#"{"gt": "2"}"#).starts_with("claims.level.gt: invalid type"),
            "{}",
            rule(r#"{"gt": "2"}"#)
        );
        let mut route = Route::new();
        route.add_any_of_json(r#"[{"roles": {"contains_any": ["admin"]}}]"#).unwrap();
        route.add_claim_rule_json("level", r#"{"ge": 2, "status": 401}"#).unwrap();
        assert!(!route.rules.is_empty());
    }

    #[test]
    fn only_plain_paths_may_be_excluded() {
        for ok in ["/health", "/health/live", "/", "/a.b/c..d/e.", "/health;x"] {
            assert!(is_plain_path(ok), "{ok}");
        }
        for bad in [
            "/health/../admin",
            "/health/./x",
            "/health/%2e%2e/a",
            "/health/.%2E/a",
            "/h/%2F",
            "/h/%5c",
            "/h\\x",
            "//h",
            "/h//x",
            "/..",
        ] {
            assert!(!is_plain_path(bad), "{bad}");
        }
    }
}
