//! Device groups: named sets of devices (a cell, a vendor's fleet, "crown jewels").

use ironward_model::Timestamp;
use serde::Serialize;
use sqlx::Row;

use crate::db::Sql;
use crate::devices::DeviceRow;
use crate::{DeviceRef, GroupId, Result, Scope, Store, StoreError};

/// A device group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceGroup {
    /// Id.
    pub id: GroupId,
    /// Unique name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Created.
    pub created_at: Timestamp,
}

impl Store {
    /// Creates a group; a taken name is a conflict.
    pub async fn create_group(
        &self,
        name: &str,
        description: &str,
        now: Timestamp,
    ) -> Result<DeviceGroup> {
        crate::sites::check_name("group", name)?;
        let r = sqlx::query(
            "INSERT INTO device_groups (name, description, created_at) VALUES ($1, $2, $3) \
             RETURNING id",
        )
        .bind(name)
        .bind(description)
        .bind(now.as_nanos())
        .fetch_one(&self.pool)
        .await?;
        Ok(DeviceGroup {
            id: GroupId(r.try_get("id")?),
            name: name.to_owned(),
            description: description.to_owned(),
            created_at: now,
        })
    }

    /// Every group, by name.
    pub async fn list_groups(&self) -> Result<Vec<DeviceGroup>> {
        let rows = sqlx::query(
            "SELECT id, name, description, created_at FROM device_groups ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeviceGroup {
                    id: GroupId(r.try_get("id")?),
                    name: r.try_get("name")?,
                    description: r.try_get("description")?,
                    created_at: Timestamp(r.try_get("created_at")?),
                })
            })
            .collect()
    }

    /// Deletes a group (not its devices).
    pub async fn delete_group(&self, id: GroupId) -> Result<()> {
        let done = sqlx::query("DELETE FROM device_groups WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Adds a device in `scope` to a group (adding it twice is a no-op).
    pub async fn add_group_member(
        &self,
        scope: &Scope,
        group: GroupId,
        device: DeviceRef,
    ) -> Result<()> {
        self.device_key(scope, device).await?;
        sqlx::query(
            "INSERT INTO device_group_members (group_id, device_id) VALUES ($1, $2) \
             ON CONFLICT (group_id, device_id) DO NOTHING",
        )
        .bind(group.0)
        .bind(device.0)
        .execute(&self.pool)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => StoreError::NotFound,
            other => other,
        })?;
        Ok(())
    }

    /// Removes a device in `scope` from a group.
    pub async fn remove_group_member(
        &self,
        scope: &Scope,
        group: GroupId,
        device: DeviceRef,
    ) -> Result<()> {
        self.device_key(scope, device).await?;
        sqlx::query("DELETE FROM device_group_members WHERE group_id = $1 AND device_id = $2")
            .bind(group.0)
            .bind(device.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The members of a group that are in `scope`, by name (at most [`crate::MAX_PAGE`]).
    pub async fn group_members(&self, scope: &Scope, group: GroupId) -> Result<Vec<DeviceRow>> {
        let mut sql = Sql::new(&format!(
            "SELECT {} WHERE d.id IN (SELECT device_id FROM device_group_members \
             WHERE group_id = ",
            crate::devices::ROW_COLUMNS
        ));
        sql.bind(group.0).push(")");
        scope.filter(&mut sql, "d.site_id");
        sql.push(" ORDER BY d.name, d.id LIMIT ")
            .bind(crate::MAX_PAGE);
        let rows = sql.query().fetch_all(&self.pool).await?;
        rows.iter().map(crate::devices::device_row).collect()
    }
}
