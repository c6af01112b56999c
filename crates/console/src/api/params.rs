//! Reading query parameters. Every parameter arrives as text (forms send empty strings for
//! unset fields) and is parsed here, so that a malformed one is a 400 that names it.

use ironward_model::Timestamp;
use serde::Deserialize;

use crate::error::ApiError;
use crate::filters::DEFAULT_LIMIT;

/// Largest page any list returns.
pub const MAX_LIMIT: i64 = ironward_store::MAX_PAGE;

/// The value of a parameter, with empty text counting as absent.
pub fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// An integer parameter.
pub fn integer(name: &str, value: &Option<String>) -> Result<Option<i64>, ApiError> {
    present(value)
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("{name} must be an integer, not {v:?}")))
        })
        .transpose()
}

/// An RFC 3339 time parameter.
pub fn time(name: &str, value: &Option<String>) -> Result<Option<Timestamp>, ApiError> {
    present(value)
        .map(|v| {
            Timestamp::parse_rfc3339(v).ok_or_else(|| {
                ApiError::bad_request(format!("{name} must be an RFC 3339 time, not {v:?}"))
            })
        })
        .transpose()
}

/// `limit` and `offset` of a list.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Paging {
    /// Page size, 1 to [`MAX_LIMIT`] (default 100).
    #[serde(default)]
    pub limit: Option<String>,
    /// Rows to skip.
    #[serde(default)]
    pub offset: Option<String>,
}

impl Paging {
    /// `(limit, offset)`, bounded; a negative limit or offset is refused rather than guessed.
    pub fn bounds(&self) -> Result<(i64, i64), ApiError> {
        let limit = integer("limit", &self.limit)?.unwrap_or(DEFAULT_LIMIT);
        if limit < 1 {
            return Err(ApiError::bad_request("limit must be at least 1"));
        }
        let offset = integer("offset", &self.offset)?.unwrap_or(0);
        if offset < 0 {
            return Err(ApiError::bad_request("offset must not be negative"));
        }
        Ok((limit.min(MAX_LIMIT), offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_bad_parameter() {
        let paging = Paging {
            limit: Some("ten".into()),
            offset: None,
        };
        assert!(paging.bounds().unwrap_err().message.contains("limit"));
        let paging = Paging {
            limit: Some("5000".into()),
            offset: Some(" ".into()),
        };
        assert_eq!(paging.bounds().unwrap(), (MAX_LIMIT, 0));
        let paging = Paging {
            limit: None,
            offset: Some("-1".into()),
        };
        assert!(paging.bounds().unwrap_err().message.contains("offset"));
        assert!(time("since", &Some("yesterday".into()))
            .unwrap_err()
            .message
            .contains("since"));
    }
}
