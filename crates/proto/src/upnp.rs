//! UPnP device descriptions (UPnP Device Architecture 1.0/1.1/2.0, section 2.3): the XML
//! document a device serves at the `LOCATION` its SSDP announcements name. When a control point
//! fetches it over clear-text HTTP, the HTTP dissector hands the response body to
//! [`description_facts`], which reads what the device says about itself: manufacturer, model
//! name and number, serial number, friendly name, device type, description, presentation URL and
//! UDN, for the root device and its embedded devices.
//!
//! No XML crate: the document is scanned tag by tag within [`MAX_DOCUMENT`] bytes, nesting of
//! `<device>` elements is tracked with a fixed-size stack (no recursion), and leaf values are
//! read with [`text::element`](crate::text::element) inside each device's own part of the
//! document (its `<deviceList>` of embedded devices cut out). Entities in values are decoded
//! into a stack buffer. Nothing here allocates.

use ironward_model::{Attribute, DeviceKey, Source, Timestamp};

use crate::observations::{Observations, MAX_VALUE_LEN};
use crate::text::{element, find, find_ignore_case, trim};
use crate::DissectorRegistry;

/// Most bytes of a description document scanned (real ones are 1–20 KiB).
pub const MAX_DOCUMENT: usize = 64 * 1024;

/// Most `<device>` elements (root and embedded) reported from one document.
pub const MAX_DEVICES: usize = 16;

/// Deepest nesting of `<device>` elements followed (root, embedded, embedded in embedded...).
pub const MAX_DEPTH: usize = 8;

/// The namespace of a UPnP device description's `<root>` element.
pub const DEVICE_NAMESPACE: &[u8] = b"urn:schemas-upnp-org:device-1-0";

/// Bytes of the document searched for the root element (XML declaration, comments, doctype).
const PROLOG_LIMIT: usize = 4096;

/// UPnP descriptions arrive through the HTTP dissector (see [`description_facts`]); this module
/// registers no dissector of its own.
pub fn register(registry: &mut DissectorRegistry) {
    let _ = registry;
}

/// Reports the facts a UPnP device description states about `subject` (the HTTP server that
/// served it), with [`Source::Upnp`]. Returns whether `document` is a UPnP device description:
/// its root element is in the namespace [`DEVICE_NAMESPACE`]; otherwise nothing is reported.
///
/// From every `<device>` (the root device first, then embedded ones, at most [`MAX_DEVICES`]):
/// `manufacturer` → Vendor, `modelName` → Model (as "modelName modelNumber" when the number is
/// not already part of the name; the number alone when there is no name), `serialNumber` →
/// Serial, `friendlyName` → Hostname, `deviceType` → Service, `modelDescription` →
/// Description, `presentationURL` → Url (relative ones resolved against `URLBase` when the
/// document has one, otherwise skipped), `UDN` → ClientId.
pub fn description_facts(
    document: &[u8],
    subject: DeviceKey,
    at: Timestamp,
    out: &mut Observations,
) -> bool {
    let document = &document[..document.len().min(MAX_DOCUMENT)];
    let Some(body_start) = root_content_start(document) else {
        return false;
    };
    let body = &document[body_start..];
    let mut devices = [DeviceRegion::default(); MAX_DEVICES];
    let found = device_regions(body, &mut devices);
    let devices = devices.get_mut(..found).unwrap_or_default();
    // Root first: devices close innermost first, but the root's announcement is the one that
    // names the product; embedded devices usually repeat or refine it.
    devices.sort_unstable_by_key(|d| d.own[0].0);
    let url_base = element(body, "URLBase", body.len());
    for device in devices.iter() {
        report_device(body, device, url_base, subject, at, out);
    }
    true
}

/// Where the content of the root element starts, if the first element of `document` is in the
/// UPnP device namespace.
fn root_content_start(document: &[u8]) -> Option<usize> {
    let mut pos = 0;
    let limit = document.len().min(PROLOG_LIMIT);
    // A UTF-8 byte order mark may precede the declaration.
    if document.starts_with(b"\xef\xbb\xbf") {
        pos = 3;
    }
    while pos < limit {
        let rest = document.get(pos..)?;
        let skip = rest.iter().position(|b| !b.is_ascii_whitespace())?;
        pos += skip;
        let rest = document.get(pos..)?;
        if !rest.starts_with(b"<") {
            return None;
        }
        if rest.starts_with(b"<?") {
            pos += find(rest, b"?>")? + 2;
        } else if rest.starts_with(b"<!--") {
            pos += find(rest, b"-->")? + 3;
        } else if rest.starts_with(b"<!") {
            pos += find(rest, b">")? + 1;
        } else {
            let tag_end = find(rest, b">")?;
            let tag = rest.get(..tag_end)?;
            if tag.ends_with(b"/") || !has_device_namespace(tag) {
                return None;
            }
            return Some(pos + tag_end + 1);
        }
    }
    None
}

