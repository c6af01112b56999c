//! BACnet's numbered vocabularies (ASHRAE 135): service choices with the event category of
//! each, object types, property identifiers, error classes and codes, reject and abort
//! reasons, and the vendor-identifier table (a data file).

use crate::id_table::IdTable;
use ironward_model::EventCategory;

/// Confirmed services: (snake_case name, category), by service choice.
const CONFIRMED: [(&str, EventCategory); 34] = {
    use EventCategory::*;
    [
        ("acknowledge_alarm", Other),
        ("confirmed_cov_notification", Read),
        ("confirmed_event_notification", Other),
        ("get_alarm_summary", Diagnostics),
        ("get_enrollment_summary", Diagnostics),
        ("subscribe_cov", Other),
        ("atomic_read_file", Read),
        ("atomic_write_file", Write),
        ("add_list_element", Write),
        ("remove_list_element", Write),
        ("create_object", ConfigurationChange),
        ("delete_object", ConfigurationChange),
        ("read_property", Read),
        ("read_property_conditional", Read),
        ("read_property_multiple", Read),
        ("write_property", Write),
        ("write_property_multiple", Write),
        ("device_communication_control", ConfigurationChange),
        ("confirmed_private_transfer", Other),
        ("confirmed_text_message", Other),
        ("reinitialize_device", ModeChange),
        ("vt_open", Other),
        ("vt_close", Other),
        ("vt_data", Other),
        ("authenticate", Authentication),
        ("request_key", Authentication),
        ("read_range", Read),
        ("life_safety_operation", ControlCommand),
        ("subscribe_cov_property", Other),
        ("get_event_information", Diagnostics),
        ("subscribe_cov_property_multiple", Other),
        ("confirmed_cov_notification_multiple", Read),
        ("confirmed_audit_notification", Other),
        ("audit_log_query", Diagnostics),
    ]
};

/// Unconfirmed services: (snake_case name, category), by service choice.
const UNCONFIRMED: [(&str, EventCategory); 15] = {
    use EventCategory::*;
    [
        ("i_am", Discovery),
        ("i_have", Discovery),
        ("unconfirmed_cov_notification", Read),
        ("unconfirmed_event_notification", Other),
        ("unconfirmed_private_transfer", Other),
        ("unconfirmed_text_message", Other),
        ("time_synchronization", TimeSync),
        ("who_has", Discovery),
        ("who_is", Discovery),
        ("utc_time_synchronization", TimeSync),
        ("write_group", Write),
        ("unconfirmed_cov_notification_multiple", Read),
        ("unconfirmed_audit_notification", Other),
        ("who_am_i", Discovery),
        ("you_are", ConfigurationChange),
    ]
};

/// A confirmed service's operation name and category (`confirmed_service` and Other for
/// choices this table does not know).
pub fn confirmed(choice: u8) -> (&'static str, EventCategory) {
    CONFIRMED
        .get(usize::from(choice))
        .copied()
        .unwrap_or(("confirmed_service", EventCategory::Other))
}

/// An unconfirmed service's operation name and category.
pub fn unconfirmed(choice: u8) -> (&'static str, EventCategory) {
    UNCONFIRMED
        .get(usize::from(choice))
        .copied()
        .unwrap_or(("unconfirmed_service", EventCategory::Other))
}

/// Object type names, by number.
const OBJECT_TYPES: [&str; 65] = [
    "analog-input",
    "analog-output",
    "analog-value",
    "binary-input",
    "binary-output",
    "binary-value",
    "calendar",
    "command",
    "device",
    "event-enrollment",
    "file",
    "group",
    "loop",
    "multi-state-input",
    "multi-state-output",
    "notification-class",
    "program",
    "schedule",
    "averaging",
    "multi-state-value",
    "trend-log",
    "life-safety-point",
    "life-safety-zone",
    "accumulator",
    "pulse-converter",
    "event-log",
    "global-group",
    "trend-log-multiple",
    "load-control",
    "structured-view",
    "access-door",
    "timer",
    "access-credential",
    "access-point",
    "access-rights",
    "access-user",
    "access-zone",
    "credential-data-input",
    "network-security",
    "bitstring-value",
    "characterstring-value",
    "datepattern-value",
    "date-value",
    "datetimepattern-value",
    "datetime-value",
    "integer-value",
    "large-analog-value",
    "octetstring-value",
    "positive-integer-value",
    "timepattern-value",
    "time-value",
    "notification-forwarder",
    "alert-enrollment",
    "channel",
    "lighting-output",
    "binary-lighting-output",
    "network-port",
    "elevator-group",
    "escalator",
    "lift",
    "staging",
    "audit-log",
    "audit-reporter",
    "color",
    "color-temperature",
];

