//! Row ids and the site scope every read is filtered by.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// A site (a plant, a building, a campus).
    SiteId
);
id_type!(
    /// A zone inside a site (a cell, a network segment).
    ZoneId
);
id_type!(
    /// An enrolled sensor.
    SensorId
);
id_type!(
    /// A device row: one device in one zone (not the model's `DeviceId`, which is the device's
    /// key and repeats across zones).
    DeviceRef
);
id_type!(
    /// A user.
    UserId
);
id_type!(
    /// An API token.
    TokenId
);
id_type!(
    /// A device group.
    GroupId
);
id_type!(
    /// An alert.
    AlertId
);

/// Which sites a caller may see. Every list and get takes one and never returns rows outside
/// it; a row outside the scope is reported as [`crate::StoreError::NotFound`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every site (administrators, users without a site restriction, the system itself).
    All,
    /// Only these sites (an empty list sees nothing).
    Sites(Vec<SiteId>),
}

impl Scope {
    /// Whether rows of `site` are visible.
    pub fn allows(&self, site: SiteId) -> bool {
        match self {
            Self::All => true,
            Self::Sites(sites) => sites.contains(&site),
        }
    }

    /// Appends ` AND <column> IN (..)` (nothing for [`Scope::All`]).
    pub(crate) fn filter(&self, sql: &mut crate::db::Sql, column: &str) {
        if let Self::Sites(sites) = self {
            let ids: Vec<i64> = sites.iter().map(|s| s.0).collect();
            sql.push(" AND ");
            sql.in_list(column, &ids);
        }
    }
}

/// One page of a list, with the number of rows matching the query over all pages.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Rows matching the query in total.
    pub total: i64,
}

/// Largest page any list returns.
pub const MAX_PAGE: i64 = 1_000;

/// A requested page size, bounded to 1..=[`MAX_PAGE`].
pub(crate) fn page_size(limit: i64) -> i64 {
    limit.clamp(1, MAX_PAGE)
}