/// Whether a root start tag (`<root xmlns="urn:schemas-upnp-org:device-1-0" ...`) declares the
/// UPnP device namespace as its default namespace or as the namespace of its prefix.
fn has_device_namespace(tag: &[u8]) -> bool {
    let name_end = tag
        .iter()
        .position(|b| b.is_ascii_whitespace())
        .unwrap_or(tag.len());
    let name = tag.get(1..name_end).unwrap_or_default();
    // `<root>` or `<prefix:root>`: the declaration to look for is `xmlns=` or `xmlns:prefix=`.
    let prefix = name
        .iter()
        .position(|&b| b == b':')
        .and_then(|colon| name.get(..colon));
    let mut attributes = tag.get(name_end..).unwrap_or_default();
    while let Some(at) = find(attributes, b"xmlns") {
        let after = attributes.get(at + 5..).unwrap_or_default();
        let (declared_prefix, after) = match after.split_first() {
            Some((b':', rest)) => {
                let end = rest
                    .iter()
                    .position(|&b| b == b'=' || b.is_ascii_whitespace())
                    .unwrap_or(rest.len());
                (rest.get(..end), rest.get(end..).unwrap_or_default())
            }
            _ => (None, after),
        };
        let value = attribute_value(after);
        if declared_prefix == prefix && value == Some(DEVICE_NAMESPACE) {
            return true;
        }
        attributes = after;
    }
    false
}

/// The quoted value after `= "..."` at the start of `input`.
fn attribute_value(input: &[u8]) -> Option<&[u8]> {
    let input = trim_start(input).strip_prefix(b"=")?;
    let input = trim_start(input);
    let (&quote, rest) = input.split_first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let end = rest.iter().position(|&b| b == quote)?;
    rest.get(..end)
}

fn trim_start(input: &[u8]) -> &[u8] {
    let start = input
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(input.len());
    input.get(start..).unwrap_or_default()
}

/// The part of the document that belongs to one `<device>` itself: from its start tag to its
/// `<deviceList>`, and from the end of that list to its end tag (`presentationURL` follows the
/// `deviceList` in the schema). Byte ranges into the root element's content.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct DeviceRegion {
    own: [(usize, usize); 2],
}

/// A `<device>` being scanned.
#[derive(Debug, Clone, Copy, Default)]
struct OpenDevice {
    start: usize,
    list_start: Option<usize>,
    list_end: Option<usize>,
}

