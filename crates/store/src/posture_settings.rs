//! What users decide about exposure management (issue 9): recommendation states (risk accepted,
//! exception), metric weights, initiative targets and favourite initiatives.
//!
//! The store does not know the posture catalog: recommendation, metric and initiative ids are
//! checked for shape only, kinds and weights are the posture crate's serde names kept as text.
//! Every change a user makes for everyone (states, weights, targets) is written together with
//! its audit record in one transaction: either both are committed or neither.

use ironward_model::Timestamp;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::audit::AuditEntry;
use crate::db::Sql;
use crate::{Result, Scope, SiteId, Store, StoreError, UserId};

/// Longest recommendation, metric or initiative id, in bytes.
pub const MAX_POSTURE_ID_LEN: usize = 128;

/// Longest reason of a recommendation state, in bytes.
pub const MAX_STATE_REASON: usize = 1_000;

/// Most favourite initiatives one user keeps.
pub const MAX_FAVOURITES: i64 = 100;

/// Most recommendation states a list returns (recommendations × sites stays far below).
pub const MAX_STATES: i64 = 10_000;

/// The kinds of state a user sets; `active` removes the state.
const STATE_KINDS: [&str; 3] = ["risk_accepted", "exception", "active"];

/// The weights a metric takes (the posture crate's `Weight`, snake case).
const WEIGHTS: [&str; 4] = ["high", "medium", "low", "risk_accepted"];

/// Who makes a change: the author recorded with it and the audit record's user and address.
#[derive(Debug, Clone, Copy)]
pub struct ChangedBy<'a> {
    /// The user's id.
    pub user_id: UserId,
    /// The user's name.
    pub name: &'a str,
    /// The client's address.
    pub address: &'a str,
}

/// A user's decision about a recommendation, for one site or for all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecommendationStateRow {
    /// The recommendation's id.
    pub recommendation: String,
    /// The site it applies to; `None`: every site.
    pub site_id: Option<SiteId>,
    /// `risk_accepted` or `exception`.
    pub kind: String,
    /// Why.
    pub reason: String,
    /// Who set it.
    pub author: String,
    /// When.
    pub set_at: Timestamp,
    /// Until when it holds; `None`: until changed.
    pub expires_at: Option<Timestamp>,
}

/// A state to set with [`Store::set_recommendation_state`].
#[derive(Debug, Clone, Copy)]
pub struct RecommendationStateChange<'a> {
    /// The recommendation's id.
    pub recommendation: &'a str,
    /// One site (in the caller's scope) or, with `None`, every site (callers who see every
    /// site only).
    pub site: Option<SiteId>,
    /// `risk_accepted`, `exception` or `active` (clears the state).
    pub kind: &'a str,
    /// Why; required (1 to [`MAX_STATE_REASON`] bytes) for `risk_accepted` and `exception`.
    pub reason: &'a str,
    /// Until when; must be after `now` when given.
    pub expires_at: Option<Timestamp>,
}

/// An administrator's weight for a metric.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetricWeightRow {
    /// The metric's id.
    pub metric: String,
    /// `high`, `medium`, `low` or `risk_accepted`.
    pub weight: String,
    /// Who set it.
    pub set_by: String,
    /// When.
    pub set_at: Timestamp,
}

/// An administrator's target score for an initiative.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InitiativeTargetRow {
    /// The initiative's id.
    pub initiative: String,
    /// 0 to 100.
    pub target: f64,
    /// Who set it.
    pub set_by: String,
    /// When.
    pub set_at: Timestamp,
}

/// Refuses an id that is empty, too long, or not made of letters, digits and `.`, `_`, `-`,
/// `:` (catalog ids are slugs; nothing else belongs in an audit target).
pub(crate) fn check_id(what: &str, id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= MAX_POSTURE_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "{what} id: 1 to {MAX_POSTURE_ID_LEN} letters, digits, '.', '_', '-' or ':'"
        )))
    }
}

/// The key of "one site or all" in the posture tables (0: all sites).
pub(crate) fn site_key(site: Option<SiteId>) -> i64 {
    site.map_or(0, |s| s.0)
}

/// Checks that `scope` may act on `site`: a site of the scope, or every site for callers
/// who see every site. `what` names the data for the refusal.
pub(crate) fn check_site(scope: &Scope, site: Option<SiteId>, what: &str) -> Result<()> {
    match site {
        Some(site) if scope.allows(site) => Ok(()),
        Some(_) => Err(StoreError::NotFound),
        None if *scope == Scope::All => Ok(()),
        None => Err(StoreError::Invalid(format!(
            "{what} for every site needs access to every site"
        ))),
    }
}

