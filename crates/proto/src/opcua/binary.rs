//! OPC UA binary encoding (IEC 62541-6 clause 5.2), read zero-copy and bounded: integers,
//! strings, byte strings, NodeIds, ExpandedNodeIds, LocalizedText, ExtensionObjects,
//! DiagnosticInfo, Variants and DataValues. Nested structures (DiagnosticInfo, Variant,
//! DataValue) are limited to [`MAX_DEPTH`]; arrays to [`MAX_ARRAY`] elements, and every
//! element consumes at least one byte, so the work per message is bounded by its length.

use std::fmt::Write as _;

use super::OpcuaError;
use crate::value::ValueBuf;

/// Deepest nesting of DiagnosticInfo / Variant / DataValue read.
pub const MAX_DEPTH: usize = 8;

/// Most elements of one array read.
pub const MAX_ARRAY: usize = 4096;

/// A NodeId.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeId<'a> {
    /// Numeric identifier.
    Numeric {
        /// Namespace index.
        ns: u16,
        /// Identifier.
        id: u32,
    },
    /// String identifier.
    String {
        /// Namespace index.
        ns: u16,
        /// Identifier (UTF-8).
        id: &'a [u8],
    },
    /// GUID identifier.
    Guid {
        /// Namespace index.
        ns: u16,
        /// The GUID's 16 bytes as encoded.
        id: [u8; 16],
    },
    /// Opaque (ByteString) identifier.
    Opaque {
        /// Namespace index.
        ns: u16,
        /// Identifier bytes.
        id: &'a [u8],
    },
}

impl NodeId<'_> {
    /// The numeric identifier in namespace 0 (how service and type ids are written).
    pub fn ns0(&self) -> Option<u32> {
        match *self {
            Self::Numeric { ns: 0, id } => Some(id),
            _ => None,
        }
    }

    /// Appends the standard text form (`i=631`, `ns=1;s=the.answer`, `ns=2;g=…`, `ns=3;b=…`).
    pub fn push_to<const N: usize>(&self, out: &mut ValueBuf<N>) {
        let ns = match *self {
            Self::Numeric { ns, .. }
            | Self::String { ns, .. }
            | Self::Guid { ns, .. }
            | Self::Opaque { ns, .. } => ns,
        };
        if ns != 0 {
            let _ = write!(out, "ns={ns};");
        }
        match self {
            Self::Numeric { id, .. } => {
                let _ = write!(out, "i={id}");
            }
            Self::String { id, .. } => {
                out.push_bytes(b"s=");
                out.push_bytes(&id[..id.len().min(48)]);
            }
            Self::Guid { id, .. } => {
                out.push_bytes(b"g=");
                out.push_hex(id);
            }
            Self::Opaque { id, .. } => {
                out.push_bytes(b"b=");
                out.push_hex(&id[..id.len().min(16)]);
            }
        }
    }
}