/// Finds the `<device>` elements of `body` (at most `regions.len()`); returns how many.
fn device_regions(body: &[u8], regions: &mut [DeviceRegion]) -> usize {
    let mut stack = [OpenDevice::default(); MAX_DEPTH];
    let mut depth = 0usize;
    // `<device>` elements nested deeper than MAX_DEPTH are ignored, but their end tags must
    // still be matched to them, not to an enclosing device.
    let mut ignored = 0usize;
    let mut found = 0usize;
    let mut pos = 0usize;
    let mut close = |open: OpenDevice, end: usize, found: &mut usize| {
        let first_end = open.list_start.unwrap_or(end).min(end);
        let second = match open.list_end {
            Some(resume) if resume <= end => (resume, end),
            _ => (end, end),
        };
        if let Some(slot) = regions.get_mut(*found) {
            slot.own = [(open.start, first_end.max(open.start)), second];
            *found += 1;
        }
    };
    while let Some(lt) = body.get(pos..).and_then(|rest| find(rest, b"<")) {
        let tag_start = pos + lt;
        let rest = body.get(tag_start..).unwrap_or_default();
        if rest.starts_with(b"<!--") {
            match find(rest, b"-->") {
                Some(end) => {
                    pos = tag_start + end + 3;
                    continue;
                }
                None => break,
            }
        }
        let Some(gt) = find(rest, b">") else {
            break;
        };
        let tag_end = tag_start + gt + 1;
        let tag = rest.get(1..gt).unwrap_or_default();
        pos = tag_end;
        let (closing, tag) = match tag.strip_prefix(b"/") {
            Some(name) => (true, name),
            None => (false, tag),
        };
        let self_closing = tag.ends_with(b"/");
        let name_end = tag
            .iter()
            .position(|&b| b.is_ascii_whitespace() || b == b'/')
            .unwrap_or(tag.len());
        let name = tag.get(..name_end).unwrap_or_default();
        if name.eq_ignore_ascii_case(b"device") && !self_closing {
            if !closing {
                if depth < MAX_DEPTH && ignored == 0 {
                    if let Some(slot) = stack.get_mut(depth) {
                        *slot = OpenDevice {
                            start: tag_end,
                            list_start: None,
                            list_end: None,
                        };
                    }
                    depth += 1;
                } else {
                    ignored += 1;
                }
            } else if ignored > 0 {
                ignored -= 1;
            } else if depth > 0 {
                depth -= 1;
                if let Some(&open) = stack.get(depth) {
                    close(open, tag_start, &mut found);
                }
            }
        } else if name.eq_ignore_ascii_case(b"deviceList") && ignored == 0 && !self_closing {
            if let Some(top) = depth.checked_sub(1).and_then(|i| stack.get_mut(i)) {
                if closing {
                    if top.list_start.is_some() && top.list_end.is_none() {
                        top.list_end = Some(tag_end);
                    }
                } else if top.list_start.is_none() {
                    top.list_start = Some(tag_start);
                }
            }
        }
    }
    // A document cut short (a truncated capture) still describes the devices it opened.
    while depth > 0 {
        depth -= 1;
        if let Some(&open) = stack.get(depth) {
            close(open, body.len(), &mut found);
        }
    }
    found
}

/// Reports one device's facts.
fn report_device(
    body: &[u8],
    device: &DeviceRegion,
    url_base: Option<&[u8]>,
    subject: DeviceKey,
    at: Timestamp,
    out: &mut Observations,
) {
    let parts = device
        .own
        .map(|(start, end)| body.get(start..end).unwrap_or_default());
    let field = |tag: &str| {
        parts
            .iter()
            .find_map(|part| element(part, tag, part.len()))
            .filter(|value| !value.is_empty())
    };
    let mut buffer = [0u8; MAX_VALUE_LEN * 2 + 1];
    let mut report = |attribute: Attribute, raw: &[u8], out: &mut Observations| {
        let value = decode_entities(raw, &mut buffer);
        out.fact_bytes(subject, attribute, value, Source::Upnp, at);
    };
    for (tag, attribute) in [
        ("manufacturer", Attribute::Vendor),
        ("friendlyName", Attribute::Hostname),
        ("serialNumber", Attribute::Serial),
        ("deviceType", Attribute::Service),
        ("modelDescription", Attribute::Description),
        ("UDN", Attribute::ClientId),
    ] {
        if let Some(raw) = field(tag) {
            report(attribute, raw, out);
        }
    }
    match (field("modelName"), field("modelNumber")) {
        (Some(name), Some(number)) if find_ignore_case(name, number).is_none() => {
            let mut joined = [0u8; MAX_VALUE_LEN * 2 + 1];
            let len = join(&mut joined, &[name, b" ", number]);
            report(Attribute::Model, joined.get(..len).unwrap_or_default(), out);
        }
        (Some(name), _) => report(Attribute::Model, name, out),
        (None, Some(number)) => report(Attribute::Model, number, out),
        (None, None) => {}
    }
    if let Some(url) = field("presentationURL") {
        if find(url, b"://").is_some() {
            report(Attribute::Url, url, out);
        } else if let Some(base) = url_base.filter(|base| find(base, b"://").is_some()) {
            let base = base.strip_suffix(b"/").unwrap_or(base);
            let url = url.strip_prefix(b"/").unwrap_or(url);
            let mut joined = [0u8; MAX_VALUE_LEN * 2 + 1];
            let len = join(&mut joined, &[base, b"/", url]);
            report(Attribute::Url, joined.get(..len).unwrap_or_default(), out);
        }
    }
}

