//! Ironward domain model (being written).
