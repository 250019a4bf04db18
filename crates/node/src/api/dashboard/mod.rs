//! The operator dashboard at `GET /`: one static page, its stylesheet and its two scripts,
//! embedded in the binary. Nothing loads from the network; `dashboard.js` reads the node's own
//! `/v1` routes and its event stream, and shows the members, services, groups, routes and
//! counters; `graph.js` draws the overlay and each group's topology for it.
//!
//! With a bearer token ([`super::Auth`]), a browser opens the page as `/?token=TOKEN`: the page
//! is then served with the token added to the URLs of its stylesheet and scripts (which the
//! browser fetches without headers), and the script sends it as `Authorization: Bearer` on its
//! requests and as `?token=` on the event stream, which cannot carry headers.

use axum::extract::RawQuery;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::auth::percent_decode;

const INDEX_HTML: &str = include_str!("index.html");
const DASHBOARD_CSS: &str = include_str!("dashboard.css");
const DASHBOARD_JS: &str = include_str!("dashboard.js");
const GRAPH_JS: &str = include_str!("graph.js");

/// Where the page's stylesheet and scripts are, as `index.html` writes them: the attribute up
/// to the URL's closing quote, to which [`index`] adds the token.
const ASSET_URLS: [&str; 3] = ["href=\"dashboard.css", "src=\"graph.js", "src=\"dashboard.js"];

/// What the page may load and connect to: only this node (no CDN, no inline script).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

fn asset(content_type: &'static str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        ],
        body,
    )
        .into_response()
}

/// `GET /`: the page. A `token` query parameter (already checked by the auth middleware) is
/// passed on to the stylesheet's and scripts' URLs.
pub(crate) async fn index(RawQuery(query): RawQuery) -> Response {
    let mut html = INDEX_HTML.to_owned();
    if let Some(token) = query.as_deref().and_then(token_param) {
        let suffix = format!("?token={}\"", percent_encode(&token));
        for url in ASSET_URLS {
            html = html.replace(&format!("{url}\""), &format!("{url}{suffix}"));
        }
    }
    asset("text/html; charset=utf-8", html)
}

/// `GET /dashboard.css`.
pub(crate) async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", DASHBOARD_CSS.to_owned())
}

/// `GET /dashboard.js`.
pub(crate) async fn script() -> Response {
    asset("text/javascript; charset=utf-8", DASHBOARD_JS.to_owned())
}

/// `GET /graph.js`.
pub(crate) async fn graph_script() -> Response {
    asset("text/javascript; charset=utf-8", GRAPH_JS.to_owned())
}

/// The first `token` parameter of a query string, decoded.
fn token_param(query: &str) -> Option<Vec<u8>> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == "token")
        .map(|(_, value)| percent_decode(value))
}

/// Percent-encodes every byte but RFC 3986's unreserved characters, so that the result is safe
/// both in a URL's query and in an HTML attribute.
fn percent_encode(bytes: &[u8]) -> String {
    let mut encoded = String::with_capacity(bytes.len() * 3);
    for &byte in bytes {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;
    use crate::api::Auth;
    use crate::api::fake::FakeApi;
    use crate::api::router;

    async fn get(auth: Auth, uri: &str) -> (StatusCode, String, String) {
        let request = Request::builder().uri(uri).body(Body::empty()).expect("a request");
        let response = router(FakeApi::new(), auth).oneshot(request).await.expect("infallible");
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let bytes = response.into_body().collect().await.expect("a body").to_bytes();
        (status, content_type, String::from_utf8(bytes.to_vec()).expect("UTF-8"))
    }

    #[tokio::test]
    async fn serves_the_page_and_its_assets_with_their_types() {
        for (path, expected) in [
            ("/", "text/html"),
            ("/dashboard.css", "text/css"),
            ("/dashboard.js", "text/javascript"),
            ("/graph.js", "text/javascript"),
        ] {
            let (status, content_type, body) = get(Auth::None, path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert!(content_type.starts_with(expected), "{path}: {content_type}");
            assert!(!body.is_empty(), "{path}");
        }
        let (_, _, html) = get(Auth::None, "/").await;
        for url in ASSET_URLS {
            assert!(html.contains(&format!("{url}\"")), "{url}: {html}");
        }
    }

    #[test]
    fn nothing_loads_from_the_network() {
        for text in [INDEX_HTML, DASHBOARD_CSS, DASHBOARD_JS, GRAPH_JS] {
            // The SVG namespace is a name, not something fetched.
            let text = text.replace("http://www.w3.org/2000/svg", "");
            for remote in ["://", "\"//", "'//", "url(", "@import"] {
                assert!(!text.contains(remote), "{remote}");
            }
            assert!(!text.contains("innerHTML"), "data goes into the DOM as text only");
        }
    }

    #[tokio::test]
    async fn with_a_token_the_page_passes_it_to_its_assets() {
        let auth = || Auth::Bearer("s3 cret".into());
        let (status, _, _) = get(auth(), "/").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _, html) = get(auth(), "/?token=s3+cret").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("href=\"dashboard.css?token=s3%20cret\""), "{html}");
        assert!(html.contains("src=\"dashboard.js?token=s3%20cret\""), "{html}");
        assert!(html.contains("src=\"graph.js?token=s3%20cret\""), "{html}");
        for path in ["/dashboard.css", "/dashboard.js", "/graph.js", "/v1/status", "/v1/events"] {
            assert_eq!(get(auth(), path).await.0, StatusCode::UNAUTHORIZED, "{path}");
        }
        for asset in ["dashboard.css", "dashboard.js", "graph.js"] {
            let path = format!("/{asset}?token=s3%20cret");
            assert_eq!(get(auth(), &path).await.0, StatusCode::OK, "{path}");
        }
        let (status, content_type, _) = get(auth(), "/v1/events?token=s3%20cret").await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("text/event-stream"), "{content_type}");
    }

    #[tokio::test]
    async fn a_query_token_does_not_admit_changes() {
        let request = Request::builder()
            .method("DELETE")
            .uri("/v1/services/web?token=s3cret")
            .body(Body::empty())
            .expect("a request");
        let response = router(FakeApi::new(), Auth::Bearer("s3cret".into()))
            .oneshot(request)
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent_encode(b"aZ09-._~"), "aZ09-._~");
        assert_eq!(percent_encode(b"\"<a b>&'"), "%22%3Ca%20b%3E%26%27");
        assert_eq!(token_param("x=1&token=a%2Bb"), Some(b"a+b".to_vec()));
        assert_eq!(token_param("x=1"), None);
    }
}
