//! The OSI upper layers MMS rides on above COTP: the ISO 8327 session SPDU (type, parameters
//! skipped by length, the session user data), the ISO 8823 presentation PPDU (CP / CPA with
//! their presentation contexts, fully-encoded user data with its presentation-context id) and
//! the ACSE APDU (AARQ / AARE / RLRQ / RLRE / ABRT with application context name, AP titles,
//! AE qualifiers, authentication mechanism and the user information that carries the MMS
//! initiate PDU). Everything is a view over the TSDU; BER nesting is bounded by
//! [`MAX_ISO_DEPTH`] and every list walk by a named constant.

use crate::ber::{self, BerError, Element, Oid, Reader};

use super::MmsError;

/// Deepest BER nesting read in the presentation and ACSE layers (a CP PPDU holds the AARQ
/// seven levels down; the MMS PDU inside is read with its own reader).
pub const MAX_ISO_DEPTH: usize = 12;

/// Most session parameters (PI / PGI units) walked in one SPDU.
pub const MAX_SESSION_PARAMETERS: usize = 32;

/// Most SPDUs concatenated in one TSDU (GIVE TOKENS + DATA TRANSFER is the usual pair).
pub const MAX_SPDUS: usize = 4;

/// Most presentation contexts read from a CP's definition list.
pub const MAX_CONTEXTS: usize = 8;

/// ACSE abstract syntax `2.2.1.0.1`, encoded.
pub const ACSE_SYNTAX: &[u8] = &[0x52, 0x01, 0x00, 0x01];
/// MMS abstract syntax `1.0.9506.2.1`, encoded.
pub const MMS_SYNTAX: &[u8] = &[0x28, 0xca, 0x22, 0x02, 0x01];
/// MMS application context `1.0.9506.2.3`, encoded.
pub const MMS_CONTEXT: &[u8] = &[0x28, 0xca, 0x22, 0x02, 0x03];

/// Session SPDU identifiers (SI).
pub mod si {
    /// GIVE TOKENS (category 0) and DATA TRANSFER share the code.
    pub const DATA: u8 = 0x01;
    /// CONNECT.
    pub const CONNECT: u8 = 0x0d;
    /// ACCEPT.
    pub const ACCEPT: u8 = 0x0e;
    /// REFUSE.
    pub const REFUSE: u8 = 0x0c;
    /// FINISH.
    pub const FINISH: u8 = 0x09;
    /// DISCONNECT.
    pub const DISCONNECT: u8 = 0x0a;
    /// NOT FINISHED.
    pub const NOT_FINISHED: u8 = 0x08;
    /// ABORT.
    pub const ABORT: u8 = 0x19;
    /// ABORT ACCEPT.
    pub const ABORT_ACCEPT: u8 = 0x1a;
}

/// Session user data parameter (PI 193) and extended user data (PI 194).
const PI_USER_DATA: u8 = 0xc1;
const PI_EXTENDED_USER_DATA: u8 = 0xc2;

/// One session SPDU (the last of a concatenation) and what it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spdu<'a> {
    /// The SPDU identifier of the last SPDU ([`si`]).
    pub si: u8,
    /// The presentation PPDU it carries (empty when none).
    pub user_data: &'a [u8],
}

/// Whether `si` is an SPDU type MMS stacks send.
fn known_si(si: u8) -> bool {
    matches!(
        si,
        si::DATA
            | si::CONNECT
            | si::ACCEPT
            | si::REFUSE
            | si::FINISH
            | si::DISCONNECT
            | si::NOT_FINISHED
            | si::ABORT
            | si::ABORT_ACCEPT
    )
}

/// Reads a session length indicator: one byte, or 0xff and two more.
fn session_length(bytes: &[u8], offset: usize) -> Result<(usize, usize), MmsError> {
    match bytes {
        [0xff, hi, lo, ..] => Ok((usize::from(u16::from_be_bytes([*hi, *lo])), 3)),
        [0xff, ..] | [] => Err(MmsError::Truncated {
            field: "session length",
            offset,
        }),
        [len, ..] => Ok((usize::from(*len), 1)),
    }
}

