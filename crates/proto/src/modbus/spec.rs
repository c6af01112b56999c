//! Rules of the Modbus Application Protocol specification (V1.1b3) that a PDU can break while
//! still decoding: the PDU length each function fixes, the quantity ranges of reads and writes,
//! byte counts that must match their quantity, the two values of a coil write, and the shape of
//! exception responses. Each check is a few integer comparisons on the bytes already at hand;
//! a [`Violation`] is built only when a rule is broken, and formatted only when reported.

use std::fmt;

/// One broken rule, with the values that break it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Violation {
    /// The MBAP length field does not match the bytes that follow it (datagrams, where the
    /// length does not frame the stream).
    MbapLength {
        /// The length field.
        length: u16,
        /// Bytes after the length field.
        present: usize,
    },
    /// Function code 0, which the specification leaves invalid, or a request with the
    /// exception bit set.
    BadFunction(u8),
    /// A PDU longer or shorter than its function's fields.
    PduLength {
        /// Function code.
        function: u8,
        /// PDU length (function code included).
        length: usize,
        /// The length the function's fields make.
        expected: usize,
    },
    /// A quantity outside the function's range.
    Quantity {
        /// Function code.
        function: u8,
        /// The quantity.
        quantity: u16,
        /// The largest allowed (the smallest is 1).
        max: u16,
    },
    /// A byte count that does not match the quantity it carries.
    ByteCount {
        /// Function code.
        function: u8,
        /// The byte count field.
        count: u8,
        /// What the quantity makes.
        expected: usize,
    },
    /// A Write Single Coil value other than 0x0000 (off) and 0xFF00 (on).
    CoilValue(u16),
    /// An exception code outside the specification's list.
    ExceptionCode(u8),
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::MbapLength { length, present } => {
                write!(f, "MBAP length {length} but {present} bytes follow")
            }
            Self::BadFunction(code) => write!(f, "function code {code} in a request"),
            Self::PduLength {
                function,
                length,
                expected,
            } => write!(
                f,
                "{} PDU of {length} bytes, its fields make {expected}",
                super::function_name(function)
            ),
            Self::Quantity {
                function,
                quantity,
                max,
            } => write!(
                f,
                "{} quantity {quantity} outside 1-{max}",
                super::function_name(function)
            ),
            Self::ByteCount {
                function,
                count,
                expected,
            } => write!(
                f,
                "{} byte count {count} but the quantity makes {expected}",
                super::function_name(function)
            ),
            Self::CoilValue(value) => {
                write!(
                    f,
                    "write_single_coil value 0x{value:04x}, not 0x0000 or 0xFF00"
                )
            }
            Self::ExceptionCode(code) => write!(f, "exception code {code} not defined"),
        }
    }
}

fn be16(pdu: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*pdu.get(at)?, *pdu.get(at + 1)?]))
}

fn quantity(function: u8, quantity: u16, max: u16) -> Option<Violation> {
    (!(1..=max).contains(&quantity)).then_some(Violation::Quantity {
        function,
        quantity,
        max,
    })
}

fn length(function: u8, pdu: &[u8], expected: usize) -> Option<Violation> {
    (pdu.len() != expected).then_some(Violation::PduLength {
        function,
        length: pdu.len(),
        expected,
    })
}

/// The first rule a request PDU breaks, if any. Meant for PDUs that decode: one too short for
/// its fields is malformed, and [`super::Request::parse`] says where it is cut.
pub fn check_request(pdu: &[u8]) -> Option<Violation> {
    let &function = pdu.first()?;
    match function {
        0 | 0x80.. => Some(Violation::BadFunction(function)),
        1..=4 => {
            let max = if function <= 2 { 2000 } else { 125 };
            length(function, pdu, 5).or_else(|| quantity(function, be16(pdu, 3)?, max))
        }
        5 => length(function, pdu, 5).or_else(|| {
            let value = be16(pdu, 3)?;
            (value != 0 && value != 0xff00).then_some(Violation::CoilValue(value))
        }),
        6 => length(function, pdu, 5),
        7 | 11 | 12 | 17 => length(function, pdu, 1),
        15 | 16 => {
            let n = be16(pdu, 3)?;
            let count = *pdu.get(5)?;
            let (max, expected) = if function == 15 {
                (1968, usize::from(n).div_ceil(8))
            } else {
                (123, 2 * usize::from(n))
            };
            quantity(function, n, max)
                .or_else(|| {
                    (usize::from(count) != expected).then_some(Violation::ByteCount {
                        function,
                        count,
                        expected,
                    })
                })
                .or_else(|| length(function, pdu, 6 + usize::from(count)))
        }
        22 => length(function, pdu, 7),
        23 => {
            let read = be16(pdu, 3)?;
            let write = be16(pdu, 7)?;
            let count = *pdu.get(9)?;
            quantity(function, read, 125)
                .or_else(|| quantity(function, write, 121))
                .or_else(|| {
                    let expected = 2 * usize::from(write);
                    (usize::from(count) != expected).then_some(Violation::ByteCount {
                        function,
                        count,
                        expected,
                    })
                })
                .or_else(|| length(function, pdu, 10 + usize::from(count)))
        }
        24 => length(function, pdu, 3),
        _ => None,
    }
}

