//! `/initiatives` and `/initiatives/{id}`: the security initiatives (OT Security, Enterprise IoT
//! Security) of the caller's sites — score or "More data is required", target, 14-day drift and
//! trend chart, the user's favourites first; an initiative's page explains its score (the
//! formula in words and with its own numbers), lists its metrics with their weights, progress,
//! score impact and drift, its recommendations, and every stored change of its score with the
//! reasons and the assets behind it. Administrators change the target and the weights; every
//! user marks favourites. Filters: site and device group.

use std::collections::{BTreeSet, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use ironward_posture::{
    AssetChangeKind, Catalog, Initiative, Metric, Posture, Recommendation, Weight,
};
use ironward_store::DeviceRef;
use maud::{html, Markup};
use serde::Deserialize;

use crate::access::{Permission, UserPrincipal};
use crate::posture_service::{self, InitiativeHistory, StoredChange};
use crate::state::{now, AppState};
use crate::ui::charts::trend_chart;
use crate::ui::layout::{csrf_field, html_response, message_page, page};
use crate::ui::posture_filter::{filter_toolbar, PostureQuery, Scoped};
use crate::ui::posture_view::{
    drift_badge, points_text, progress_bar, score_text, severity_badge, state_badge, weight_text,
    weight_value, NO_SCORE, WEIGHTS,
};
use crate::ui::widgets::{failure, link, see_other, when, ClientAddr};

/// The period of the trend and the drift, in days.
pub(crate) const DAYS: u32 = posture_service::TREND_DAYS;

/// The recommendations of `initiative`: the entries of its domain that its metrics count and
/// that list devices (or whose risk a user accepted), highest score impact first.
pub(crate) fn recommendations_of<'a>(
    posture: &'a Posture,
    initiative: &Initiative,
) -> Vec<&'a Recommendation> {
    let ids: BTreeSet<&str> = initiative
        .metrics
        .iter()
        .flat_map(|m| m.recommendations.iter().map(String::as_str))
        .collect();
    let mut out: Vec<&Recommendation> = posture
        .recommendations
        .iter()
        .filter(|r| r.domain == initiative.domain && ids.contains(r.id.as_str()))
        .filter(|r| !r.devices.is_empty() || r.state.is_user_set())
        .collect();
    out.sort_by(|a, b| {
        b.score_impact
            .total_cmp(&a.score_impact)
            .then_with(|| a.id.cmp(&b.id))
    });
    out
}

/// The score's formula with this initiative's own numbers:
/// `(3 × 66.7 + 1 × 100.0) ÷ (3 + 1) = 75.0`, over the metrics that count.
pub(crate) fn formula_with_numbers(metrics: &[Metric]) -> Option<String> {
    let counted: Vec<(f64, f64)> = metrics
        .iter()
        .filter_map(|m| {
            let w = factor(m.weight)?;
            Some((w, m.progress.filter(|p| p.is_finite())?))
        })
        .collect();
    if counted.is_empty() {
        return None;
    }
    let weights: f64 = counted.iter().map(|(w, _)| w).sum();
    let weighted: f64 = counted.iter().map(|(w, p)| w * p).sum();
    let terms: Vec<String> = counted
        .iter()
        .map(|(w, p)| format!("{w} × {p:.1}"))
        .collect();
    let sum: Vec<String> = counted.iter().map(|(w, _)| w.to_string()).collect();
    Some(format!(
        "({}) ÷ ({}) = {:.1}",
        terms.join(" + "),
        sum.join(" + "),
        weighted / weights
    ))
}

/// A weight's factor in the score; none for a risk-accepted metric (excluded).
fn factor(w: Weight) -> Option<f64> {
    (w != Weight::RiskAccepted).then(|| w.factor())
}