/// Parses the SPDUs of a TSDU. A DATA TRANSFER's user information follows its header; the
/// other SPDUs carry it in their user-data parameter.
pub fn parse_spdu(tsdu: &[u8]) -> Result<Spdu<'_>, MmsError> {
    let mut rest = tsdu;
    let mut offset = 0;
    for _ in 0..MAX_SPDUS {
        let (&si, after_si) = rest.split_first().ok_or(MmsError::Truncated {
            field: "session SPDU",
            offset,
        })?;
        if !known_si(si) {
            return Err(MmsError::Unexpected {
                field: "session SPDU type",
                value: u32::from(si),
                offset,
            });
        }
        let (len, len_size) = session_length(after_si, offset + 1)?;
        let params = after_si
            .get(len_size..len_size + len)
            .ok_or(MmsError::Truncated {
                field: "session parameters",
                offset: offset + 1,
            })?;
        let after = after_si.get(len_size + len..).unwrap_or_default();
        if si == si::DATA {
            // GIVE TOKENS (category 0) then DATA TRANSFER; the user information is what
            // follows the last SPDU header.
            if after.first() == Some(&si::DATA) {
                rest = after;
                offset = tsdu.len() - rest.len();
                continue;
            }
            return Ok(Spdu {
                si,
                user_data: after,
            });
        }
        let user_data = session_user_data(params, offset + 1 + len_size)?;
        return Ok(Spdu { si, user_data });
    }
    Err(MmsError::Unexpected {
        field: "session SPDU count",
        value: MAX_SPDUS as u32,
        offset,
    })
}

/// Finds the user-data parameter among a SPDU's parameters (PGI units are skipped whole).
fn session_user_data(mut params: &[u8], mut offset: usize) -> Result<&[u8], MmsError> {
    for _ in 0..MAX_SESSION_PARAMETERS {
        let Some((&code, tail)) = params.split_first() else {
            return Ok(&[]);
        };
        let (len, len_size) = session_length(tail, offset + 1)?;
        let value = tail
            .get(len_size..len_size + len)
            .ok_or(MmsError::Truncated {
                field: "session parameter",
                offset,
            })?;
        if code == PI_USER_DATA || code == PI_EXTENDED_USER_DATA {
            return Ok(value);
        }
        params = tail.get(len_size + len..).unwrap_or_default();
        offset += 1 + len_size + len;
    }
    Ok(&[])
}

/// An abstract syntax a presentation context was defined for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// ACSE (`2.2.1.0.1`).
    Acse,
    /// MMS (`1.0.9506.2.1`).
    Mms,
    /// Anything else.
    Other,
}

/// A presentation data value: the context it belongs to and its single-ASN1-type encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pdv<'a> {
    /// The presentation-context identifier.
    pub context: Option<i64>,
    /// The encoded APDU (ACSE or MMS), with its offset in the TSDU.
    pub data: &'a [u8],
    /// Offset of `data` in the TSDU.
    pub offset: usize,
}

/// A presentation PPDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ppdu<'a> {
    /// CP (connect) with its context definitions and first user data value.
    Connect {
        /// (id, syntax) of each defined context, up to [`MAX_CONTEXTS`].
        contexts: [(i64, Syntax); MAX_CONTEXTS],
        /// How many of `contexts` are set.
        count: usize,
        /// The user data value (the AARQ).
        user: Option<Pdv<'a>>,
    },
    /// CPA (accept) or CPR (refuse), with the first user data value (the AARE).
    Accept {
        /// The user data value.
        user: Option<Pdv<'a>>,
    },
    /// User data of an established connection (TD, or the data of a release / abort).
    Data(Pdv<'a>),
}

