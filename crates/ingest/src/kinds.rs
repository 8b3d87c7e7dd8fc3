//! The message kinds the single window accepts.