/// The first rule a normal response PDU breaks, if any: the byte count of read answers must
/// cover the rest of the PDU, and write answers echo a fixed 4 bytes.
pub fn check_response(pdu: &[u8]) -> Option<Violation> {
    let &function = pdu.first()?;
    match function {
        1..=4 => {
            let count = *pdu.get(1)?;
            length(function, pdu, 2 + usize::from(count))
        }
        5 | 6 | 15 | 16 => length(function, pdu, 5),
        _ => None,
    }
}

/// The first rule an exception response (function | 0x80, then the code) breaks, if any.
/// Bytes after the code are let pass: a device in the Digital Bond capture pads its
/// exceptions with a zero byte (`81 06 00`), which masters read without trouble.
pub fn check_exception(pdu: &[u8]) -> Option<Violation> {
    let &code = pdu.get(1)?;
    (!matches!(code, 1..=8 | 10 | 11)).then_some(Violation::ExceptionCode(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_requests_break_no_rule() {
        for pdu in [
            &[3, 0, 0, 0, 10][..],
            &[1, 0, 0, 0x07, 0xd0],
            &[5, 0, 1, 0xff, 0],
            &[5, 0, 1, 0, 0],
            &[6, 0, 1, 0x12, 0x34],
            &[15, 0, 0, 0, 10, 2, 0xff, 0x03],
            &[16, 0, 0, 0, 2, 4, 0, 1, 0, 2],
            &[17],
            &[22, 0, 4, 0, 0xf2, 0, 0x25],
            &[23, 0, 0, 0, 2, 0, 10, 0, 1, 2, 0, 7],
            &[24, 0, 4],
            &[43, 14, 1, 0],
            &[90, 0, 2],
        ] {
            assert_eq!(check_request(pdu), None, "{pdu:?}");
        }
        assert_eq!(check_exception(&[0x83, 2]), None);
        for pdu in [
            &[3, 4, 0, 1, 0, 2][..],
            &[1, 1, 0x05],
            &[16, 0, 0, 0, 2],
            &[43, 14],
        ] {
            assert_eq!(check_response(pdu), None, "{pdu:?}");
        }
    }

    #[test]
    fn each_rule_names_its_values() {
        let cases: [(&[u8], &str); 9] = [
            (&[0], "function code 0 in a request"),
            (&[0x83, 0, 0, 0, 1], "function code 131 in a request"),
            (
                &[3, 0, 0, 0, 1, 9],
                "read_holding_registers PDU of 6 bytes, its fields make 5",
            ),
            (
                &[3, 0, 0, 0, 0],
                "read_holding_registers quantity 0 outside 1-125",
            ),
            (
                &[1, 0, 0, 0x07, 0xd1],
                "read_coils quantity 2001 outside 1-2000",
            ),
            (
                &[5, 0, 1, 0x12, 0x34],
                "write_single_coil value 0x1234, not 0x0000 or 0xFF00",
            ),
            (
                &[16, 0, 0, 0, 2, 3, 0, 1, 0],
                "write_multiple_registers byte count 3 but the quantity makes 4",
            ),
            (
                &[15, 0, 0, 0, 10, 2, 0xff],
                "write_multiple_coils PDU of 7 bytes, its fields make 8",
            ),
            (
                &[17, 1],
                "report_server_id PDU of 2 bytes, its fields make 1",
            ),
        ];
        for (pdu, text) in cases {
            let violation = check_request(pdu).unwrap_or_else(|| panic!("{pdu:?}"));
            assert_eq!(violation.to_string(), text);
        }
        assert_eq!(
            check_exception(&[0x83, 9])
                .map(|v| v.to_string())
                .as_deref(),
            Some("exception code 9 not defined")
        );
        assert_eq!(check_exception(&[0x81, 6, 0]), None);
        assert_eq!(
            check_response(&[3, 4, 0, 1])
                .map(|v| v.to_string())
                .as_deref(),
            Some("read_holding_registers PDU of 4 bytes, its fields make 6")
        );
    }

    #[test]
    fn fields_cut_short_are_not_read() {
        assert_eq!(check_request(&[16, 0, 0, 0]), None);
        assert_eq!(check_request(&[23, 0, 0, 0, 1, 0]), None);
        assert_eq!(check_request(&[]), None);
    }
}