/// The first PDV of fully-encoded user data (`[APPLICATION 1]` contents).
fn first_pdv(user_data: Element<'_>) -> Result<Option<Pdv<'_>>, MmsError> {
    let mut list = user_data.contents("fully-encoded-data")?;
    if list.is_empty() {
        return Ok(None);
    }
    let mut pdv = list.enter(ber::SEQUENCE, "PDV-list")?;
    let mut context = None;
    while !pdv.is_empty() {
        let element = pdv.read("PDV-list element")?;
        match (element.class(), element.number) {
            // transfer-syntax-name: skipped.
            (ber::UNIVERSAL, 6) => {}
            (ber::UNIVERSAL, 2) => context = Some(element.integer("presentation-context-id")?),
            // single-ASN1-type [0], octet-aligned [1]: both hold the encoded APDU.
            (ber::CONTEXT, 0 | 1) => {
                return Ok(Some(Pdv {
                    context,
                    data: element.value,
                    offset: element.value_offset,
                }))
            }
            _ => {}
        }
    }
    Ok(None)
}

/// Parses a presentation PPDU (the session user data).
pub fn parse_ppdu(bytes: &[u8], base: usize) -> Result<Ppdu<'_>, MmsError> {
    let mut reader = Reader::extended(bytes, base, MAX_ISO_DEPTH);
    let ppdu = reader.read("PPDU")?;
    match (ppdu.tag, ppdu.class()) {
        // fully-encoded-data of a TD PPDU (or of ARU / release user data).
        (0x61, _) => first_pdv(ppdu)?.map(Ppdu::Data).ok_or(MmsError::Truncated {
            field: "PDV-list",
            offset: ppdu.offset,
        }),
        (ber::SET | ber::SEQUENCE, _) => {
            let connect = ppdu.tag == ber::SET;
            let mut set = ppdu.contents("CP-type")?;
            let mut mode_seen = false;
            let mut contexts = [(0i64, Syntax::Other); MAX_CONTEXTS];
            let mut count = 0;
            let mut user = None;
            while !set.is_empty() {
                let element = set.read("CP-type element")?;
                if element.is_context(0) {
                    mode_seen = true;
                } else if element.is_context(2) {
                    let mut params = element.contents("normal-mode-parameters")?;
                    while !params.is_empty() {
                        let param = params.read("normal-mode parameter")?;
                        if param.tag == 0x61 {
                            user = first_pdv(param)?;
                        } else if param.is_context(4) && param.is_constructed() {
                            let mut list = param.contents("context-definition-list")?;
                            while !list.is_empty() && count < MAX_CONTEXTS {
                                let mut item = list.enter(ber::SEQUENCE, "context definition")?;
                                let id = item.integer("presentation-context-id")?;
                                let syntax = item.oid("abstract-syntax-name")?;
                                let syntax = match syntax.as_bytes() {
                                    ACSE_SYNTAX => Syntax::Acse,
                                    MMS_SYNTAX => Syntax::Mms,
                                    _ => Syntax::Other,
                                };
                                contexts[count] = (id, syntax);
                                count += 1;
                            }
                        }
                    }
                }
            }
            if !mode_seen {
                return Err(MmsError::Unexpected {
                    field: "mode-selector",
                    value: 0,
                    offset: ppdu.offset,
                });
            }
            Ok(if connect {
                Ppdu::Connect {
                    contexts,
                    count,
                    user,
                }
            } else {
                Ppdu::Accept { user }
            })
        }
        _ => Err(MmsError::Unexpected {
            field: "PPDU tag",
            value: u32::from(ppdu.tag),
            offset: ppdu.offset,
        }),
    }
}

/// An AP title (form 2 is an OBJECT IDENTIFIER, form 1 a directory name, kept raw).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApTitle<'a> {
    /// Form 2.
    Oid(Oid<'a>),
    /// Form 1 or anything else.
    Other,
}

/// The fields of an AARQ or AARE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Association<'a> {
    /// Application context name.
    pub context: Option<Oid<'a>>,
    /// Called (AARQ) AP title.
    pub called_ap: Option<ApTitle<'a>>,
    /// Called AE qualifier.
    pub called_ae: Option<i64>,
    /// Calling (AARQ) or responding (AARE) AP title.
    pub own_ap: Option<ApTitle<'a>>,
    /// Calling or responding AE qualifier.
    pub own_ae: Option<i64>,
    /// AARE result (0 accepted, 1 rejected permanent, 2 rejected transient).
    pub result: Option<i64>,
    /// Authentication mechanism name.
    pub mechanism: Option<Oid<'a>>,
    /// Whether an authentication value was sent (never read further: it may be a password).
    pub authenticated: bool,
    /// The user information's single-ASN1-type (the MMS initiate PDU) and its offset.
    pub user: Option<(&'a [u8], usize)>,
}

