//! The web token: read once from `[web] token_file`, compared in constant
//! time, never logged or echoed. A request presents it as
//! `Authorization: Bearer TOKEN` (scripts, Prometheus) or in the
//! `scopewatch_token` cookie, which a browser gets by opening any page
//! once with `?token=TOKEN`: the answer sets the cookie and redirects to
//! the same page without the token in its address. `/healthz` and
//! `/readyz` answer without it (they say nothing about the data).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::AppState;
use crate::config::web::MIN_TOKEN_BYTES;

const COOKIE: &str = "scopewatch_token";

/// The secret requests must present.
pub struct Token(Vec<u8>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token([redacted])")
    }
}

impl Token {
    /// The token as read from `[web] token_file`: at least
    /// [`MIN_TOKEN_BYTES`] long, printable ASCII without spaces (it travels
    /// in a header and a cookie).
    pub fn new(text: &str) -> Result<Token, String> {
        let token = text.trim();
        if token.len() < MIN_TOKEN_BYTES || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "[web] token_file: the token must be at least {MIN_TOKEN_BYTES} printable ASCII characters without spaces (for example the output of `openssl rand -hex 32`)"
            ));
        }
        Ok(Token(token.as_bytes().to_vec()))
    }

    fn matches(&self, presented: &[u8]) -> bool {
        bool::from(self.0.as_slice().ct_eq(presented))
    }
}

/// Lets a request through when no token is configured, or it presents
/// the token; answers 401 otherwise.
pub async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = &state.token else {
        return next.run(request).await;
    };
    let path = request.uri().path();
    if matches!(path, "/healthz" | "/readyz") {
        return next.run(request).await;
    }
    if presented(request.headers()).is_some_and(|p| token.matches(p.as_bytes())) {
        return next.run(request).await;
    }
    if let Some((given, rest)) = query_token(request.uri().query())
        && token.matches(given.as_bytes())
    {
        // `//host` would be another site to the browser: back to the root.
        let path = if path.starts_with("//") { "/" } else { path };
        let location = if rest.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{rest}")
        };
        return redirect_with_cookie(&location, &given);
    }
    unauthorized()
}

/// The token from the `Authorization` header or the cookie.
fn presented(headers: &HeaderMap) -> Option<String> {
    if let Some(bearer) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(bearer.trim().to_string());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE).then(|| value.to_string())
        })
}

/// `token` from a query string, and the rest of the query without it.
fn query_token(query: Option<&str>) -> Option<(String, String)> {
    let query = query?;
    let mut token = None;
    let mut rest = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if name == "token" {
            token = Some(value.into_owned());
        } else {
            rest.append_pair(&name, &value);
        }
    }
    Some((token?, rest.finish()))
}

fn redirect_with_cookie(location: &str, token: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    // The location is this server's own path; the token is printable ASCII.
    if let (Ok(location), Ok(cookie)) = (
        HeaderValue::from_str(location),
        HeaderValue::from_str(&format!(
            "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
        )),
    ) {
        headers.insert(header::LOCATION, location);
        headers.insert(header::SET_COOKIE, cookie);
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    } else {
        unauthorized()
    }
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer realm=\"scopewatch\"")],
        "a token is required: send `Authorization: Bearer TOKEN`, or open a page once with ?token=TOKEN\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_comes_from_the_header_or_the_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=b; scopewatch_token=s3cret".parse().unwrap(),
        );
        assert_eq!(presented(&headers).as_deref(), Some("s3cret"));
        headers.insert(header::AUTHORIZATION, "Bearer t0ken".parse().unwrap());
        assert_eq!(presented(&headers).as_deref(), Some("t0ken"));
        assert_eq!(presented(&HeaderMap::new()), None);
    }

    #[test]
    fn the_query_token_is_taken_out_of_the_address() {
        assert_eq!(
            query_token(Some("at=2024-05-01&token=abc&view=side")),
            Some(("abc".into(), "at=2024-05-01&view=side".into()))
        );
        assert_eq!(query_token(Some("at=1")), None);
        assert_eq!(query_token(None), None);
    }

    #[test]
    fn a_token_matches_only_itself() {
        let token = Token(b"0123456789abcdef".to_vec());
        assert!(token.matches(b"0123456789abcdef"));
        assert!(!token.matches(b"0123456789abcdeF"));
        assert!(!token.matches(b"0123456789abcde"));
        assert_eq!(format!("{token:?}"), "Token([redacted])");
    }
}
