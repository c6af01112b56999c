//! How stored rows look in the API's JSON: devices use the field names of
//! `ironward analyze --format json`, with the store's row id as `id`, the model's device key as
//! `key`, and where the device lives (`site`, `site_id`, `zone`, `zone_id`, `sensor`,
//! `sensor_id`).

use axum::http::StatusCode;
use ironward_store::{DeviceRow, Page};
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::ApiError;

/// A list answer: `{"items": [...], "total": N}`.
pub fn list<T: Serialize>(items: &[T], total: i64) -> Result<Value, ApiError> {
    Ok(json!({ "items": to_value(items)?, "total": total }))
}

/// A store page as a list answer.
pub fn page<T: Serialize>(page: &Page<T>) -> Result<Value, ApiError> {
    list(&page.items, page.total)
}

/// A complete list (no paging) as a list answer.
pub fn all<T: Serialize>(items: &[T]) -> Result<Value, ApiError> {
    list(items, i64::try_from(items.len()).unwrap_or(i64::MAX))
}

/// Any serialisable value; failing to serialise is a bug reported as a 500, not a panic.
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, ApiError> {
    serde_json::to_value(value).map_err(|error| {
        tracing::error!(%error, "serialising an API answer");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    })
}

/// A device as the API shows it.
pub fn device(row: &DeviceRow) -> Result<Value, ApiError> {
    let mut value = to_value(&row.device)?;
    if let Value::Object(fields) = &mut value {
        if let Some(key) = fields.remove("id") {
            fields.insert("key".to_owned(), key);
        }
        fields.insert("id".to_owned(), json!(row.id));
        fields.insert("site_id".to_owned(), json!(row.site_id));
        fields.insert("site".to_owned(), json!(row.site));
        fields.insert("zone_id".to_owned(), json!(row.zone_id));
        fields.insert("zone".to_owned(), json!(row.zone));
        fields.insert("sensor_id".to_owned(), json!(row.sensor_id));
        fields.insert("sensor".to_owned(), json!(row.sensor));
    }
    Ok(value)
}

/// Devices as a list answer.
pub fn devices(page: &Page<DeviceRow>) -> Result<Value, ApiError> {
    let items = page
        .items
        .iter()
        .map(device)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({ "items": items, "total": page.total }))
}