/// The name of an object type, when standard.
pub fn object_type(n: u16) -> Option<&'static str> {
    OBJECT_TYPES.get(usize::from(n)).copied()
}

/// Property identifier names 0..=197 ("" where the number is unassigned or withdrawn).
const PROPERTIES: [&str; 198] = [
    "acked-transitions",
    "ack-required",
    "action",
    "action-text",
    "active-text",
    "active-vt-sessions",
    "alarm-value",
    "alarm-values",
    "all",
    "all-writes-successful",
    "apdu-segment-timeout",
    "apdu-timeout",
    "application-software-version",
    "archive",
    "bias",
    "change-of-state-count",
    "change-of-state-time",
    "notification-class",
    "",
    "controlled-variable-reference",
    "controlled-variable-units",
    "controlled-variable-value",
    "cov-increment",
    "date-list",
    "daylight-savings-status",
    "deadband",
    "derivative-constant",
    "derivative-constant-units",
    "description",
    "description-of-halt",
    "device-address-binding",
    "device-type",
    "effective-period",
    "elapsed-active-time",
    "error-limit",
    "event-enable",
    "event-state",
    "event-type",
    "exception-schedule",
    "fault-values",
    "feedback-value",
    "file-access-method",
    "file-size",
    "file-type",
    "firmware-revision",
    "high-limit",
    "inactive-text",
    "in-process",
    "instance-of",
    "integral-constant",
    "integral-constant-units",
    "",
    "limit-enable",
    "list-of-group-members",
    "list-of-object-property-references",
    "",
    "local-date",
    "local-time",
    "location",
    "low-limit",
    "manipulated-variable-reference",
    "maximum-output",
    "max-apdu-length-accepted",
    "max-info-frames",
    "max-master",
    "max-pres-value",
    "minimum-off-time",
    "minimum-on-time",
    "minimum-output",
    "min-pres-value",
    "model-name",
    "modification-date",
    "notify-type",
    "number-of-apdu-retries",
    "number-of-states",
    "object-identifier",
    "object-list",
    "object-name",
    "object-property-reference",
    "object-type",
    "optional",
    "out-of-service",
    "output-units",
    "event-parameters",
    "polarity",
    "present-value",
    "priority",
    "priority-array",
    "priority-for-writing",
    "process-identifier",
    "program-change",
    "program-location",
    "program-state",
    "proportional-constant",
    "proportional-constant-units",
    "",
    "protocol-object-types-supported",
    "protocol-services-supported",
    "protocol-version",
    "read-only",
    "reason-for-halt",
    "",
    "recipient-list",
    "reliability",
    "relinquish-default",
    "required",
    "resolution",
    "segmentation-supported",
    "setpoint",
    "setpoint-reference",
    "state-text",
    "status-flags",
    "system-status",
    "time-delay",
    "time-of-active-time-reset",
    "time-of-state-count-reset",
    "time-synchronization-recipients",
    "units",
    "update-interval",
    "utc-offset",
    "vendor-identifier",
    "vendor-name",
    "vt-classes-supported",
    "weekly-schedule",
    "attempted-samples",
    "average-value",
    "buffer-size",
    "client-cov-increment",
    "cov-resubscription-interval",
    "",
    "event-time-stamps",
    "log-buffer",
    "log-device-object-property",
    "enable",
    "log-interval",
    "maximum-value",
    "minimum-value",
    "notification-threshold",
    "",
    "protocol-revision",
    "records-since-notification",
    "record-count",
    "start-time",
    "stop-time",
    "stop-when-full",
    "total-record-count",
    "valid-samples",
    "window-interval",
    "window-samples",
    "maximum-value-timestamp",
    "minimum-value-timestamp",
    "variance-value",
    "active-cov-subscriptions",
    "backup-failure-timeout",
    "configuration-files",
    "database-revision",
    "direct-reading",
    "last-restore-time",
    "maintenance-required",
    "member-of",
    "mode",
    "operation-expected",
    "setting",
    "silenced",
    "tracking-value",
    "zone-members",
    "life-safety-alarm-values",
    "max-segments-accepted",
    "profile-name",
    "auto-slave-discovery",
    "manual-slave-address-binding",
    "slave-address-binding",
    "slave-proxy-enable",
    "last-notify-record",
    "schedule-default",
    "accepted-modes",
    "adjust-value",
    "count",
    "count-before-change",
    "count-change-time",
    "cov-period",
    "input-reference",
    "limit-monitoring-interval",
    "logging-object",
    "logging-record",
    "prescale",
    "pulse-rate",
    "scale",
    "scale-factor",
    "update-time",
    "value-before-change",
    "value-set",
    "value-change-time",
    "align-intervals",
    "",
    "interval-offset",
    "last-restart-reason",
    "logging-type",
];