/// The favourite toggle of one initiative (a star button; a form, so it works without script).
fn favourite_form(user: &UserPrincipal, id: &str, favourite: bool, back: &str) -> Markup {
    html! {
        form.inline.favourite method="post" action={"/initiatives/" (id) "/favourite"} {
            (csrf_field(user))
            input type="hidden" name="favourite" value=(if favourite { "false" } else { "true" });
            input type="hidden" name="back" value=(back);
            @if favourite {
                button.link.star.on type="submit" title="Remove from favourites" aria-pressed="true" { "★ Favourite" }
            } @else {
                button.link.star type="submit" title="Add to favourites" aria-pressed="false" { "☆ Add to favourites" }
            }
        }
    }
}

/// The trend chart, or why there is none: history is kept per site and for all sites, so a
/// caller who sees several sites but not all has none of their own until they pick a site.
fn trend_or_why(history: &InitiativeHistory, initiative: &Initiative) -> Markup {
    html! {
        @if history.available {
            (trend_chart(&history.trend, Some(initiative.target), &format!("{} score, {DAYS} days", initiative.name)))
        } @else {
            p.notice.no-history {
                "Scores are kept for each site and for all sites together; choose a site to see "
                "its trend, drift and history."
            }
        }
    }
}

/// One initiative's card on the overview.
fn card(
    user: &UserPrincipal,
    initiative: &Initiative,
    history: &InitiativeHistory,
    favourite: bool,
    has_data: bool,
    query: &PostureQuery,
) -> Markup {
    let score = if has_data { initiative.score } else { None };
    let back = link("/initiatives", &query.pairs());
    let href = link(&format!("/initiatives/{}", initiative.id), &query.pairs());
    html! {
        article.panel.initiative id={"initiative-" (initiative.id)} {
            div.heading {
                h2 { a href=(href) { (initiative.name) } }
                (favourite_form(user, &initiative.id, favourite, &back))
            }
            p.muted { (initiative.description) }
            div.scoreline {
                span.score.value { (score_text(score)) }
                @if score.is_some() {
                    span.label { "Target " (format!("{:.1}", initiative.target)) }
                    (drift_badge(history.drift, DAYS))
                }
            }
            (trend_or_why(history, initiative))
            p { a href=(href) { "Metrics, recommendations and history →" } }
        }
    }
}

/// `GET /initiatives`.
pub(crate) async fn initiatives(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Query(query): Query<PostureQuery>,
) -> Response {
    let now = now();
    let scoped = match Scoped::load(&state, &user, &query, now).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let favourites = match state.store().favourite_initiatives(user.id).await {
        Ok(f) => f,
        Err(e) => return failure(e),
    };
    let mut shown: Vec<(&Initiative, bool)> = scoped
        .current
        .posture
        .initiatives
        .iter()
        .map(|i| (i, favourites.contains(&i.id)))
        .collect();
    // Favourites first; the catalog's order otherwise (a stable sort keeps it).
    shown.sort_by_key(|(_, favourite)| !favourite);
    let mut cards = Vec::with_capacity(shown.len());
    for (initiative, favourite) in shown {
        let history = match posture_service::history_summary(
            state.store(),
            &user.scope,
            &initiative.id,
            scoped.filter.site,
            now,
        )
        .await
        {
            Ok(h) => h,
            Err(e) => return failure(e),
        };
        cards.push(card(
            &user,
            initiative,
            &history,
            favourite,
            scoped.current.has_data,
            &query,
        ));
    }
    let content = html! {
        div.heading {
            h1 { "Security initiatives" }
            a.button.secondary href=(link("/recommendations", &query.pairs())) { "All recommendations" }
        }
        (filter_toolbar("/initiatives", &scoped, &query, html! {}))
        @if !scoped.current.has_data {
            p.notice { (NO_SCORE) ": no sensor of the sites shown has reported yet." }
        }
        div.grid.initiatives { @for c in &cards { (c) } }
        p.muted {
            "Each score is the weighted mean of its metrics' progress (High 3, Medium 2, Low 1; "
            "risk-accepted and not-applicable metrics excluded). Open an initiative to see how."
        }
    };
    html_response(page(&user, "Security initiatives", "/initiatives", content)).into_response()
}

