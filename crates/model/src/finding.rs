//! Findings: insecure configurations seen on a device, kept as facts
//! ([`Attribute::Finding`](crate::Attribute::Finding)) that later stages turn into
//! recommendations.

use serde::{Deserialize, Serialize};

/// An insecure configuration or practice seen in a device's traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Finding {
    /// The device offers or uses Telnet (credentials and sessions in clear text).
    TelnetInUse,
    /// A Telnet server gave a shell without asking for any login (no username or password
    /// prompt before the shell prompt): anyone who reaches the port administers the device.
    TelnetWithoutAuthentication,
    /// A VNC server accepts connections without authentication (security type None).
    VncWithoutAuthentication,
    /// SNMP v1 or v2c in use (community strings in clear text, no integrity).
    SnmpV1V2c,
    /// SNMP answered to a well-known default community (`public`, `private`, ...).
    SnmpDefaultCommunity,
    /// SNMPv3 without privacy (values in clear text).
    SnmpV3WithoutPrivacy,
    /// An MQTT client connected without a username and password.
    MqttWithoutAuthentication,
    /// MQTT over clear text (a broker on a non-TLS port).
    MqttCleartext,
    /// HTTP Basic authentication over clear-text HTTP.
    HttpBasicCleartext,
    /// TLS below version 1.2 negotiated.
    TlsLegacyVersion,
    /// A self-signed TLS server certificate.
    TlsSelfSignedCertificate,
    /// An expired (or not yet valid) TLS server certificate.
    TlsExpiredCertificate,
    /// SSH protocol version 1.
    SshV1,
    /// FTP in use (credentials and files in clear text).
    FtpCleartext,
    /// SMB version 1 in use.
    SmbV1,
    /// An OPC UA secure channel with security mode None (no signing, no encryption).
    OpcuaSecurityNone,
    /// An OPC UA session activated with an anonymous identity token.
    OpcuaAnonymousSession,
}

impl Finding {
    /// Every finding.
    pub const ALL: [Finding; 17] = [
        Self::TelnetInUse,
        Self::TelnetWithoutAuthentication,
        Self::VncWithoutAuthentication,
        Self::SnmpV1V2c,
        Self::SnmpDefaultCommunity,
        Self::SnmpV3WithoutPrivacy,
        Self::MqttWithoutAuthentication,
        Self::MqttCleartext,
        Self::HttpBasicCleartext,
        Self::TlsLegacyVersion,
        Self::TlsSelfSignedCertificate,
        Self::TlsExpiredCertificate,
        Self::SshV1,
        Self::FtpCleartext,
        Self::SmbV1,
        Self::OpcuaSecurityNone,
        Self::OpcuaAnonymousSession,
    ];

    /// The finding's stable id, used as the fact value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TelnetInUse => "telnet_in_use",
            Self::TelnetWithoutAuthentication => "telnet_without_authentication",
            Self::VncWithoutAuthentication => "vnc_without_authentication",
            Self::SnmpV1V2c => "snmp_v1_v2c",
            Self::SnmpDefaultCommunity => "snmp_default_community",
            Self::SnmpV3WithoutPrivacy => "snmp_v3_without_privacy",
            Self::MqttWithoutAuthentication => "mqtt_without_authentication",
            Self::MqttCleartext => "mqtt_cleartext",
            Self::HttpBasicCleartext => "http_basic_cleartext",
            Self::TlsLegacyVersion => "tls_legacy_version",
            Self::TlsSelfSignedCertificate => "tls_self_signed_certificate",
            Self::TlsExpiredCertificate => "tls_expired_certificate",
            Self::SshV1 => "ssh_v1",
            Self::FtpCleartext => "ftp_cleartext",
            Self::SmbV1 => "smb_v1",
            Self::OpcuaSecurityNone => "opcua_security_none",
            Self::OpcuaAnonymousSession => "opcua_anonymous_session",
        }
    }

    /// The finding with this id.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == id)
    }

    /// One sentence for people: what was seen and why it matters.
    pub const fn describe(self) -> &'static str {
        match self {
            Self::TelnetInUse => {
                "Telnet in use: logins and sessions cross the network in clear text"
            }
            Self::TelnetWithoutAuthentication => {
                "Telnet without authentication: the server gives a shell without any login"
            }
            Self::VncWithoutAuthentication => {
                "VNC without authentication: anyone can take over the screen"
            }
            Self::SnmpV1V2c => "SNMP v1/v2c: community strings in clear text, no integrity",
            Self::SnmpDefaultCommunity => "SNMP answers to a well-known default community",
            Self::SnmpV3WithoutPrivacy => "SNMPv3 without privacy: values in clear text",
            Self::MqttWithoutAuthentication => {
                "MQTT client connected without username and password"
            }
            Self::MqttCleartext => "MQTT over clear text",
            Self::HttpBasicCleartext => {
                "HTTP Basic authentication over clear text: passwords readable on the wire"
            }
            Self::TlsLegacyVersion => "TLS older than 1.2 negotiated",
            Self::TlsSelfSignedCertificate => "Self-signed TLS certificate",
            Self::TlsExpiredCertificate => "Expired or not yet valid TLS certificate",
            Self::SshV1 => "SSH protocol version 1",
            Self::FtpCleartext => "FTP in use: credentials and files in clear text",
            Self::SmbV1 => "SMB version 1 in use",
            Self::OpcuaSecurityNone => {
                "OPC UA secure channel with security mode None: no signing, no encryption"
            }
            Self::OpcuaAnonymousSession => "OPC UA session opened with an anonymous identity",
        }
    }
}
