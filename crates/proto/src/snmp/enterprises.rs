//! Vendors by IANA private enterprise number (PEN, the `<n>` of `1.3.6.1.4.1.<n>`): the
//! numbers that SNMP sysObjectIDs, v1 trap enterprises and SNMPv3 engine ids carry.
//!
//! About 182 network, printer, camera, phone, UPS, storage, building-automation and
//! industrial vendors commonly seen on enterprise and OT networks. Every number was checked
//! against the IANA registry (as shipped with Wireshark, `enterprises.tsv`); names are the
//! short names people use (`Cisco` for `ciscoSystems`). Companies with several numbers
//! (Siemens, Red Lion, Juniper, Brocade, F5, WAGO, ...) appear under each.
//!
//! Numbers that name agent software or an operating system rather than a hardware maker
//! (net-snmp, ucd-snmp, bsnmpd, Microsoft's Windows agent, the BSDs) say so by their
//! [`Origin`]: they must not become the device's vendor (a NAS answering with net-snmp is no
//! net-snmp device).

/// What an enterprise number tells about a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The maker of the device.
    Vendor,
    /// The SNMP agent software (the device's maker is unknown).
    Software,
    /// The operating system.
    Os,
}

use Origin::{Os, Software, Vendor};

/// (enterprise number, name, origin), sorted by number for binary search.
pub const ENTERPRISES: &[(u32, &str, Origin)] = &[
    (2, "IBM", Vendor),
    (9, "Cisco", Vendor),
    (11, "HP", Vendor),
    (42, "Sun Microsystems", Vendor),
    (43, "3Com", Vendor),
    (52, "Enterasys Networks", Vendor),
    (63, "Apple", Vendor),
    (94, "Nokia", Vendor),
    (95, "Rockwell Automation", Vendor),
    (111, "Oracle", Vendor),
    (119, "NEC", Vendor),
    (161, "Motorola", Vendor),
    (171, "D-Link", Vendor),
    (186, "Toshiba", Vendor),
    (193, "Ericsson", Vendor),
    (202, "SMC Networks", Vendor),
    (207, "Allied Telesis", Vendor),
    (232, "Compaq", Vendor),
    (236, "Samsung", Vendor),
    (244, "Lantronix", Vendor),
    (248, "Hirschmann", Vendor),
    (253, "Xerox", Vendor),
    (259, "Accton", Vendor),
    (311, "Windows", Os),
    (318, "APC", Vendor),
    (332, "Digi International", Vendor),
    (343, "Intel", Vendor),
    (347, "Seagate", Vendor),
    (367, "Ricoh", Vendor),
    (368, "Axis Communications", Vendor),
    (409, "Mitsubishi Electric", Vendor),
    (476, "Vertiv", Vendor),
    (534, "Eaton", Vendor),
    (641, "Lexmark", Vendor),
    (664, "Adtran", Vendor),
    (674, "Dell", Vendor),
    (705, "Merlin Gerin", Vendor),
    (789, "NetApp", Vendor),
    (850, "Tripp Lite", Vendor),
    (872, "AVM", Vendor),
    (890, "Zyxel", Vendor),
    (908, "ABB", Vendor),
    (1027, "Mitel", Vendor),
    (1129, "Toshiba TEC", Vendor),
    (1139, "EMC", Vendor),
    (1248, "Epson", Vendor),
    (1271, "Ciena", Vendor),
    (1347, "Kyocera", Vendor),
    (1397, "Tellabs", Vendor),
    (1588, "Brocade", Vendor),
    (1602, "Canon", Vendor),
    (1890, "Red Lion", Vendor),
    (1916, "Extreme Networks", Vendor),
    (1991, "Brocade", Vendor),
    (2001, "OKI", Vendor),
    (2011, "Huawei", Vendor),
    (2021, "ucd-snmp", Software),
    (2238, "FreeBSD", Os),
    (2254, "Delta Electronics", Vendor),
    (2356, "LANCOM Systems", Vendor),
    (2385, "Sharp", Vendor),
    (2435, "Brother", Vendor),
    (2604, "Sophos", Vendor),
    (2620, "Check Point", Vendor),
    (2623, "ASUS", Vendor),
    (2636, "Juniper Networks", Vendor),
    (2910, "GE", Vendor),
    (3097, "WatchGuard", Vendor),
    (3212, "Crestron", Vendor),
    (3224, "NetScreen", Vendor),
    (3375, "F5", Vendor),
    (3442, "Advantech", Vendor),
    (3808, "CyberPower", Vendor),
    (3833, "Schneider Electric", Vendor),
    (3845, "Citrix", Vendor),
    (3902, "ZTE", Vendor),
    (3955, "Linksys", Vendor),
    (3967, "Bosch", Vendor),
    (4115, "Arris", Vendor),
    (4131, "Tridium", Vendor),
    (4196, "Siemens", Vendor),
    (4329, "Siemens", Vendor),
    (4346, "Phoenix Contact", Vendor),
    (4399, "Johnson Controls", Vendor),
    (4413, "Broadcom", Vendor),
    (4526, "Netgear", Vendor),
    (4555, "Socomec", Vendor),
    (4874, "Juniper Networks", Vendor),
    (4881, "Ruijie Networks", Vendor),
    (5003, "AudioCodes", Vendor),
    (5127, "Western Digital", Vendor),
    (5528, "NetBotz", Vendor),
    (5596, "Tandberg", Vendor),
    (5597, "Meinberg", Vendor),
    (5624, "Enterasys Networks", Vendor),
    (5940, "Red Lion", Vendor),
    (5951, "NetScaler", Vendor),
    (6027, "Force10 Networks", Vendor),
    (6302, "Vertiv", Vendor),
    (6321, "Calix", Vendor),
    (6486, "Alcatel-Lucent Enterprise", Vendor),
    (6527, "Nokia", Vendor),
    (6574, "Synology", Vendor),
    (6876, "VMware", Vendor),
    (6889, "Avaya", Vendor),
    (7367, "DrayTek", Vendor),
    (7427, "Yokogawa", Vendor),
    (7526, "snom", Vendor),
    (7779, "Infoblox", Vendor),
    (8072, "net-snmp", Software),
    (8691, "Moxa", Vendor),
    (8741, "SonicWall", Vendor),
    (10297, "Advantech", Vendor),
    (10418, "Avocent", Vendor),
    (10504, "Printronix", Vendor),
    (10642, "Zebra Technologies", Vendor),
    (10704, "Barracuda Networks", Vendor),
    (10876, "Supermicro", Vendor),
    (11129, "Google", Vendor),
    (11256, "Stormshield", Vendor),
    (11268, "Aastra", Vendor),
    (11863, "TP-Link", Vendor),
    (12276, "F5", Vendor),
    (12325, "bsnmpd", Software),
    (12356, "Fortinet", Vendor),
    (13248, "GE", Vendor),
    (13315, "BlueCat", Vendor),
    (13576, "WAGO", Vendor),
    (13742, "Raritan", Vendor),
    (13885, "Polycom", Vendor),
    (14823, "Aruba", Vendor),
    (14988, "MikroTik", Vendor),
    (15004, "RuggedCom", Vendor),
    (16177, "Westermo", Vendor),
    (16838, "Omron", Vendor),
    (17163, "Riverbed", Vendor),
    (17713, "Cambium Networks", Vendor),
    (18334, "Konica Minolta", Vendor),
    (19046, "Lenovo", Vendor),
    (20540, "Red Lion", Vendor),
    (20992, "Cradlepoint", Vendor),
    (20998, "Honeywell", Vendor),
    (21701, "Mobotix", Vendor),
    (22610, "A10 Networks", Vendor),
    (23465, "Vivotek", Vendor),
    (23695, "Peplink", Vendor),
    (24681, "QNAP", Vendor),
    (25049, "Opengear", Vendor),
    (25053, "Ruckus Wireless", Vendor),
    (25157, "Beckhoff", Vendor),
    (25461, "Palo Alto Networks", Vendor),
    (25506, "H3C", Vendor),
    (26866, "Gigamon", Vendor),
    (26928, "Aerohive", Vendor),
    (27378, "Belden", Vendor),
    (28381, "Red Lion", Vendor),
    (29671, "Meraki", Vendor),
    (30065, "Arista Networks", Vendor),
    (30155, "OpenBSD", Os),
    (31322, "Sierra Wireless", Vendor),
    (31823, "Schweitzer Engineering Laboratories", Vendor),
    (32388, "NetBSD", Os),
    (33049, "Mellanox", Vendor),
    (36849, "Hanwha Vision", Vendor),
    (37459, "Yealink", Vendor),
    (37496, "Dahua", Vendor),
    (39165, "Hikvision", Vendor),
    (40073, "Lutron", Vendor),
    (40310, "Cumulus Linux", Os),
    (40482, "Pure Storage", Vendor),
    (41112, "Ubiquiti", Vendor),
    (42397, "Grandstream", Vendor),
    (44641, "VyOS", Os),
    (44974, "Sonos", Vendor),
    (47196, "Hewlett Packard Enterprise", Vendor),
    (47244, "Roku", Vendor),
    (48690, "Teltonika", Vendor),
    (52587, "Edgecore Networks", Vendor),
    (56314, "Signify", Vendor),
    (57461, "WAGO", Vendor),
    (60685, "Shelly", Vendor),
    (61160, "Tuya", Vendor),
];

/// The name and origin of an enterprise number, if it is in [`ENTERPRISES`].
pub fn lookup(number: u64) -> Option<(&'static str, Origin)> {
    let number = u32::try_from(number).ok()?;
    let index = ENTERPRISES
        .binary_search_by_key(&number, |(n, _, _)| *n)
        .ok()?;
    ENTERPRISES
        .get(index)
        .map(|(_, name, origin)| (*name, *origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_unique_and_found() {
        assert!(ENTERPRISES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(ENTERPRISES.len() >= 150);
        for (number, name, origin) in ENTERPRISES {
            assert_eq!(lookup(u64::from(*number)), Some((*name, *origin)));
        }
        assert_eq!(lookup(9), Some(("Cisco", Vendor)));
        assert_eq!(lookup(2636), Some(("Juniper Networks", Vendor)));
        assert_eq!(lookup(8072), Some(("net-snmp", Software)));
        assert_eq!(lookup(311), Some(("Windows", Os)));
        assert_eq!(lookup(31337), None);
        assert_eq!(lookup(u64::MAX), None);
    }
}