/// An ACSE APDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Apdu<'a> {
    /// A-ASSOCIATE request.
    Aarq(Association<'a>),
    /// A-ASSOCIATE response.
    Aare(Association<'a>),
    /// A-RELEASE request.
    Rlrq,
    /// A-RELEASE response.
    Rlre,
    /// A-ABORT.
    Abrt,
}

/// Whether a presentation data value holds an ACSE APDU (`[APPLICATION 0..4]`); MMS PDUs are
/// context-specific.
pub fn is_acse(data: &[u8]) -> bool {
    matches!(data.first(), Some(0x60..=0x64))
}

fn ap_title<'a>(element: Element<'a>, field: &'static str) -> Result<ApTitle<'a>, MmsError> {
    let mut inner = element.contents(field)?;
    let title = inner.read(field)?;
    Ok(if title.tag == ber::OBJECT_IDENTIFIER {
        ApTitle::Oid(title.oid(field)?)
    } else {
        ApTitle::Other
    })
}

fn ae_qualifier(element: Element<'_>, field: &'static str) -> Result<Option<i64>, MmsError> {
    let mut inner = element.contents(field)?;
    let q = inner.read(field)?;
    Ok((q.tag == ber::INTEGER)
        .then(|| q.integer(field))
        .transpose()?)
}

/// Parses an ACSE APDU.
pub fn parse_apdu(bytes: &[u8], base: usize) -> Result<Apdu<'_>, MmsError> {
    let mut reader = Reader::extended(bytes, base, MAX_ISO_DEPTH);
    let apdu = reader.read("ACSE APDU")?;
    let request = match apdu.tag {
        0x60 => true,
        0x61 => false,
        0x62 => return Ok(Apdu::Rlrq),
        0x63 => return Ok(Apdu::Rlre),
        0x64 => return Ok(Apdu::Abrt),
        tag => {
            return Err(MmsError::Unexpected {
                field: "ACSE APDU tag",
                value: u32::from(tag),
                offset: apdu.offset,
            })
        }
    };
    let mut a = Association::default();
    let mut fields = apdu.contents("AARQ")?;
    while !fields.is_empty() {
        let e = fields.read("AARQ field")?;
        if e.class() != ber::CONTEXT {
            continue;
        }
        match (request, e.number) {
            (_, 1) => {
                let mut inner = e.contents("application-context-name")?;
                a.context = Some(inner.oid("application-context-name")?);
            }
            (true, 2) => a.called_ap = Some(ap_title(e, "called-AP-title")?),
            (true, 3) => a.called_ae = ae_qualifier(e, "called-AE-qualifier")?,
            (true, 6) => a.own_ap = Some(ap_title(e, "calling-AP-title")?),
            (true, 7) => a.own_ae = ae_qualifier(e, "calling-AE-qualifier")?,
            (false, 2) => {
                let mut inner = e.contents("result")?;
                a.result = Some(inner.integer("result")?);
            }
            (false, 4) => a.own_ap = Some(ap_title(e, "responding-AP-title")?),
            (false, 5) => a.own_ae = ae_qualifier(e, "responding-AE-qualifier")?,
            (_, 11) => a.mechanism = Oid::new(e.value),
            (_, 12) => a.authenticated = true,
            (_, 30) => {
                let mut info = e.contents("user-information")?;
                let mut external = info.enter(0x28, "EXTERNAL")?;
                while !external.is_empty() {
                    let x = external.read("EXTERNAL field")?;
                    if x.is_context(0) || x.is_context(1) {
                        a.user = Some((x.value, x.value_offset));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(if request {
        Apdu::Aarq(a)
    } else {
        Apdu::Aare(a)
    })
}

impl From<BerError> for MmsError {
    fn from(e: BerError) -> Self {
        MmsError::Ber(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_lengths_and_truncation() {
        // CONNECT with a long-form parameter length and user data.
        let mut cn = vec![
            si::CONNECT,
            0xff,
            0x00,
            0x06,
            0x05,
            0x00,
            PI_USER_DATA,
            0x02,
        ];
        cn.extend_from_slice(&[0xaa, 0xbb]);
        assert_eq!(
            parse_spdu(&cn),
            Ok(Spdu {
                si: si::CONNECT,
                user_data: &[0xaa, 0xbb]
            })
        );
        assert!(parse_spdu(&cn[..cn.len() - 1]).is_err());
        assert!(parse_spdu(&[0x42, 0x00]).is_err());
        assert!(parse_spdu(&[si::CONNECT, 0xff]).is_err());
        // Only GIVE TOKENS, with nothing after: empty user data.
        assert_eq!(parse_spdu(&[1, 0]).map(|s| s.user_data.len()), Ok(0));
        // Endless GIVE TOKENS stop at the bound.
        assert!(parse_spdu(&[1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0]).is_err());
    }

    #[test]
    fn release_and_abort() {
        // iec61850 Sample frame 139: FINISH carrying RLRQ.
        let fnish = [
            0x09, 0x10, 0xc1, 0x0e, 0x61, 0x0c, 0x30, 0x0a, 0x02, 0x01, 0x01, 0xa0, 0x05, 0x62,
            0x03, 0x80, 0x01, 0x01,
        ];
        let spdu = parse_spdu(&fnish).unwrap();
        assert_eq!(spdu.si, si::FINISH);
        let Ppdu::Data(pdv) = parse_ppdu(spdu.user_data, 4).unwrap() else {
            panic!("data");
        };
        assert_eq!(pdv.context, Some(1));
        assert!(is_acse(pdv.data));
        assert_eq!(parse_apdu(pdv.data, pdv.offset), Ok(Apdu::Rlrq));
        assert!(parse_apdu(&[0x65, 0x00], 0).is_err());
        assert!(parse_ppdu(&[0x62, 0x00], 0).is_err());
    }
}