fn check_reason(kind: &str, reason: &str) -> Result<String> {
    let reason = reason.trim();
    if kind == "active" {
        return Ok(reason.to_owned());
    }
    if reason.is_empty() || reason.len() > MAX_STATE_REASON {
        return Err(StoreError::Invalid(format!(
            "reason: 1 to {MAX_STATE_REASON} bytes for {kind}"
        )));
    }
    if reason
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t'))
    {
        return Err(StoreError::Invalid(
            "reason: printable text (line breaks and tabs allowed)".to_owned(),
        ));
    }
    Ok(reason.to_owned())
}

/// A foreign key violation on a site or user means it does not exist.
fn missing_is_not_found(e: sqlx::Error) -> StoreError {
    match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::NotFound,
        other => other,
    }
}

fn state_row(r: &AnyRow) -> Result<RecommendationStateRow> {
    Ok(RecommendationStateRow {
        recommendation: r.try_get("recommendation")?,
        site_id: r.try_get::<Option<i64>, _>("site_id")?.map(SiteId),
        kind: r.try_get("kind")?,
        reason: r.try_get("reason")?,
        author: r.try_get("author")?,
        set_at: Timestamp(r.try_get("set_at")?),
        expires_at: r.try_get::<Option<i64>, _>("expires_at")?.map(Timestamp),
    })
}

const STATE_COLUMNS: &str = "recommendation, site_id, kind, reason, author, set_at, expires_at";

async fn audit(
    tx: &mut Transaction<'static, Any>,
    by: ChangedBy<'_>,
    now: Timestamp,
    action: &str,
    target: String,
    detail: String,
) -> Result<()> {
    let entry = AuditEntry {
        at: now,
        user_id: Some(by.user_id),
        user_name: Some(by.name.to_owned()),
        address: by.address.to_owned(),
        action: action.to_owned(),
        target,
        detail,
        outcome: "ok".to_owned(),
    };
    crate::audit::insert(tx, &entry).await
}

fn site_text(site: Option<SiteId>) -> String {
    site.map_or_else(|| "all sites".to_owned(), |s| format!("site:{s}"))
}