/// A reading position in a message body.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, at: 0 }
    }

    /// Bytes read so far.
    pub fn position(&self) -> usize {
        self.at
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.at)
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], OpcuaError> {
        let bytes = self
            .at
            .checked_add(n)
            .and_then(|end| self.data.get(self.at..end))
            .ok_or(OpcuaError::Truncated {
                field,
                offset: self.at,
            })?;
        self.at += n;
        Ok(bytes)
    }

    /// A byte.
    pub fn u8(&mut self, field: &'static str) -> Result<u8, OpcuaError> {
        Ok(self.take(1, field)?[0])
    }

    /// A little-endian u16.
    pub fn u16(&mut self, field: &'static str) -> Result<u16, OpcuaError> {
        let b = self.take(2, field)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    /// A little-endian u32.
    pub fn u32(&mut self, field: &'static str) -> Result<u32, OpcuaError> {
        let b = self.take(4, field)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A little-endian i32.
    pub fn i32(&mut self, field: &'static str) -> Result<i32, OpcuaError> {
        Ok(self.u32(field)? as i32)
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize, field: &'static str) -> Result<(), OpcuaError> {
        self.take(n, field).map(|_| ())
    }

    /// A String or ByteString (`None` when null).
    pub fn string(&mut self, field: &'static str) -> Result<Option<&'a [u8]>, OpcuaError> {
        let offset = self.at;
        let len = self.i32(field)?;
        if len < 0 {
            return Ok(None);
        }
        let len = len as usize;
        if len > self.remaining() {
            return Err(OpcuaError::Truncated { field, offset });
        }
        self.take(len, field).map(Some)
    }

    /// An array length (`0` for a null array), checked against [`MAX_ARRAY`] and the bytes
    /// left (each element needs at least `min_size` bytes).
    pub fn array_len(&mut self, field: &'static str, min_size: usize) -> Result<usize, OpcuaError> {
        let offset = self.at;
        let len = self.i32(field)?;
        if len <= 0 {
            return Ok(0);
        }
        let len = len as usize;
        if len > MAX_ARRAY || len.saturating_mul(min_size.max(1)) > self.remaining() {
            return Err(OpcuaError::TooLong { field, offset });
        }
        Ok(len)
    }

    /// A NodeId.
    pub fn node_id(&mut self, field: &'static str) -> Result<NodeId<'a>, OpcuaError> {
        let offset = self.at;
        let mask = self.u8(field)?;
        self.node_id_body(mask & 0x3f, field, offset)
    }

    fn node_id_body(
        &mut self,
        encoding: u8,
        field: &'static str,
        offset: usize,
    ) -> Result<NodeId<'a>, OpcuaError> {
        Ok(match encoding {
            0 => NodeId::Numeric {
                ns: 0,
                id: u32::from(self.u8(field)?),
            },
            1 => {
                let ns = u16::from(self.u8(field)?);
                NodeId::Numeric {
                    ns,
                    id: u32::from(self.u16(field)?),
                }
            }
            2 => {
                let ns = self.u16(field)?;
                NodeId::Numeric {
                    ns,
                    id: self.u32(field)?,
                }
            }
            3 => {
                let ns = self.u16(field)?;
                NodeId::String {
                    ns,
                    id: self.string(field)?.unwrap_or_default(),
                }
            }
            4 => {
                let ns = self.u16(field)?;
                let mut id = [0u8; 16];
                id.copy_from_slice(self.take(16, field)?);
                NodeId::Guid { ns, id }
            }
            5 => {
                let ns = self.u16(field)?;
                NodeId::Opaque {
                    ns,
                    id: self.string(field)?.unwrap_or_default(),
                }
            }
            _ => return Err(OpcuaError::Invalid { field, offset }),
        })
    }

    /// An ExpandedNodeId (its namespace URI and server index are read past).
    pub fn expanded_node_id(&mut self, field: &'static str) -> Result<NodeId<'a>, OpcuaError> {
        let offset = self.at;
        let mask = self.u8(field)?;
        let id = self.node_id_body(mask & 0x3f, field, offset)?;
        if mask & 0x80 != 0 {
            self.string(field)?;
        }
        if mask & 0x40 != 0 {
            self.u32(field)?;
        }
        Ok(id)
    }

    /// A LocalizedText's text (the locale is read past).
    pub fn localized_text(&mut self, field: &'static str) -> Result<Option<&'a [u8]>, OpcuaError> {
        let mask = self.u8(field)?;
        if mask & 0x01 != 0 {
            self.string(field)?;
        }
        if mask & 0x02 != 0 {
            return self.string(field);
        }
        Ok(None)
    }

    /// A QualifiedName's name.
    pub fn qualified_name(&mut self, field: &'static str) -> Result<Option<&'a [u8]>, OpcuaError> {
        self.u16(field)?;
        self.string(field)
    }

    /// An ExtensionObject: its type id and encoded body (`None` without a body).
    pub fn extension_object(
        &mut self,
        field: &'static str,
    ) -> Result<(NodeId<'a>, Option<&'a [u8]>), OpcuaError> {
        let offset = self.at;
        let type_id = self.node_id(field)?;
        let body = match self.u8(field)? {
            0 => None,
            1 | 2 => self.string(field)?,
            _ => return Err(OpcuaError::Invalid { field, offset }),
        };
        Ok((type_id, body))
    }

    /// Reads past a DiagnosticInfo.
    pub fn skip_diagnostic_info(&mut self, depth: usize) -> Result<(), OpcuaError> {
        let field = "diagnostic info";
        if depth > MAX_DEPTH {
            return Err(OpcuaError::TooDeep { offset: self.at });
        }
        let mask = self.u8(field)?;
        for bit in [0x01, 0x02, 0x04, 0x08] {
            if mask & bit != 0 {
                self.skip(4, field)?;
            }
        }
        if mask & 0x10 != 0 {
            self.string(field)?;
        }
        if mask & 0x20 != 0 {
            self.skip(4, field)?;
        }
        if mask & 0x40 != 0 {
            self.skip_diagnostic_info(depth + 1)?;
        }
        Ok(())
    }

    /// A Variant; appends a short rendering of its (first) value to `out` when given.
    pub fn variant<const N: usize>(
        &mut self,
        depth: usize,
        mut out: Option<&mut ValueBuf<N>>,
    ) -> Result<(), OpcuaError> {
        let field = "variant";
        if depth > MAX_DEPTH {
            return Err(OpcuaError::TooDeep { offset: self.at });
        }
        let mask = self.u8(field)?;
        let ty = mask & 0x3f;
        if mask & 0x80 != 0 {
            let n = self.array_len(field, 1)?;
            if let Some(out) = out.as_deref_mut() {
                let _ = write!(out, "[{n}] ");
            }
            for i in 0..n {
                let shown = if i == 0 { out.as_deref_mut() } else { None };
                self.scalar(ty, depth, shown)?;
            }
            if mask & 0x40 != 0 {
                let dims = self.array_len(field, 4)?;
                self.skip(dims * 4, field)?;
            }
            Ok(())
        } else {
            self.scalar(ty, depth, out)
        }
    }

    fn scalar<const N: usize>(
        &mut self,
        ty: u8,
        depth: usize,
        out: Option<&mut ValueBuf<N>>,
    ) -> Result<(), OpcuaError> {
        let field = "variant value";
        let offset = self.at;
        let mut shown = ValueBuf::<64>::new();
        match ty {
            0 => {
                shown.push_bytes(b"null");
            }
            1 => {
                let _ = write!(shown, "{}", self.u8(field)? != 0);
            }
            2 => {
                let _ = write!(shown, "{}", self.u8(field)? as i8);
            }
            3 => {
                let _ = write!(shown, "{}", self.u8(field)?);
            }
            4 => {
                let _ = write!(shown, "{}", self.u16(field)? as i16);
            }
            5 => {
                let _ = write!(shown, "{}", self.u16(field)?);
            }
            6 => {
                let _ = write!(shown, "{}", self.i32(field)?);
            }
            7 | 19 => {
                let _ = write!(shown, "{}", self.u32(field)?);
            }
            8 | 9 | 13 => {
                let b = self.take(8, field)?;
                let mut raw = [0u8; 8];
                raw.copy_from_slice(b);
                let _ = match ty {
                    8 => write!(shown, "{}", i64::from_le_bytes(raw)),
                    9 => write!(shown, "{}", u64::from_le_bytes(raw)),
                    _ => write!(shown, "datetime"),
                };
            }
            10 => {
                let b = self.take(4, field)?;
                let _ = write!(shown, "{}", f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            }
            11 => {
                let b = self.take(8, field)?;
                let mut raw = [0u8; 8];
                raw.copy_from_slice(b);
                let _ = write!(shown, "{}", f64::from_le_bytes(raw));
            }
            12 => {
                let text = self.string(field)?.unwrap_or_default();
                shown.push_bytes(b"\"");
                shown.push_bytes(&text[..text.len().min(32)]);
                shown.push_bytes(b"\"");
            }
            14 => {
                self.skip(16, field)?;
                shown.push_bytes(b"guid");
            }
            15 | 16 => {
                let len = self.string(field)?.map_or(0, <[u8]>::len);
                let _ = write!(shown, "{len} bytes");
            }
            17 => self.node_id(field)?.push_to(&mut shown),
            18 => self.expanded_node_id(field)?.push_to(&mut shown),
            20 => {
                let name = self.qualified_name(field)?.unwrap_or_default();
                shown.push_bytes(&name[..name.len().min(32)]);
            }
            21 => {
                let text = self.localized_text(field)?.unwrap_or_default();
                shown.push_bytes(&text[..text.len().min(32)]);
            }
            22 => {
                let (type_id, _) = self.extension_object(field)?;
                shown.push_bytes(b"object ");
                type_id.push_to(&mut shown);
            }
            23 => self.data_value(depth + 1, Some(&mut shown))?,
            24 => self.variant(depth + 1, Some(&mut shown))?,
            25 => {
                self.skip_diagnostic_info(depth + 1)?;
                shown.push_bytes(b"diagnostics");
            }
            _ => return Err(OpcuaError::Invalid { field, offset }),
        }
        if let Some(out) = out {
            out.push_bytes(shown.as_bytes());
        }
        Ok(())
    }

    /// A DataValue; its value is rendered into `out` when given.
    pub fn data_value<const N: usize>(
        &mut self,
        depth: usize,
        out: Option<&mut ValueBuf<N>>,
    ) -> Result<(), OpcuaError> {
        let field = "data value";
        if depth > MAX_DEPTH {
            return Err(OpcuaError::TooDeep { offset: self.at });
        }
        let mask = self.u8(field)?;
        if mask & 0x01 != 0 {
            self.variant(depth + 1, out)?;
        }
        if mask & 0x02 != 0 {
            self.skip(4, field)?;
        }
        if mask & 0x04 != 0 {
            self.skip(8, field)?;
        }
        if mask & 0x10 != 0 {
            self.skip(2, field)?;
        }
        if mask & 0x08 != 0 {
            self.skip(8, field)?;
        }
        if mask & 0x20 != 0 {
            self.skip(2, field)?;
        }
        Ok(())
    }

    /// Reads past a RequestHeader.
    pub fn request_header(&mut self) -> Result<(), OpcuaError> {
        let field = "request header";
        self.node_id(field)?;
        self.skip(8 + 4 + 4, field)?;
        self.string(field)?;
        self.skip(4, field)?;
        self.extension_object(field)?;
        Ok(())
    }

    /// Reads a ResponseHeader; returns its ServiceResult.
    pub fn response_header(&mut self) -> Result<u32, OpcuaError> {
        let field = "response header";
        self.skip(8 + 4, field)?;
        let result = self.u32(field)?;
        self.skip_diagnostic_info(0)?;
        let n = self.array_len(field, 4)?;
        for _ in 0..n {
            self.string(field)?;
        }
        self.extension_object(field)?;
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_of_every_encoding() {
        let data = [
            0x00, 0x55, // i=85
            0x01, 0x00, 0x77, 0x02, // i=631
            0x02, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, // ns=2;i=1
            0x03, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, b'a', b'b', // ns=1;s=ab
            0x05, 0x01, 0x00, 0xff, 0xff, 0xff, 0xff, // ns=1;b= (null)
        ];
        let mut c = Cursor::new(&data);
        let mut text = ValueBuf::<128>::new();
        for _ in 0..5 {
            c.node_id("n").unwrap().push_to(&mut text);
            text.push_bytes(b" ");
        }
        assert_eq!(text.as_str(), "i=85 i=631 ns=2;i=1 ns=1;s=ab ns=1;b= ");
        assert!(Cursor::new(&[0x06]).node_id("n").is_err());
        assert!(Cursor::new(&[0x04, 0, 0, 1]).node_id("n").is_err());
    }

    #[test]
    fn variants_and_bounds() {
        let mut out = ValueBuf::<64>::new();
        Cursor::new(&[0x06, 1, 0, 0, 0])
            .variant(0, Some(&mut out))
            .unwrap();
        assert_eq!(out.as_str(), "1");
        out.clear();
        Cursor::new(&[
            0x8b, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0,
        ])
        .variant(0, Some(&mut out))
        .unwrap();
        assert_eq!(out.as_str(), "[2] 1.5");
        // A huge array length is refused before any element is read.
        assert!(matches!(
            Cursor::new(&[0x86, 0xff, 0xff, 0xff, 0x7f]).variant::<8>(0, None),
            Err(OpcuaError::TooLong { .. })
        ));
        // Nested variants stop at the depth limit.
        let deep = [0x18u8; 64];
        assert!(matches!(
            Cursor::new(&deep).variant::<8>(0, None),
            Err(OpcuaError::TooDeep { .. })
        ));
        let deep = [0x40u8; 64];
        assert!(matches!(
            Cursor::new(&deep).skip_diagnostic_info(0),
            Err(OpcuaError::TooDeep { .. })
        ));
        // A string longer than the input.
        assert!(Cursor::new(&[5, 0, 0, 0, b'a']).string("s").is_err());
        assert_eq!(
            Cursor::new(&[0xff, 0xff, 0xff, 0xff]).string("s").unwrap(),
            None
        );
    }
}