/// Property identifier: application-software-version.
pub const PROP_APPLICATION_SOFTWARE_VERSION: u32 = 12;
/// Property identifier: description.
pub const PROP_DESCRIPTION: u32 = 28;
/// Property identifier: firmware-revision.
pub const PROP_FIRMWARE_REVISION: u32 = 44;
/// Property identifier: location.
pub const PROP_LOCATION: u32 = 58;
/// Property identifier: model-name.
pub const PROP_MODEL_NAME: u32 = 70;
/// Property identifier: object-identifier.
pub const PROP_OBJECT_IDENTIFIER: u32 = 75;
/// Property identifier: object-name.
pub const PROP_OBJECT_NAME: u32 = 77;
/// Property identifier: system-status.
pub const PROP_SYSTEM_STATUS: u32 = 112;
/// Property identifier: vendor-identifier.
pub const PROP_VENDOR_IDENTIFIER: u32 = 120;
/// Property identifier: vendor-name.
pub const PROP_VENDOR_NAME: u32 = 121;
/// Property identifier: serial-number.
pub const PROP_SERIAL_NUMBER: u32 = 372;

/// The name of a property identifier, when this table knows it.
pub fn property(n: u32) -> Option<&'static str> {
    match n {
        371 => Some("property-list"),
        PROP_SERIAL_NUMBER => Some("serial-number"),
        _ => PROPERTIES
            .get(n as usize)
            .copied()
            .filter(|name| !name.is_empty()),
    }
}

/// Error class names.
pub fn error_class(n: u64) -> Option<&'static str> {
    const NAMES: [&str; 8] = [
        "device",
        "object",
        "property",
        "resources",
        "security",
        "services",
        "vt",
        "communication",
    ];
    NAMES.get(usize::try_from(n).ok()?).copied()
}

/// Error code names 0..=50.
pub fn error_code(n: u64) -> Option<&'static str> {
    const NAMES: [&str; 51] = [
        "other",
        "authentication-failed",
        "configuration-in-progress",
        "device-busy",
        "dynamic-creation-not-supported",
        "file-access-denied",
        "incompatible-security-levels",
        "inconsistent-parameters",
        "inconsistent-selection-criterion",
        "invalid-data-type",
        "invalid-file-access-method",
        "invalid-file-start-position",
        "invalid-operator-name",
        "invalid-parameter-data-type",
        "invalid-time-stamp",
        "key-generation-error",
        "missing-required-parameter",
        "no-objects-of-specified-type",
        "no-space-for-object",
        "no-space-to-add-list-element",
        "no-space-to-write-property",
        "no-vt-sessions-available",
        "property-is-not-a-list",
        "object-deletion-not-permitted",
        "object-identifier-already-exists",
        "operational-problem",
        "password-failure",
        "read-access-denied",
        "security-not-supported",
        "service-request-denied",
        "timeout",
        "unknown-object",
        "unknown-property",
        "",
        "unknown-vt-class",
        "unknown-vt-session",
        "unsupported-object-type",
        "value-out-of-range",
        "vt-session-already-closed",
        "vt-session-termination-failure",
        "write-access-denied",
        "character-set-not-supported",
        "invalid-array-index",
        "cov-subscription-failed",
        "not-cov-property",
        "optional-functionality-not-supported",
        "invalid-configuration-data",
        "datatype-not-supported",
        "duplicate-name",
        "duplicate-object-id",
        "property-is-not-an-array",
    ];
    NAMES
        .get(usize::try_from(n).ok()?)
        .copied()
        .filter(|name| !name.is_empty())
}

/// Reject reason names.
pub fn reject_reason(n: u8) -> Option<&'static str> {
    const NAMES: [&str; 10] = [
        "other",
        "buffer-overflow",
        "inconsistent-parameters",
        "invalid-parameter-data-type",
        "invalid-tag",
        "missing-required-parameter",
        "parameter-out-of-range",
        "too-many-arguments",
        "undefined-enumeration",
        "unrecognized-service",
    ];
    NAMES.get(usize::from(n)).copied()
}

/// Abort reason names.
pub fn abort_reason(n: u8) -> Option<&'static str> {
    const NAMES: [&str; 12] = [
        "other",
        "buffer-overflow",
        "invalid-apdu-in-this-state",
        "preempted-by-higher-priority-task",
        "segmentation-not-supported",
        "security-error",
        "insufficient-security",
        "window-size-out-of-range",
        "application-exceeded-reply-time",
        "out-of-resources",
        "tsm-timeout",
        "apdu-too-long",
    ];
    NAMES.get(usize::from(n)).copied()
}

