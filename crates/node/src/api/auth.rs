//! Bearer-token authentication for the API.
//!
//! The node picks [`Auth::None`] when the API listens on loopback only and [`Auth::Bearer`] with
//! the contents of `api.token` otherwise (interface.md, "HTTP API"). With a token, every route
//! asks for it, `/metrics` and the dashboard included: a scraper or a browser on another host is
//! exactly the case the token is for.
//!
//! A browser cannot send that header when it loads the dashboard, nor when its script opens the
//! event stream (`EventSource` takes no headers), so a `GET` or `HEAD` request may instead carry
//! the token as the query parameter `token` (`/?token=...`, `/v1/events?token=...`). Requests
//! that change something (`PUT`, `POST`, `DELETE`) must still use the header: a token in a URL
//! ends up in browser history, so it should at least not be enough to act.

use std::fmt;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
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

    /// Whether a request with this query string (the part of the URI after `?`) carries the
    /// token as the one parameter `token`. Only for `GET` and `HEAD` requests (module docs).
    pub fn admits_query(&self, query: Option<&str>) -> bool {
        let Auth::Bearer(token) = self else {
            return true;
        };
        if token.is_empty() {
            return false;
        }
        let Some(query) = query else {
            return false;
        };
        // Exactly one `token` parameter: with several, the one the page passes on to its
        // assets might not be the one that was checked.
        let mut tokens = query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .filter(|(name, _)| *name == "token")
            .map(|(_, value)| value);
        match (tokens.next(), tokens.next()) {
            (Some(value), None) => constant_time_eq(&percent_decode(value), token.as_bytes()),
            _ => false,
        }
    }
}

/// Decodes a query value: `%XX` escapes and `+` for a space. A malformed escape is kept as it is.
pub(super) fn percent_decode(value: &str) -> Vec<u8> {
    let bytes = value.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|b| (*b as char).to_digit(16));
        match bytes[i] {
            b'%' if hex(i + 1).is_some() && hex(i + 2).is_some() => {
                let (high, low) = (hex(i + 1).unwrap_or(0), hex(i + 2).unwrap_or(0));
                decoded.push((high * 16 + low) as u8);
                i += 3;
            }
            b'+' => {
                decoded.push(b' ');
                i += 1;
            }
            byte => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    decoded
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
    let query_allowed = matches!(*request.method(), Method::GET | Method::HEAD);
    if auth.admits(request.headers()) || (query_allowed && auth.admits_query(request.uri().query()))
    {
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
        assert!(!auth.admits_query(Some("token=")));
        assert!(!auth.admits_query(None));
    }

    #[test]
    fn query_token_admits_only_the_right_token() {
        let auth = Auth::Bearer("s3cret".into());
        assert!(auth.admits_query(Some("token=s3cret")));
        assert!(auth.admits_query(Some("x=1&token=s3cret")));
        assert!(!auth.admits_query(Some("token=nope&token=s3cret")), "one token parameter only");
        assert!(!auth.admits_query(Some("token=s3cret&token=s3cret")));
        assert!(auth.admits_query(Some("token=s3cr%65t")));
        assert!(!auth.admits_query(None));
        assert!(!auth.admits_query(Some("")));
        assert!(!auth.admits_query(Some("token")));
        assert!(!auth.admits_query(Some("token=s3cre")));
        assert!(!auth.admits_query(Some("token=s3cret2")));
        assert!(!auth.admits_query(Some("Token=s3cret")));
        assert!(!auth.admits_query(Some("xtoken=s3cret")));
        assert!(Auth::None.admits_query(None));
        let spaced = Auth::Bearer("a b&c".into());
        assert!(spaced.admits_query(Some("token=a+b%26c")));
        assert!(spaced.admits_query(Some("token=a%20b%26c")));
        assert!(!spaced.admits_query(Some("token=a b&c")));
    }

    #[test]
    fn percent_decode_keeps_malformed_escapes() {
        assert_eq!(percent_decode("a%2"), b"a%2");
        assert_eq!(percent_decode("%zz%41"), b"%zzA");
        assert_eq!(percent_decode("%e2%9C%93"), "\u{2713}".as_bytes());
    }

    #[test]
    fn debug_output_hides_the_token() {
        let shown = format!("{:?}", Auth::Bearer("s3cret".into()));
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
