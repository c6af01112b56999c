//! Errors as HTTP answers: JSON `{"error": "..."}` for the API, a small HTML page for the UI.
//! Database failures are logged with their cause and answered with a generic message, so that
//! nothing about the schema or the data leaks to the caller.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ironward_store::StoreError;

/// An error a handler answers with.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What the caller is told.
    pub message: String,
}

impl ApiError {
    /// An error with this status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 400 with a reason.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401.
    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "authentication required")
    }

    /// 403.
    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "not permitted for your role")
    }

    /// 404.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not found")
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::not_found(),
            StoreError::Conflict(reason) => Self::new(StatusCode::CONFLICT, reason),
            StoreError::Invalid(reason) => Self::bad_request(reason),
            StoreError::Unauthorized => Self::new(StatusCode::UNAUTHORIZED, "not authorised"),
            other => {
                tracing::error!(error = %other, "store failure");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.message });
        (self.status, Json(body)).into_response()
    }
}

/// Result of an API handler.
pub type ApiResult<T> = Result<T, ApiError>;
