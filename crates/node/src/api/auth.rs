//! Bearer-token authentication for the API.
//!
//! The node picks [`Auth::None`] when the API listens on loopback only and [`Auth::Bearer`] with
//! the contents of `api.token` otherwise (interface.md, "HTTP API"). With a token, every route
//! asks for it, `/metrics` and the dashboard included: a scraper or a browser on another host is
//! exactly the case the token is for.

use std::fmt;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::Failure;

/// Who may use the API.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// Anyone who can connect: for an API bound to loopback only.
    None,
    /// Only requests carrying `Authorization: Bearer <token>` with this token. An empty token
    /// admits no one rather than everyone.
    Bearer(String),
}

impl fmt::Debug for Auth {
    // The token must not end up in a log line through `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("Auth::None"),
            Auth::Bearer(_) => f.write_str("Auth::Bearer(<redacted>)"),
        }
    }
}

impl Auth {
    /// Whether a request with these headers may go on.
    pub fn admits(&self, headers: &HeaderMap) -> bool {
        let Auth::Bearer(token) = self else {
            return true;
        };
        if token.is_empty() {
            return false;
        }
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return false;
        };
        let Ok(value) = value.to_str() else {
            return false;
        };
        // RFC 7235: the scheme name is case-insensitive.
        let Some((scheme, credentials)) = value.trim().split_once(' ') else {
            return false;
        };
        scheme.eq_ignore_ascii_case("bearer")
            && constant_time_eq(credentials.trim().as_bytes(), token.as_bytes())
    }
}

/// Compares two byte strings in time that depends on their lengths only, so that a client
/// cannot find the token byte by byte by timing refusals. The length is not secret: tokens are
/// made with a fixed length.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

/// The middleware: refuses a request the [`Auth`] does not admit with 401 and the error body.
pub(crate) async fn require(
    State(auth): State<Arc<Auth>>,
    request: Request,
    next: Next,
) -> Response {
    if auth.admits(request.headers()) {
        next.run(request).await
    } else {
        Failure::unauthorized().into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_authorization(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn no_auth_admits_everyone() {
        assert!(Auth::None.admits(&HeaderMap::new()));
    }

    #[test]
    fn bearer_admits_only_the_right_token() {
        let auth = Auth::Bearer("s3cret".into());
        assert!(auth.admits(&with_authorization("Bearer s3cret")));
        assert!(auth.admits(&with_authorization("bearer s3cret")));
        assert!(!auth.admits(&HeaderMap::new()));
        assert!(!auth.admits(&with_authorization("Bearer s3cre")));
        assert!(!auth.admits(&with_authorization("Bearer s3cret2")));
        assert!(!auth.admits(&with_authorization("Basic s3cret")));
        assert!(!auth.admits(&with_authorization("s3cret")));
    }

    #[test]
    fn empty_token_admits_no_one() {
        let auth = Auth::Bearer(String::new());
        assert!(!auth.admits(&with_authorization("Bearer ")));
        assert!(!auth.admits(&HeaderMap::new()));
    }

    #[test]
    fn debug_output_hides_the_token() {
        let shown = format!("{:?}", Auth::Bearer("s3cret".into()));
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