impl Store {
    /// Sets (or, with kind `active`, clears) a recommendation's state for one site or for
    /// every site, with an audit record `recommendation.state` in the same transaction.
    /// Returns the state now in force at that key (`None` once active). Clearing a state that
    /// is not set changes nothing and records nothing. A site outside `scope` is NotFound;
    /// every site needs [`Scope::All`].
    pub async fn set_recommendation_state(
        &self,
        scope: &Scope,
        by: ChangedBy<'_>,
        change: &RecommendationStateChange<'_>,
        now: Timestamp,
    ) -> Result<Option<RecommendationStateRow>> {
        check_id("recommendation", change.recommendation)?;
        check_site(scope, change.site, "a recommendation state")?;
        if !STATE_KINDS.contains(&change.kind) {
            return Err(StoreError::Invalid(format!(
                "state: one of {}",
                STATE_KINDS.join(", ")
            )));
        }
        let reason = check_reason(change.kind, change.reason)?;
        if let Some(expires) = change.expires_at {
            if change.kind != "active" && expires <= now {
                return Err(StoreError::Invalid(
                    "expires_at: must be in the future".to_owned(),
                ));
            }
        }
        let key = site_key(change.site);
        let mut tx = self.write().await?;
        let before = sqlx::query(&format!(
            "SELECT {STATE_COLUMNS} FROM posture_recommendation_states \
             WHERE recommendation = $1 AND site_key = $2"
        ))
        .bind(change.recommendation)
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| state_row(&r))
        .transpose()?;
        let from = before.as_ref().map_or("active", |s| s.kind.as_str());
        let target = format!(
            "recommendation:{} {}",
            change.recommendation,
            site_text(change.site)
        );
        let now_in_force = if change.kind == "active" {
            if before.is_none() {
                return Ok(None);
            }
            sqlx::query(
                "DELETE FROM posture_recommendation_states \
                 WHERE recommendation = $1 AND site_key = $2",
            )
            .bind(change.recommendation)
            .bind(key)
            .execute(&mut *tx)
            .await?;
            let detail = format!("{from} -> active");
            audit(&mut tx, by, now, "recommendation.state", target, detail).await?;
            None
        } else {
            let row = sqlx::query(&format!(
                "INSERT INTO posture_recommendation_states (recommendation, site_id, site_key, \
                 kind, reason, author, set_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, \
                 $8) ON CONFLICT (recommendation, site_key) DO UPDATE SET kind = excluded.kind, \
                 reason = excluded.reason, author = excluded.author, set_at = excluded.set_at, \
                 expires_at = excluded.expires_at RETURNING {STATE_COLUMNS}"
            ))
            .bind(change.recommendation)
            .bind(change.site.map(|s| s.0))
            .bind(key)
            .bind(change.kind)
            .bind(reason.as_str())
            .bind(by.name)
            .bind(now.as_nanos())
            .bind(change.expires_at.map(Timestamp::as_nanos))
            .fetch_one(&mut *tx)
            .await
            .map_err(missing_is_not_found)?;
            let until = change
                .expires_at
                .map_or_else(String::new, |t| format!(" until {}", t.as_nanos()));
            let detail = format!("{from} -> {}{until}: {reason}", change.kind);
            audit(&mut tx, by, now, "recommendation.state", target, detail).await?;
            Some(state_row(&row)?)
        };
        tx.commit().await?;
        Ok(now_in_force)
    }

    /// The states in force for a view of one site (its own and those for every site; where a
    /// recommendation has both, the site's own) or of every site (`None`: those for every
    /// site), by recommendation. Expired states are listed too: whether a state still holds
    /// depends on the caller's clock. A site outside `scope` is NotFound.
    pub async fn recommendation_states(
        &self,
        scope: &Scope,
        site: Option<SiteId>,
    ) -> Result<Vec<RecommendationStateRow>> {
        if let Some(site) = site {
            if !scope.allows(site) {
                return Err(StoreError::NotFound);
            }
        }
        let mut sql = Sql::new(&format!(
            "SELECT {STATE_COLUMNS} FROM posture_recommendation_states WHERE site_key IN (0, "
        ));
        sql.bind(site_key(site));
        sql.push(") ORDER BY recommendation, site_key DESC LIMIT ")
            .bind(MAX_STATES);
        let rows = sql.query().fetch_all(&self.pool).await?;
        let mut out: Vec<RecommendationStateRow> = Vec::with_capacity(rows.len());
        for r in &rows {
            let row = state_row(r)?;
            // Ordered site first within a recommendation: the one for every site is shadowed.
            if out
                .last()
                .is_some_and(|prev| prev.recommendation == row.recommendation)
            {
                continue;
            }
            out.push(row);
        }
        Ok(out)
    }

    /// Every state `scope` can see: those for every site and those of its sites, by
    /// recommendation then site (every site first).
    pub async fn list_recommendation_states(
        &self,
        scope: &Scope,
    ) -> Result<Vec<RecommendationStateRow>> {
        let mut sql = Sql::new(&format!(
            "SELECT {STATE_COLUMNS} FROM posture_recommendation_states WHERE (site_key = 0"
        ));
        if let Scope::Sites(sites) = scope {
            let ids: Vec<i64> = sites.iter().map(|s| s.0).collect();
            sql.push(" OR ").in_list("site_key", &ids);
        } else {
            sql.push(" OR 1 = 1");
        }
        sql.push(") ORDER BY recommendation, site_key LIMIT ")
            .bind(MAX_STATES);
        let rows = sql.query().fetch_all(&self.pool).await?;
        rows.iter().map(state_row).collect()
    }

    /// Sets a metric's weight (`high`, `medium`, `low`, `risk_accepted`; `None`: back to the
    /// catalog's default) with an audit record `metric.weight` in the same transaction.
    /// Weights hold for every site: only callers who see every site set them.
    pub async fn set_metric_weight(
        &self,
        scope: &Scope,
        by: ChangedBy<'_>,
        metric: &str,
        weight: Option<&str>,
        now: Timestamp,
    ) -> Result<()> {
        check_id("metric", metric)?;
        check_site(scope, None, "a metric weight")?;
        if let Some(w) = weight {
            if !WEIGHTS.contains(&w) {
                return Err(StoreError::Invalid(format!(
                    "weight: one of {}",
                    WEIGHTS.join(", ")
                )));
            }
        }
        let mut tx = self.write().await?;
        let before: Option<String> =
            sqlx::query("SELECT weight FROM posture_metric_weights WHERE metric = $1")
                .bind(metric)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get("weight"))
                .transpose()?;
        if before.as_deref() == weight {
            return Ok(());
        }
        match weight {
            Some(w) => {
                sqlx::query(
                    "INSERT INTO posture_metric_weights (metric, weight, set_by, set_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (metric) DO UPDATE SET \
                     weight = excluded.weight, set_by = excluded.set_by, set_at = excluded.set_at",
                )
                .bind(metric)
                .bind(w)
                .bind(by.name)
                .bind(now.as_nanos())
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM posture_metric_weights WHERE metric = $1")
                    .bind(metric)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let detail = format!(
            "{} -> {}",
            before.as_deref().unwrap_or("default"),
            weight.unwrap_or("default")
        );
        audit(
            &mut tx,
            by,
            now,
            "metric.weight",
            format!("metric:{metric}"),
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every metric weight set, by metric.
    pub async fn metric_weights(&self) -> Result<Vec<MetricWeightRow>> {
        let rows = sqlx::query(
            "SELECT metric, weight, set_by, set_at FROM posture_metric_weights ORDER BY metric \
             LIMIT $1",
        )
        .bind(MAX_STATES)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(MetricWeightRow {
                    metric: r.try_get("metric")?,
                    weight: r.try_get("weight")?,
                    set_by: r.try_get("set_by")?,
                    set_at: Timestamp(r.try_get("set_at")?),
                })
            })
            .collect()
    }

    /// Sets an initiative's target score (0 to 100; `None`: back to the default) with an
    /// audit record `initiative.target` in the same transaction. Targets hold for every
    /// site: only callers who see every site set them.
    pub async fn set_initiative_target(
        &self,
        scope: &Scope,
        by: ChangedBy<'_>,
        initiative: &str,
        target: Option<f64>,
        now: Timestamp,
    ) -> Result<()> {
        check_id("initiative", initiative)?;
        check_site(scope, None, "an initiative target")?;
        if let Some(t) = target {
            if !(0.0..=100.0).contains(&t) {
                return Err(StoreError::Invalid("target: 0 to 100".to_owned()));
            }
        }
        let mut tx = self.write().await?;
        let before: Option<f64> =
            sqlx::query("SELECT target FROM posture_initiative_targets WHERE initiative = $1")
                .bind(initiative)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get("target"))
                .transpose()?;
        if before == target {
            return Ok(());
        }
        match target {
            Some(t) => {
                sqlx::query(
                    "INSERT INTO posture_initiative_targets (initiative, target, set_by, set_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (initiative) DO UPDATE SET \
                     target = excluded.target, set_by = excluded.set_by, \
                     set_at = excluded.set_at",
                )
                .bind(initiative)
                .bind(t)
                .bind(by.name)
                .bind(now.as_nanos())
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM posture_initiative_targets WHERE initiative = $1")
                    .bind(initiative)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let text = |t: Option<f64>| t.map_or_else(|| "default".to_owned(), |t| t.to_string());
        let detail = format!("{} -> {}", text(before), text(target));
        audit(
            &mut tx,
            by,
            now,
            "initiative.target",
            format!("initiative:{initiative}"),
            detail,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every initiative target set, by initiative.
    pub async fn initiative_targets(&self) -> Result<Vec<InitiativeTargetRow>> {
        let rows = sqlx::query(
            "SELECT initiative, target, set_by, set_at FROM posture_initiative_targets \
             ORDER BY initiative LIMIT $1",
        )
        .bind(MAX_STATES)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(InitiativeTargetRow {
                    initiative: r.try_get("initiative")?,
                    target: r.try_get("target")?,
                    set_by: r.try_get("set_by")?,
                    set_at: Timestamp(r.try_get("set_at")?),
                })
            })
            .collect()
    }

    /// Marks an initiative as one of the user's favourites (twice is a no-op); at most
    /// [`MAX_FAVOURITES`] per user (Conflict beyond). An unknown user is NotFound.
    pub async fn add_favourite_initiative(
        &self,
        user: UserId,
        initiative: &str,
        now: Timestamp,
    ) -> Result<()> {
        check_id("initiative", initiative)?;
        let mut tx = self.write().await?;
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM posture_favourites WHERE user_id = $1")
            .bind(user.0)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if n >= MAX_FAVOURITES {
            return Err(StoreError::Conflict(format!(
                "the user has {n} favourite initiatives, the most kept"
            )));
        }
        sqlx::query(
            "INSERT INTO posture_favourites (user_id, initiative, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, initiative) DO NOTHING",
        )
        .bind(user.0)
        .bind(initiative)
        .bind(now.as_nanos())
        .execute(&mut *tx)
        .await
        .map_err(missing_is_not_found)?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes an initiative from the user's favourites (absent is a no-op).
    pub async fn remove_favourite_initiative(&self, user: UserId, initiative: &str) -> Result<()> {
        check_id("initiative", initiative)?;
        sqlx::query("DELETE FROM posture_favourites WHERE user_id = $1 AND initiative = $2")
            .bind(user.0)
            .bind(initiative)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The user's favourite initiatives, by id.
    pub async fn favourite_initiatives(&self, user: UserId) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT initiative FROM posture_favourites WHERE user_id = $1 ORDER BY initiative \
             LIMIT $2",
        )
        .bind(user.0)
        .bind(MAX_FAVOURITES)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("initiative")?)).collect()
    }
}
