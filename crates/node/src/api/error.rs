//! The API's error answers: `{"error": {"code": "...", "message": "..."}}` with a fitting status.
//!
//! Every refusal the API gives goes through one internal type, so axum's own rejections (a body that is
//! not JSON, one over the size limit, a bad query string) look the same to a client as the
//! node's own [`ApiError`]s. [`ErrorBody`] is the wire shape, public so the CLI can parse it.

use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::model::ApiError;

/// The body of every error answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The inside of [`ErrorBody`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// A stable, machine-readable code: `bad_request`, `unauthorized`, `not_found`,
    /// `forbidden`, `method_not_allowed`, `conflict`, `too_large`, `not_ready`, `timeout` or
    /// `busy`.
    pub code: String,
    /// One sentence for a human.
    pub message: String,
}

impl ApiError {
    /// The HTTP status this error is answered with, and the machine-readable code in its body.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::NotReady(_) => (StatusCode::SERVICE_UNAVAILABLE, "not_ready"),
            ApiError::Timeout(_) => (StatusCode::GATEWAY_TIMEOUT, "timeout"),
            ApiError::Busy(_) => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        Failure::from(self).into_response()
    }
}

/// An error answer on its way out: status, code and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl Failure {
    /// 400 `bad_request`.
    pub(crate) fn bad_request(message: impl Into<String>) -> Failure {
        ApiError::BadRequest(message.into()).into()
    }

    /// 413 `too_large`.
    pub(crate) fn too_large(message: impl Into<String>) -> Failure {
        ApiError::TooLarge(message.into()).into()
    }

    /// 401 `unauthorized`.
    pub(crate) fn unauthorized() -> Failure {
        Failure {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthorized",
            message: "this API requires `Authorization: Bearer <token>` with the token in the \
                      node's api.token file"
                .to_owned(),
        }
    }

    /// 404 `not_found` for a path no route serves.
    pub(crate) fn no_route(path: &str) -> Failure {
        Failure {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: format!("no route {path}; the API lives under /v1"),
        }
    }

    /// 405 `method_not_allowed`.
    pub(crate) fn method_not_allowed(method: &str, path: &str) -> Failure {
        Failure {
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "method_not_allowed",
            message: format!("{path} does not accept {method}"),
        }
    }

    fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail { code: self.code.to_owned(), message: self.message.clone() },
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"herald\""),
            );
        }
        response
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Failure {
        let (status, code) = error.status_and_code();
        Failure { status, code, message: error.to_string() }
    }
}

impl From<BytesRejection> for Failure {
    fn from(rejection: BytesRejection) -> Failure {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Failure::too_large(format!(
                "the body is larger than the limit of {} KiB",
                super::model::BODY_LIMIT / 1024
            ))
        } else {
            Failure::bad_request(format!("could not read the body: {}", rejection.body_text()))
        }
    }
}

impl From<QueryRejection> for Failure {
    fn from(rejection: QueryRejection) -> Failure {
        Failure::bad_request(rejection.body_text())
    }
}

impl From<PathRejection> for Failure {
    fn from(rejection: PathRejection) -> Failure {
        Failure::bad_request(rejection.body_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_api_error_has_its_status_and_code() {
        let cases = [
            (ApiError::BadRequest("b".into()), 400, "bad_request"),
            (ApiError::NotFound("n".into()), 404, "not_found"),
            (ApiError::Conflict("c".into()), 409, "conflict"),
            (ApiError::TooLarge("t".into()), 413, "too_large"),
            (ApiError::NotReady("r".into()), 503, "not_ready"),
        ];
        for (error, status, code) in cases {
            let failure = Failure::from(error.clone());
            assert_eq!(failure.status.as_u16(), status, "{error:?}");
            assert_eq!(failure.code, code);
            assert_eq!(failure.message, error.to_string());
        }
    }

    #[test]
    fn unauthorized_answer_names_the_scheme() {
        let response = Failure::unauthorized().into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer realm=\"herald\"");
    }
}
