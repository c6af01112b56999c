//! Helpers shared by the dissectors' unit tests.

/// Bytes from hex text; whitespace is ignored (tests lay PDUs out field by field).
pub(crate) fn hex(text: &str) -> Vec<u8> {
    let text: String = text.split_whitespace().collect();
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digits"))
        .collect()
}
