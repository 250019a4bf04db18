//! The API's defence against requests a web page makes from another site.
//!
//! A node's API often listens on loopback without a token. Any web page its operator visits
//! can then make the browser send requests to it: a form post, or a script's `fetch` in
//! `no-cors` mode. The page cannot read the answers, but the requests would still act
//! (publish to a group, create an invitation). Two rules keep them out:
//!
//! - A request with an `Origin` header from another origin than the API's own is refused with
//!   403 `forbidden`. Browsers put `Origin` on every request a page makes with a method other
//!   than GET or HEAD; curl, the CLI and scripts send none, and the API's own pages send their
//!   own origin.
//! - A JSON body must say so with `Content-Type: application/json` ([`super::routes`]'s
//!   `json_body`). A cross-site form can only send `text/plain`, a urlencoded or a multipart
//!   body, and a page's script cannot send JSON's media type to another site without the
//!   browser asking first (a CORS preflight), which this API never grants.

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::Failure;

/// The middleware: refuses a request from another site's page, before anything reads it.
pub(crate) async fn refuse(request: Request, next: Next) -> Response {
    match foreign_origin(request.headers()) {
        Some(origin) => Failure {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            message: format!(
                "a request from the web page at {origin} is refused: the API answers only its own \
                 pages and clients that send no Origin header (docs/operations.md, \
                 \"Requests from web pages\")"
            ),
        }
        .into_response(),
        None => next.run(request).await,
    }
}

/// The request's `Origin`, when it is not the API's own (the scheme's `//` followed by the
/// `Host` the request was sent to). An `Origin` that is not text, or `null` (a sandboxed or
/// opaque page), is foreign.
fn foreign_origin(headers: &HeaderMap) -> Option<String> {
    let origin = headers.get(header::ORIGIN)?;
    let Ok(origin) = origin.to_str() else {
        return Some(format!("{origin:?}"));
    };
    let authority = origin.split_once("://").map(|(_, authority)| authority);
    let host = headers.get(header::HOST).and_then(|host| host.to_str().ok());
    match (authority, host) {
        (Some(authority), Some(host)) if authority.eq_ignore_ascii_case(host) => None,
        _ => Some(origin.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(origin: Option<&str>, host: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        if let Some(host) = host {
            headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        }
        headers
    }

    #[test]
    fn no_origin_is_a_client_and_is_let_through() {
        assert_eq!(foreign_origin(&headers(None, Some("127.0.0.1:7421"))), None);
        assert_eq!(foreign_origin(&headers(None, None)), None);
    }

    #[test]
    fn the_apis_own_pages_are_let_through() {
        let own = headers(Some("http://127.0.0.1:7421"), Some("127.0.0.1:7421"));
        assert_eq!(foreign_origin(&own), None);
        let own = headers(Some("http://LOCALHOST:7421"), Some("localhost:7421"));
        assert_eq!(foreign_origin(&own), None);
    }

    #[test]
    fn other_sites_and_opaque_pages_are_refused() {
        for origin in ["https://evil.example", "http://127.0.0.1:8080", "null", "http://127.0.0.1"]
        {
            let foreign = foreign_origin(&headers(Some(origin), Some("127.0.0.1:7421")));
            assert_eq!(foreign.as_deref(), Some(origin), "{origin}");
        }
        let no_host = foreign_origin(&headers(Some("http://127.0.0.1:7421"), None));
        assert_eq!(no_host.as_deref(), Some("http://127.0.0.1:7421"));
    }
}
