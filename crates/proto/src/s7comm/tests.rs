//! Hand-built S7comm PDUs through the session.
