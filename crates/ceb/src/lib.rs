//! The CEB wire format: China Customs cross-border e-commerce messages (CEB XML) and the
//! DXP envelope — reading, validation equivalent to the official XSD, typed messages and
//! serialization. No I/O and no clock: everything here is a pure function of its input.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod c14n;
pub mod dsig;
pub mod message;
mod parse;
pub mod schema;
pub mod xml;

pub use message::{Message, Node, Root};
pub use parse::{DxpInfo, DxpMsg, Parsed, Rejection, check, parse, validate};
pub use schema::Issue;
pub use xml::{Limits, XmlError};