/// ReinitializeDevice's reinitialized-state-of-device names.
pub fn reinitialize_state(n: u64) -> Option<&'static str> {
    const NAMES: [&str; 8] = [
        "coldstart",
        "warmstart",
        "startbackup",
        "endbackup",
        "startrestore",
        "endrestore",
        "abortrestore",
        "activate-changes",
    ];
    NAMES.get(usize::try_from(n).ok()?).copied()
}

/// DeviceCommunicationControl's enable-disable names.
pub fn enable_disable(n: u64) -> Option<&'static str> {
    const NAMES: [&str; 3] = ["enable", "disable", "disable-initiation"];
    NAMES.get(usize::try_from(n).ok()?).copied()
}

/// The device object's system-status names (the device's state).
pub fn system_status(n: u64) -> Option<&'static str> {
    const NAMES: [&str; 7] = [
        "operational",
        "operational-read-only",
        "download-required",
        "download-in-progress",
        "non-operational",
        "backup-in-progress",
        "partially-operational",
    ];
    NAMES.get(usize::try_from(n).ok()?).copied()
}

/// Segmentation-supported names (I-Am).
pub fn segmentation(n: u64) -> Option<&'static str> {
    const NAMES: [&str; 4] = ["both", "transmit", "receive", "none"];
    NAMES.get(usize::try_from(n).ok()?).copied()
}

/// BVLC function names (snake_case, as event operations).
pub fn bvlc_function(n: u8) -> &'static str {
    const NAMES: [&str; 13] = [
        "bvlc_result",
        "write_broadcast_distribution_table",
        "read_broadcast_distribution_table",
        "read_broadcast_distribution_table_ack",
        "forwarded_npdu",
        "register_foreign_device",
        "read_foreign_device_table",
        "read_foreign_device_table_ack",
        "delete_foreign_device_table_entry",
        "distribute_broadcast_to_network",
        "original_unicast_npdu",
        "original_broadcast_npdu",
        "secure_bvll",
    ];
    NAMES
        .get(usize::from(n))
        .copied()
        .unwrap_or("bvlc_function")
}

/// Network-layer message names (snake_case, as event operations).
pub fn network_message(n: u8) -> &'static str {
    const NAMES: [&str; 20] = [
        "who_is_router_to_network",
        "i_am_router_to_network",
        "i_could_be_router_to_network",
        "reject_message_to_network",
        "router_busy_to_network",
        "router_available_to_network",
        "initialize_routing_table",
        "initialize_routing_table_ack",
        "establish_connection_to_network",
        "disconnect_connection_to_network",
        "challenge_request",
        "security_payload",
        "security_response",
        "request_key_update",
        "update_key_set",
        "update_distribution_key",
        "request_master_key",
        "set_master_key",
        "what_is_network_number",
        "network_number_is",
    ];
    match n {
        0x80..=0xff => "proprietary_network_message",
        _ => NAMES
            .get(usize::from(n))
            .copied()
            .unwrap_or("network_message"),
    }
}

/// ASHRAE's BACnet vendor-id registry, as shipped (its first line names the public source).
static VENDORS: IdTable = IdTable::new(include_str!("../../data/bacnet_vendors.csv"));

/// The vendor named by a BACnet vendor identifier.
pub fn vendor(id: u64) -> Option<&'static str> {
    VENDORS.name(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables() {
        assert_eq!(vendor(0), Some("ASHRAE"));
        assert_eq!(vendor(5), Some("Johnson Controls, Inc."));
        assert_eq!(vendor(1502), Some("ABB Electrification Canada Inc."));
        assert_eq!(vendor(1_000_000), None);
        assert_eq!(property(77), Some("object-name"));
        assert_eq!(property(121), Some("vendor-name"));
        assert_eq!(property(112), Some("system-status"));
        assert_eq!(property(197), Some("logging-type"));
        assert_eq!(property(372), Some("serial-number"));
        assert_eq!(property(18), None);
        assert_eq!(object_type(8), Some("device"));
        assert_eq!(object_type(56), Some("network-port"));
        assert_eq!(confirmed(12).0, "read_property");
        assert_eq!(confirmed(20).1, EventCategory::ModeChange);
        assert_eq!(unconfirmed(8).0, "who_is");
        assert_eq!(error_code(31), Some("unknown-object"));
        assert_eq!(error_code(40), Some("write-access-denied"));
    }
}
