//! The site and device-group filter of the exposure-management pages: read from the query
//! string (empty values count as absent), checked against the caller's sites, turned into the
//! posture service's filter, and drawn as the pages' toolbar.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use ironward_model::Timestamp;
use ironward_store::{DeviceGroup, GroupId, Site, SiteId};
use maud::{html, Markup};
use serde::Deserialize;

use crate::access::UserPrincipal;
use crate::posture_cache;
use crate::posture_service::{CurrentPosture, PostureFilter};
use crate::state::AppState;
use crate::ui::layout::message_page;
use crate::ui::widgets::{failure, present};

/// The query string of the posture pages. Domain, severity and state filter the
/// recommendations list only.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct PostureQuery {
    /// Site id.
    #[serde(default)]
    pub(crate) site: Option<String>,
    /// Device group id.
    #[serde(default)]
    pub(crate) group: Option<String>,
    /// Recommendation domain (`ot`, `enterprise_iot`).
    #[serde(default)]
    pub(crate) domain: Option<String>,
    /// Recommendation severity.
    #[serde(default)]
    pub(crate) severity: Option<String>,
    /// Recommendation state.
    #[serde(default)]
    pub(crate) state: Option<String>,
}

impl PostureQuery {
    /// The site and group as query pairs (what links between the posture pages keep).
    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("site", present(&self.site).unwrap_or_default().to_owned()),
            ("group", present(&self.group).unwrap_or_default().to_owned()),
        ]
    }

    /// The site and group as the posture service's filter, or the reason they are not ids.
    pub(crate) fn filter(&self) -> Result<PostureFilter, String> {
        let id = |name: &str, value: &Option<String>| -> Result<Option<i64>, String> {
            present(value)
                .map(|v| {
                    v.parse::<i64>()
                        .map_err(|_| format!("{name} must be an id"))
                })
                .transpose()
        };
        Ok(PostureFilter {
            site: id("site", &self.site)?.map(SiteId),
            group: id("group", &self.group)?.map(GroupId),
        })
    }
}

/// The current posture of what the filter selects within the caller's sites, with the sites
/// and groups the toolbar offers.
pub(crate) struct Scoped {
    /// The filter applied.
    pub(crate) filter: PostureFilter,
    /// The posture of the devices selected.
    pub(crate) current: Arc<CurrentPosture>,
    /// The caller's sites.
    pub(crate) sites: Vec<Site>,
    /// The device groups.
    pub(crate) groups: Vec<DeviceGroup>,
}

impl Scoped {
    /// Reads the filter and computes the posture; a page (400, 404 or the store failure)
    /// when that cannot be done. A site outside the caller's scope reads as not found.
    pub(crate) async fn load(
        state: &AppState,
        user: &UserPrincipal,
        query: &PostureQuery,
        now: Timestamp,
    ) -> Result<Scoped, Response> {
        let filter = query
            .filter()
            .map_err(|e| message_page(StatusCode::BAD_REQUEST, "Invalid filter", &e))?;
        let store = state.store();
        let sites = store.list_sites(&user.scope).await.map_err(failure)?;
        if let Some(site) = filter.site {
            if !sites.iter().any(|s| s.id == site) {
                return Err(message_page(
                    StatusCode::NOT_FOUND,
                    "Not found",
                    "There is no such site, or you cannot see it.",
                ));
            }
        }
        let groups = store.list_groups().await.map_err(failure)?;
        let current = posture_cache::current(state, &user.scope, &filter, now)
            .await
            .map_err(failure)?;
        Ok(Scoped {
            filter,
            current,
            sites,
            groups,
        })
    }
}

/// The filter toolbar: site, device group and `extra` fields, Apply and Clear.
pub(crate) fn filter_toolbar(
    path: &str,
    scoped: &Scoped,
    query: &PostureQuery,
    extra: Markup,
) -> Markup {
    let selected = |value: &Option<String>, option: String| present(value) == Some(option.as_str());
    html! {
        form.toolbar method="get" action=(path) {
            label { "Site"
                select name="site" {
                    option value="" { "All sites" }
                    @for s in &scoped.sites {
                        option value=(s.id) selected[selected(&query.site, s.id.to_string())] { (s.name) }
                    }
                }
            }
            label { "Device group"
                select name="group" {
                    option value="" { "All devices" }
                    @for g in &scoped.groups {
                        option value=(g.id) selected[selected(&query.group, g.id.to_string())] { (g.name) }
                    }
                }
            }
            (extra)
            button type="submit" { "Apply" }
            a.button.secondary href=(path) { "Clear" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_read_and_empty_values_are_absent() {
        let q = PostureQuery {
            site: Some("3".into()),
            group: Some(" ".into()),
            ..PostureQuery::default()
        };
        let f = q.filter().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.site, Some(SiteId(3)));
        assert_eq!(f.group, None);
        assert_eq!(
            q.pairs(),
            vec![("site", "3".to_owned()), ("group", String::new())]
        );
        let bad = PostureQuery {
            group: Some("x".into()),
            ..PostureQuery::default()
        };
        assert_eq!(bad.filter().err().as_deref(), Some("group must be an id"));
    }
}
