//! Dissector interface (being written).