/// `GET /initiatives/{id}`.
pub(crate) async fn initiative(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Path(id): Path<String>,
    Query(query): Query<PostureQuery>,
) -> Response {
    let now = now();
    let scoped = match Scoped::load(&state, &user, &query, now).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let Some(initiative) = scoped
        .current
        .posture
        .initiatives
        .iter()
        .find(|i| i.id == id)
    else {
        return message_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such security initiative.",
        );
    };
    let history = match posture_service::history(
        state.store(),
        &user.scope,
        &initiative.id,
        scoped.filter.site,
        now,
    )
    .await
    {
        Ok(h) => h,
        Err(e) => return failure(e),
    };
    let favourite = match state.store().favourite_initiatives(user.id).await {
        Ok(f) => f.contains(&initiative.id),
        Err(e) => return failure(e),
    };
    let has_data = scoped.current.has_data;
    let score = if has_data { initiative.score } else { None };
    let admin = user.role.allows(Permission::ManageSettings);
    let pairs = query.pairs();
    let back = link(&format!("/initiatives/{}", initiative.id), &pairs);
    let recommendations = recommendations_of(&scoped.current.posture, initiative);
    let site_pair: Vec<(&str, String)> = pairs
        .iter()
        .filter(|(k, _)| *k == "site")
        .cloned()
        .collect();
    let csv = |what: &str| {
        link(
            &format!("/api/v1/initiatives/{}/{what}.csv", initiative.id),
            &pairs,
        )
    };
    let report = |format: &str| {
        let mut all = site_pair.clone();
        all.push(("format", format.to_owned()));
        link("/reports/risk", &all)
    };
    let content = html! {
        div.heading {
            h1 { (initiative.name) }
            (favourite_form(&user, &initiative.id, favourite, &back))
        }
        p { (initiative.description) }
        (filter_toolbar(&format!("/initiatives/{}", initiative.id), &scoped, &query, html! {}))
        @if !has_data {
            p.notice { (NO_SCORE) ": no sensor of the sites shown has reported yet." }
        }
        div.grid {
            section.panel.scorecard {
                h2 { "Score" }
                div.scoreline {
                    span.score.value { (score_text(score)) }
                    (drift_badge(if has_data { history.drift } else { None }, DAYS))
                }
                p { "Target: " strong { (format!("{:.1}", initiative.target)) } }
                @if admin {
                    form.inline method="post" action={"/initiatives/" (initiative.id) "/target"} {
                        (csrf_field(&user))
                        input type="hidden" name="back" value=(back);
                        label.inline { "New target "
                            input.short type="number" name="target" min="0" max="100" step="0.1" required value=(format!("{:.1}", initiative.target));
                        }
                        button.secondary type="submit" { "Set target" }
                    }
                }
                p {
                    "Risk report: "
                    a href=(report("pdf")) { "PDF" } " · " a href=(report("html")) { "HTML" }
                }
            }
            section.panel {
                h2 { "Trend, " (DAYS) " days" }
                (trend_or_why(&history, initiative))
            }
        }
        section.panel.formula {
            h2 { "How the score is computed" }
            p {
                "Each metric counts the devices it applies to and how many of them are affected; its "
                "progress is the share not affected, from 0 to 100. The score is the mean of the "
                "metrics' progress weighted by their weight — High counts 3, Medium 2, Low 1. "
                "Metrics whose weight is Risk accepted, and metrics without any device they apply "
                "to (not applicable), are left out. A metric's score impact is how many points the "
                "score gains when all its devices are fixed; a recommendation's, when all the "
                "devices it lists are fixed."
            }
            p.formula { code { "score = Σ (weightᵢ × progressᵢ) ÷ Σ weightᵢ" } }
            p.formula {
                code { "progressᵢ = 100 × (devicesᵢ − affectedᵢ) ÷ devicesᵢ" }
            }
            @if let Some(numbers) = formula_with_numbers(&initiative.metrics) {
                p { "Now: " code { "score = " (numbers) } }
            } @else {
                p.muted { "No metric applies yet: " (NO_SCORE) "." }
            }
        }
        section.panel {
            div.heading {
                h2 { "Metrics" }
                a.button.secondary href=(csv("metrics")) download { "Export CSV" }
            }
            table.compact.metrics {
                thead { tr {
                    th { "Metric" } th { "Weight" } th.num { "Affected / devices" } th { "Progress" }
                    th.num { "Score impact" } th { "Drift, " (DAYS) " days" }
                } }
                tbody {
                    @for m in &initiative.metrics {
                        tr id={"metric-" (m.id)} {
                            td { strong { (m.name) } br; span.muted { (m.description) } }
                            td {
                                @if admin {
                                    form.inline method="post" action={"/metrics/" (m.id) "/weight"} {
                                        (csrf_field(&user))
                                        input type="hidden" name="back" value=(back);
                                        select name="weight" aria-label={"Weight of " (m.name)} {
                                            @for w in WEIGHTS {
                                                option value=(weight_value(w)) selected[w == m.weight] { (weight_text(w)) }
                                            }
                                        }
                                        button.secondary type="submit" { "Set" }
                                    }
                                } @else {
                                    (weight_text(m.weight))
                                }
                            }
                            td.num { (m.affected) " / " (m.total) }
                            td { (progress_bar(m.progress)) }
                            td.num { (points_text(m.score_impact)) }
                            td { (drift_badge(history.metric_drift.get(&m.id).copied().flatten(), DAYS)) }
                        }
                    }
                    @if initiative.metrics.is_empty() {
                        tr { td colspan="6" .muted { "This initiative has no metric." } }
                    }
                }
            }
        }
        section.panel {
            div.heading {
                h2 { "Recommendations" }
                a.button.secondary href=(link("/api/v1/recommendations.csv", &pairs)) download { "Export CSV" }
            }
            table.compact.initiative-recommendations {
                thead { tr {
                    th { "Recommendation" } th { "Severity" } th.num { "Devices" } th.num { "Score impact" } th { "State" }
                } }
                tbody {
                    @for r in &recommendations {
                        tr {
                            td { a href=(link(&format!("/recommendations/{}", r.id), &pairs)) { (r.title) } }
                            td { (severity_badge(r.severity)) }
                            td.num { (r.devices.len()) }
                            td.num { (points_text(r.score_impact)) }
                            td { (state_badge(r.state)) }
                        }
                    }
                    @if recommendations.is_empty() {
                        tr { td colspan="5" .muted { "No recommendation applies to the devices shown." } }
                    }
                }
            }
        }
        section.panel {
            div.heading {
                h2 { "History" }
                a.button.secondary href=(csv("history")) download { "Export CSV" }
            }
            (history_table(&history.changes, initiative, &scoped.current.rows))
            @let listed = i64::try_from(history.changes.len()).unwrap_or(i64::MAX);
            @if history.total > listed {
                p.muted { "The newest " (listed) " of " (history.total) " changes; the CSV export has them all." }
            }
        }
    };
    html_response(page(&user, &initiative.name, "/initiatives", content)).into_response()
}