/// Copies `parts` one after the other into `buffer` (as much as fits); returns the length.
fn join(buffer: &mut [u8], parts: &[&[u8]]) -> usize {
    let mut len = 0;
    for part in parts {
        let room = buffer.len().saturating_sub(len);
        let take = part.len().min(room);
        if let (Some(dst), Some(src)) = (buffer.get_mut(len..len + take), part.get(..take)) {
            dst.copy_from_slice(src);
        }
        len += take;
    }
    len
}

/// `raw` with XML character references and the five predefined entities decoded into
/// `buffer` (as much as fits; decoding never lengthens the text), or `raw` itself when it has
/// none. Unknown or malformed references are kept as they are.
fn decode_entities<'a>(raw: &'a [u8], buffer: &'a mut [u8]) -> &'a [u8] {
    if !raw.contains(&b'&') {
        return raw;
    }
    let mut len = 0;
    let mut rest = raw;
    while let Some((&first, tail)) = rest.split_first() {
        let mut utf8 = [0u8; 4];
        let (bytes, consumed): (&[u8], usize) = if first == b'&' {
            match tail.iter().take(12).position(|&b| b == b';') {
                Some(semi) => {
                    let name = tail.get(..semi).unwrap_or_default();
                    match entity(name) {
                        Some(c) => (c.encode_utf8(&mut utf8).as_bytes(), semi + 2),
                        None => (&b"&"[..], 1),
                    }
                }
                None => (&b"&"[..], 1),
            }
        } else {
            (rest.get(..1).unwrap_or_default(), 1)
        };
        if len + bytes.len() > buffer.len() {
            break;
        }
        if let Some(dst) = buffer.get_mut(len..len + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
        len += bytes.len();
        rest = rest.get(consumed..).unwrap_or_default();
    }
    buffer.get(..len).unwrap_or_default()
}

/// The character an entity name (between `&` and `;`) stands for.
fn entity(name: &[u8]) -> Option<char> {
    match name {
        b"amp" => Some('&'),
        b"lt" => Some('<'),
        b"gt" => Some('>'),
        b"quot" => Some('"'),
        b"apos" => Some('\''),
        _ => {
            let digits = name.strip_prefix(b"#")?;
            let (radix, digits) = match digits.split_first() {
                Some((b'x' | b'X', hex)) => (16, hex),
                _ => (10, digits),
            };
            let text = std::str::from_utf8(trim(digits)).ok()?;
            char::from_u32(u32::from_str_radix(text, radix).ok()?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject() -> DeviceKey {
        DeviceKey::Ip("192.168.1.20".parse().unwrap())
    }

    fn describe(document: &[u8]) -> (bool, Vec<(Attribute, String)>) {
        let mut out = Observations::default();
        let is_upnp = description_facts(document, subject(), Timestamp(7), &mut out);
        let facts = out
            .drain_facts()
            .map(|f| {
                assert_eq!(f.source, Source::Upnp);
                assert_eq!(f.subject, subject());
                assert_eq!(f.seen_at, Timestamp(7));
                (f.attribute, f.value.into_owned())
            })
            .collect();
        (is_upnp, facts)
    }

    fn values(facts: &[(Attribute, String)], attribute: Attribute) -> Vec<&str> {
        facts
            .iter()
            .filter(|(a, _)| *a == attribute)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A Sonos Play:1 description as served at `http://<ip>:1400/xml/device_description.xml`,
    /// shortened (icons and most services left out), with its two embedded devices.
    const SONOS: &[u8] = br#"<?xml version="1.0" encoding="utf-8" ?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
  <specVersion><major>1</major><minor>0</minor></specVersion>
  <device>
    <deviceType>urn:schemas-upnp-org:device:ZonePlayer:1</deviceType>
    <friendlyName>192.168.1.20 - Sonos Play:1</friendlyName>
    <manufacturer>Sonos, Inc.</manufacturer>
    <manufacturerURL>http://www.sonos.com</manufacturerURL>
    <modelNumber>S1</modelNumber>
    <modelDescription>Sonos Play:1</modelDescription>
    <modelName>Sonos Play:1</modelName>
    <modelURL>http://www.sonos.com/products/zoneplayers/S1</modelURL>
    <softwareVersion>57.3-77280</softwareVersion>
    <serialNum>5C-AA-FD-12-34-56:8</serialNum>
    <serialNumber>5C-AA-FD-12-34-56:8</serialNumber>
    <UDN>uuid:RINCON_5CAAFD12345601400</UDN>
    <iconList>
      <icon><mimetype>image/png</mimetype><width>48</width><height>48</height><depth>24</depth><url>/img/icon-S1.png</url></icon>
    </iconList>
    <serviceList>
      <service>
        <serviceType>urn:schemas-upnp-org:service:AlarmClock:1</serviceType>
        <serviceId>urn:upnp-org:serviceId:AlarmClock</serviceId>
        <controlURL>/AlarmClock/Control</controlURL>
        <eventSubURL>/AlarmClock/Event</eventSubURL>
        <SCPDURL>/xml/AlarmClock1.xml</SCPDURL>
      </service>
    </serviceList>
    <deviceList>
      <device>
        <deviceType>urn:schemas-upnp-org:device:MediaServer:1</deviceType>
        <friendlyName>192.168.1.20 - Sonos Play:1 Media Server</friendlyName>
        <manufacturer>Sonos, Inc.</manufacturer>
        <modelNumber>S1</modelNumber>
        <modelDescription>Sonos Play:1 Media Server</modelDescription>
        <modelName>Sonos Play:1</modelName>
        <UDN>uuid:RINCON_5CAAFD12345601400_MS</UDN>
      </device>
      <device>
        <deviceType>urn:schemas-upnp-org:device:MediaRenderer:1</deviceType>
        <friendlyName>Living Room - Sonos Play:1 Media Renderer</friendlyName>
        <manufacturer>Sonos, Inc.</manufacturer>
        <modelNumber>S1</modelNumber>
        <modelDescription>Sonos Play:1 Media Renderer</modelDescription>
        <modelName>Sonos Play:1</modelName>
        <UDN>uuid:RINCON_5CAAFD12345601400_MR</UDN>
      </device>
    </deviceList>
  </device>
</root>
"#;

    #[test]
    fn sonos_root_and_embedded_devices() {
        let (is_upnp, facts) = describe(SONOS);
        assert!(is_upnp);
        assert_eq!(values(&facts, Attribute::Vendor), ["Sonos, Inc."]);
        assert_eq!(values(&facts, Attribute::Model), ["Sonos Play:1 S1"]);
        assert_eq!(values(&facts, Attribute::Serial), ["5C-AA-FD-12-34-56:8"]);
        assert_eq!(
            values(&facts, Attribute::Service),
            [
                "urn:schemas-upnp-org:device:ZonePlayer:1",
                "urn:schemas-upnp-org:device:MediaServer:1",
                "urn:schemas-upnp-org:device:MediaRenderer:1",
            ]
        );
        assert_eq!(
            values(&facts, Attribute::ClientId),
            [
                "uuid:RINCON_5CAAFD12345601400",
                "uuid:RINCON_5CAAFD12345601400_MS",
                "uuid:RINCON_5CAAFD12345601400_MR",
            ]
        );
        assert_eq!(
            values(&facts, Attribute::Hostname),
            [
                "192.168.1.20 - Sonos Play:1",
                "192.168.1.20 - Sonos Play:1 Media Server",
                "Living Room - Sonos Play:1 Media Renderer",
            ]
        );
        assert_eq!(
            values(&facts, Attribute::Description),
            [
                "Sonos Play:1",
                "Sonos Play:1 Media Server",
                "Sonos Play:1 Media Renderer",
            ]
        );
        // The root device's facts come first.
        assert_eq!(facts[0], (Attribute::Vendor, "Sonos, Inc.".to_owned()));
        assert!(values(&facts, Attribute::Url).is_empty());
    }

    /// A Philips Hue bridge (`http://<ip>/description.xml`): URLBase, a relative
    /// presentationURL, and the model number already part of the name in other bridges.
    const HUE: &[u8] = br#"<?xml version="1.0" encoding="UTF-8" ?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
<specVersion>
<major>1</major>
<minor>0</minor>
</specVersion>
<URLBase>http://192.168.1.30:80/</URLBase>
<device>
<deviceType>urn:schemas-upnp-org:device:Basic:1</deviceType>
<friendlyName>Philips hue (192.168.1.30)</friendlyName>
<manufacturer>Signify</manufacturer>
<manufacturerURL>http://www.philips-hue.com</manufacturerURL>
<modelDescription>Philips hue Personal Wireless Lighting</modelDescription>
<modelName>Philips hue bridge 2015</modelName>
<modelNumber>BSB002</modelNumber>
<modelURL>http://www.philips-hue.com</modelURL>
<serialNumber>001788fffe6a1b2c</serialNumber>
<UDN>uuid:2f402f80-da50-11e1-9b23-0017886a1b2c</UDN>
<presentationURL>index.html</presentationURL>
<iconList>
<icon>
<mimetype>image/png</mimetype>
<height>48</height>
<width>48</width>
<depth>24</depth>
<url>hue_logo_0.png</url>
</icon>
</iconList>
</device>
</root>
"#;

    #[test]
    fn philips_hue_bridge() {
        let (is_upnp, facts) = describe(HUE);
        assert!(is_upnp);
        assert_eq!(values(&facts, Attribute::Vendor), ["Signify"]);
        assert_eq!(
            values(&facts, Attribute::Model),
            ["Philips hue bridge 2015 BSB002"]
        );
        assert_eq!(values(&facts, Attribute::Serial), ["001788fffe6a1b2c"]);
        assert_eq!(
            values(&facts, Attribute::Hostname),
            ["Philips hue (192.168.1.30)"]
        );
        assert_eq!(
            values(&facts, Attribute::Url),
            ["http://192.168.1.30:80/index.html"]
        );
        assert_eq!(
            values(&facts, Attribute::Description),
            ["Philips hue Personal Wireless Lighting"]
        );
        assert_eq!(
            values(&facts, Attribute::Service),
            ["urn:schemas-upnp-org:device:Basic:1"]
        );
    }

    /// A Samsung TV's MediaRenderer description, with a `dlna` prefix declared on the root, a
    /// `sec:` vendor extension, entities, and the presentationURL after... nothing: absent.
    const SAMSUNG: &[u8] = b"\xef\xbb\xbf<?xml version=\"1.0\"?>\r\n\
<!-- Samsung DMR -->\r\n\
<root xmlns='urn:schemas-upnp-org:device-1-0' xmlns:sec='http://www.sec.co.kr/dlna' xmlns:dlna='urn:schemas-dlna-org:device-1-0'>\r\n\
 <specVersion><major>1</major><minor>0</minor></specVersion>\r\n\
 <device>\r\n\
  <deviceType>urn:schemas-upnp-org:device:MediaRenderer:1</deviceType>\r\n\
  <pnpx:X_compatibleId>MS_DigitalMediaDeviceClass_DMR_V001</pnpx:X_compatibleId>\r\n\
  <dlna:X_DLNADOC>DMR-1.50</dlna:X_DLNADOC>\r\n\
  <friendlyName>[TV] Samsung Q70 Series (55) &amp; soundbar</friendlyName>\r\n\
  <manufacturer>Samsung Electronics</manufacturer>\r\n\
  <manufacturerURL>http://www.samsung.com/sec</manufacturerURL>\r\n\
  <modelDescription>Samsung TV DMR</modelDescription>\r\n\
  <modelName>QE55Q70RA</modelName>\r\n\
  <modelNumber>AllShare1.0</modelNumber>\r\n\
  <modelURL>http://www.samsung.com/sec</modelURL>\r\n\
  <serialNumber>20090804RCR&#x41;</serialNumber>\r\n\
  <UDN>uuid:0a4c1b0e-00ea-1000-8d42-f8e61a5e72c1</UDN>\r\n\
  <sec:deviceID>P0C3UBWIXXXXX</sec:deviceID>\r\n\
  <serviceList/>\r\n\
 </device>\r\n\
</root>";

    #[test]
    fn samsung_tv_with_prolog_and_entities() {
        let (is_upnp, facts) = describe(SAMSUNG);
        assert!(is_upnp);
        assert_eq!(values(&facts, Attribute::Vendor), ["Samsung Electronics"]);
        assert_eq!(values(&facts, Attribute::Model), ["QE55Q70RA AllShare1.0"]);
        assert_eq!(
            values(&facts, Attribute::Hostname),
            ["[TV] Samsung Q70 Series (55) & soundbar"]
        );
        assert_eq!(values(&facts, Attribute::Serial), ["20090804RCRA"]);
        assert_eq!(
            values(&facts, Attribute::ClientId),
            ["uuid:0a4c1b0e-00ea-1000-8d42-f8e61a5e72c1"]
        );
    }

    #[test]
    fn presentation_url_after_the_device_list_belongs_to_the_root() {
        let document = br#"<root xmlns="urn:schemas-upnp-org:device-1-0"><device>
<deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
<manufacturer>AVM Berlin</manufacturer><modelName>FRITZ!Box 7590</modelName>
<modelNumber>7590</modelNumber>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
<modelName>FRITZ!Box 7590 WAN</modelName><presentationURL>http://wan/</presentationURL></device></deviceList>
<presentationURL>http://fritz.box</presentationURL></device></root>"#;
        let (is_upnp, facts) = describe(document);
        assert!(is_upnp);
        // The number is already in the name: not repeated.
        assert_eq!(
            values(&facts, Attribute::Model),
            ["FRITZ!Box 7590", "FRITZ!Box 7590 WAN"]
        );
        assert_eq!(
            values(&facts, Attribute::Url),
            ["http://fritz.box", "http://wan/"]
        );
        assert_eq!(values(&facts, Attribute::Vendor), ["AVM Berlin"]);
    }

    #[test]
    fn other_documents_are_not_descriptions() {
        for document in [
            &b"<html><head><title>Router</title></head></html>"[..],
            b"<?xml version=\"1.0\"?><scpd xmlns=\"urn:schemas-upnp-org:service-1-0\"></scpd>",
            b"<root xmlns:x=\"urn:schemas-upnp-org:device-1-0\"><device><manufacturer>A</manufacturer></device></root>",
            b"<root xmlns=\"urn:schemas-upnp-org:device-1-0\"/>",
            b"",
            b"   ",
            b"<?xml never closed",
            b"HTTP/1.1 200 OK\r\n\r\n<root xmlns=\"urn:schemas-upnp-org:device-1-0\">",
        ] {
            let (is_upnp, facts) = describe(document);
            assert!(!is_upnp, "{}", String::from_utf8_lossy(document));
            assert!(facts.is_empty());
        }
        // A prefixed root declaring its own prefix is a description.
        let prefixed =
            b"<u:root xmlns:u=\"urn:schemas-upnp-org:device-1-0\"><u:device></u:device></u:root>";
        assert!(describe(prefixed).0);
    }

    #[test]
    fn truncated_and_hostile_documents_are_bounded() {
        // Cut in the middle of the embedded device list: what was read is reported.
        let cut = SONOS.get(..SONOS.len() / 2).unwrap();
        let (is_upnp, facts) = describe(cut);
        assert!(is_upnp);
        assert_eq!(values(&facts, Attribute::Vendor), ["Sonos, Inc."]);
        // Deep nesting and many devices: bounded, no recursion, no panic.
        let mut deep = b"<root xmlns=\"urn:schemas-upnp-org:device-1-0\">".to_vec();
        for i in 0..200 {
            deep.extend_from_slice(format!("<device><deviceList><UDN>uuid:{i}</UDN>").as_bytes());
        }
        for _ in 0..200 {
            deep.extend_from_slice(b"</deviceList></device>");
        }
        for i in 0..100 {
            deep.extend_from_slice(format!("<device><UDN>uuid:x{i}</UDN></device>").as_bytes());
        }
        let (is_upnp, facts) = describe(&deep);
        assert!(is_upnp);
        assert!(values(&facts, Attribute::ClientId).len() <= MAX_DEVICES);
        // Stray end tags and unterminated tags.
        let stray = b"<root xmlns=\"urn:schemas-upnp-org:device-1-0\"></device></deviceList><deviceList></deviceList><device><manufacturer>X</manufacturer><device";
        let (is_upnp, facts) = describe(stray);
        assert!(is_upnp);
        assert_eq!(values(&facts, Attribute::Vendor), ["X"]);
    }

    #[test]
    fn entities_are_decoded_without_growing() {
        let mut buffer = [0u8; 16];
        assert_eq!(decode_entities(b"plain", &mut buffer), b"plain");
        assert_eq!(
            decode_entities(b"a&amp;b&lt;&#65;&#x42;", &mut buffer),
            b"a&b<AB"
        );
        assert_eq!(decode_entities(b"&bogus; &", &mut buffer), b"&bogus; &");
        assert_eq!(
            decode_entities(b"&#xffffffff;&#;", &mut buffer),
            b"&#xffffffff;&#;"
        );
        let mut small = [0u8; 3];
        assert_eq!(decode_entities(b"&amp;&amp;&amp;&amp;", &mut small), b"&&&");
        let mut tiny = [0u8; 1];
        assert_eq!(decode_entities(b"&#xe9;", &mut tiny), b"");
    }
}
