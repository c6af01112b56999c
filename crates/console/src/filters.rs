//! The device list's query string (`?site=1&type=plc&q=siemens&sort=vendor&order=desc&limit=50&offset=0`),
//! read the same way by the API, the inventory page and the CSV export, and turned into the
//! store's [`DeviceQuery`] within the caller's scope.

use ironward_model::Timestamp;
use ironward_store::{DeviceQuery, DeviceSort, Scope, SiteId, ZoneId};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// Default page size of lists.
pub const DEFAULT_LIMIT: i64 = 100;

/// Query parameters of device lists. Empty strings count as absent (forms send them).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct DeviceFilter {
    /// Site id.
    #[serde(default)]
    pub site: Option<String>,
    /// Zone id.
    #[serde(default)]
    pub zone: Option<String>,
    /// Device type (exact).
    #[serde(default, rename = "type")]
    pub device_type: Option<String>,
    /// Vendor (exact).
    #[serde(default)]
    pub vendor: Option<String>,
    /// Protocol spoken (client or server).
    #[serde(default)]
    pub protocol: Option<String>,
    /// RFC 3339 time: only devices seen since.
    #[serde(default)]
    pub seen_since: Option<String>,
    /// Free-text search.
    #[serde(default)]
    pub q: Option<String>,
    /// `name`, `ip`, `vendor`, `type`, `model`, `firmware`, `last_seen`, `first_seen`, `site`.
    #[serde(default)]
    pub sort: Option<String>,
    /// `asc` or `desc`.
    #[serde(default)]
    pub order: Option<String>,
    /// Page size (1 to 1000).
    #[serde(default)]
    pub limit: Option<String>,
    /// Rows to skip.
    #[serde(default)]
    pub offset: Option<String>,
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn number(name: &str, value: &Option<String>) -> Result<Option<i64>, ApiError> {
    present(value)
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("{name} must be an integer, not {v:?}")))
        })
        .transpose()
}

/// The sort names accepted, with the store's order for each.
pub const SORTS: &[(&str, DeviceSort)] = &[
    ("name", DeviceSort::Name),
    ("ip", DeviceSort::Ip),
    ("vendor", DeviceSort::Vendor),
    ("type", DeviceSort::Type),
    ("model", DeviceSort::Model),
    ("firmware", DeviceSort::Firmware),
    ("last_seen", DeviceSort::LastSeen),
    ("first_seen", DeviceSort::FirstSeen),
    ("site", DeviceSort::Site),
];

impl DeviceFilter {
    /// The store query for a caller seeing `scope`; a malformed parameter is a 400 naming it.
    pub fn to_query(&self, scope: Scope) -> Result<DeviceQuery, ApiError> {
        let mut query = DeviceQuery::new(scope);
        query.site = number("site", &self.site)?.map(SiteId);
        query.zone = number("zone", &self.zone)?.map(ZoneId);
        query.device_type = present(&self.device_type).map(str::to_owned);
        query.vendor = present(&self.vendor).map(str::to_owned);
        query.protocol = present(&self.protocol).map(str::to_owned);
        query.text = present(&self.q).map(str::to_owned);
        if let Some(since) = present(&self.seen_since) {
            query.seen_since = Some(Timestamp::parse_rfc3339(since).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "seen_since must be an RFC 3339 time, not {since:?}"
                ))
            })?);
        }
        if let Some(sort) = present(&self.sort) {
            query.sort = SORTS
                .iter()
                .find(|(name, _)| *name == sort)
                .map(|(_, s)| *s)
                .ok_or_else(|| ApiError::bad_request(format!("unknown sort {sort:?}")))?;
            // Times read best newest first; names and versions A to Z.
            query.descending = matches!(query.sort, DeviceSort::LastSeen | DeviceSort::FirstSeen);
        }
        match present(&self.order) {
            None => {}
            Some("asc") => query.descending = false,
            Some("desc") => query.descending = true,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "order must be asc or desc, not {other:?}"
                )))
            }
        }
        query.limit = number("limit", &self.limit)?
            .unwrap_or(DEFAULT_LIMIT)
            .clamp(1, ironward_store::MAX_PAGE);
        query.offset = number("offset", &self.offset)?.unwrap_or(0).max(0);
        Ok(query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_forms_and_refuses_garbage_by_name() {
        let filter = DeviceFilter {
            site: Some("3".into()),
            zone: Some(String::new()),
            q: Some(" plc ".into()),
            sort: Some("vendor".into()),
            limit: Some("5000".into()),
            ..DeviceFilter::default()
        };
        let query = filter.to_query(Scope::All).unwrap();
        assert_eq!(query.site, Some(SiteId(3)));
        assert_eq!(query.zone, None);
        assert_eq!(query.text.as_deref(), Some("plc"));
        assert_eq!(query.sort, DeviceSort::Vendor);
        assert!(!query.descending);
        assert_eq!(query.limit, ironward_store::MAX_PAGE);
        let bad = DeviceFilter {
            site: Some("x".into()),
            ..DeviceFilter::default()
        };
        assert!(bad
            .to_query(Scope::All)
            .unwrap_err()
            .message
            .contains("site"));
        let bad = DeviceFilter {
            order: Some("up".into()),
            ..DeviceFilter::default()
        };
        assert!(bad
            .to_query(Scope::All)
            .unwrap_err()
            .message
            .contains("order"));
    }
}