/// The dashboard's tile: each initiative's score in force (from the stored history, so the
/// dashboard stays a handful of cheap queries whatever the inventory) with its drift, linking
/// to the initiatives. A caller who sees several sites but not all has no history of their
/// own: the tile then only links.
pub(crate) async fn dashboard_tile(state: &AppState, user: &UserPrincipal) -> Markup {
    let now = now();
    let series = posture_service::history_series(&user.scope, None);
    let day = 86_400 * 1_000_000_000_i64;
    let from = ironward_model::Timestamp(now.0.saturating_sub(i64::from(DAYS) * day));
    let mut shown = Vec::new();
    for def in &Catalog::builtin().initiatives {
        let points = match series {
            Some(site) => match state
                .store()
                .score_points(&user.scope, &def.id, site, from, now)
                .await
            {
                Ok(points) => points.into_iter().map(|p| (p.at, p.score)).collect(),
                Err(error) => {
                    tracing::warn!(%error, "initiative scores for the dashboard");
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        let score = points.last().and_then(|(_, s): &(_, Option<f64>)| *s);
        let drift = ironward_posture::drift(&points, now, DAYS);
        shown.push((def, score, drift));
    }
    html! {
        section.panel.tile.posture {
            div.heading {
                h2 { a href="/initiatives" { "Security initiatives" } }
                a href="/recommendations" { "What to fix first" }
            }
            div.grid.stats {
                @for (def, score, drift) in &shown {
                    div.stat {
                        a href={"/initiatives/" (def.id)} { span.value { (score_text(*score)) } }
                        span.label { (def.name) " " (drift_badge(*drift, DAYS)) }
                    }
                }
            }
        }
    }
}

/// Every stored change of the score: when, from → to, the reasons in words, and the assets
/// behind it (a `<details>` list, open without script; devices still in the view link to
/// their pages, metrics read by name).
fn history_table(
    changes: &[StoredChange],
    initiative: &Initiative,
    rows: &HashMap<String, DeviceRef>,
) -> Markup {
    let metric_name = |id: &str| {
        initiative
            .metrics
            .iter()
            .find(|m| m.id == id)
            .map_or_else(|| id.to_owned(), |m| m.name.clone())
    };
    html! {
        table.compact.history {
            thead { tr { th { "Time" } th { "Score" } th { "Why" } th { "Assets" } } }
            tbody {
                @for stored in changes {
                    @let c = &stored.change;
                    tr {
                        td { (when(Some(c.time))) }
                        td {
                            (score_text(c.from)) " → " (score_text(c.to))
                            @if stored.score_drop { " " span.badge.high { "drop" } }
                        }
                        td {
                            ul.reasons { @for r in &c.reasons { li { (r.describe()) } } }
                        }
                        td {
                            @if c.top_assets.is_empty() {
                                span.muted { "—" }
                            } @else {
                                details {
                                    summary { (c.top_assets.len()) " asset" @if c.top_assets.len() != 1 { "s" } }
                                    ul.assets {
                                        @for a in &c.top_assets {
                                            li {
                                                @if let Some(row) = rows.get(&a.device) {
                                                    a href={"/devices/" (row)} { (a.device) }
                                                } @else {
                                                    (a.device)
                                                }
                                                " — " (metric_name(&a.metric)) ": " (change_text(a.change))
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if changes.is_empty() {
                    tr { td colspan="4" .muted { "No change of the score stored yet." } }
                }
            }
        }
    }
}

/// What happened to one device behind a score change, in words.
fn change_text(change: AssetChangeKind) -> &'static str {
    match change {
        AssetChangeKind::Fixed => "fixed",
        AssetChangeKind::NewlyAffected => "newly affected",
        AssetChangeKind::Added => "added, affected",
        AssetChangeKind::Removed => "removed from the inventory",
        AssetChangeKind::Accepted => "no longer counted (risk accepted or exception)",
        AssetChangeKind::AcceptanceEnded => "counted again (acceptance or exception ended)",
    }
}

/// Where a form goes back to: one of the posture pages, else the overview.
pub(crate) fn back_to(back: Option<&str>) -> String {
    match back {
        Some(b)
            if (b.starts_with("/initiatives") || b.starts_with("/recommendations"))
                && !b.contains("//")
                && !b.contains('\\') =>
        {
            b.to_owned()
        }
        _ => "/initiatives".to_owned(),
    }
}

/// The favourite toggle.
#[derive(Debug, Deserialize)]
pub(crate) struct FavouriteForm {
    favourite: String,
    #[serde(default)]
    back: Option<String>,
}

/// `POST /initiatives/{id}/favourite`.
pub(crate) async fn set_favourite(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Path(id): Path<String>,
    Form(form): Form<FavouriteForm>,
) -> Response {
    if Catalog::builtin().initiatives.iter().all(|i| i.id != id) {
        return message_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such security initiative.",
        );
    }
    let store = state.store();
    let done = if form.favourite == "true" {
        store.add_favourite_initiative(user.id, &id, now()).await
    } else {
        store.remove_favourite_initiative(user.id, &id).await
    };
    match done {
        Ok(()) => see_other(&back_to(form.back.as_deref())),
        Err(e) => failure(e),
    }
}

/// The target form.
#[derive(Debug, Deserialize)]
pub(crate) struct TargetForm {
    target: String,
    #[serde(default)]
    back: Option<String>,
}

/// `POST /initiatives/{id}/target`.
pub(crate) async fn set_target(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Path(id): Path<String>,
    Form(form): Form<TargetForm>,
) -> Response {
    let Ok(target) = form.target.trim().parse::<f64>() else {
        return message_page(
            StatusCode::BAD_REQUEST,
            "Invalid target",
            "The target is a number from 0 to 100.",
        );
    };
    match crate::api::posture::set_target(&state, &user, addr.0, &id, target).await {
        Ok(()) => see_other(&back_to(form.back.as_deref())),
        Err(e) => message_page(e.status, "Target not changed", &e.message),
    }
}

/// The weight form.
#[derive(Debug, Deserialize)]
pub(crate) struct WeightForm {
    weight: String,
    #[serde(default)]
    back: Option<String>,
}

/// `POST /metrics/{id}/weight`.
pub(crate) async fn set_weight(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Path(id): Path<String>,
    Form(form): Form<WeightForm>,
) -> Response {
    match crate::api::posture::set_weight(&state, &user, addr.0, &id, &form.weight).await {
        Ok(()) => see_other(&back_to(form.back.as_deref())),
        Err(e) => message_page(e.status, "Weight not changed", &e.message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(id: &str, weight: Weight, affected: u64, total: u64) -> Metric {
        let progress = (total > 0).then(|| {
            // Counts are small in tests; the conversion is exact.
            #[allow(clippy::cast_precision_loss)]
            let (a, t) = (affected as f64, total as f64);
            100.0 * (t - a) / t
        });
        Metric {
            id: id.to_owned(),
            name: id.to_owned(),
            description: String::new(),
            initiative: "ot-security".to_owned(),
            weight,
            affected,
            total,
            progress,
            score_impact: 0.0,
            recommendations: vec![],
            affected_devices: vec![],
            accepted_devices: vec![],
        }
    }

    #[test]
    fn the_formula_shows_the_metrics_that_count_with_their_numbers() {
        // 3 PLCs, 1 with Telnet: progress 100·2/3 = 66.7 (High, 3); 4 devices none unauthorized:
        // 100 (Low, 1); a risk-accepted metric and one without devices are left out.
        // score = (3 × 66.7 + 1 × 100) ÷ (3 + 1) = 300 ÷ 4 = 75.0.
        let metrics = [
            metric("telnet", Weight::High, 1, 3),
            metric("unauthorized", Weight::Low, 0, 4),
            metric("accepted", Weight::RiskAccepted, 5, 5),
            metric("empty", Weight::Medium, 0, 0),
        ];
        assert_eq!(
            formula_with_numbers(&metrics).as_deref(),
            Some("(3 × 66.7 + 1 × 100.0) ÷ (3 + 1) = 75.0")
        );
        assert_eq!(
            formula_with_numbers(&metrics[2..]),
            None,
            "nothing counts: no score"
        );
    }

    #[test]
    fn forms_only_go_back_to_posture_pages() {
        assert_eq!(
            back_to(Some("/initiatives/ot-security?site=1")),
            "/initiatives/ot-security?site=1"
        );
        assert_eq!(back_to(Some("/recommendations/x")), "/recommendations/x");
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/devices",
            "/initiatives\\x",
        ] {
            assert_eq!(back_to(Some(bad)), "/initiatives", "{bad}");
        }
        assert_eq!(back_to(None), "/initiatives");
    }
}
