//! Realistic generated CEB import traffic for the demo, the benchmark and tests.
//!
//! A [`Generator`] turns a seed into a deterministic stream of [`DeclarationSet`]s: the
//! order (CEB311), payment (CEB411), waybill (CEB511) and inventory (CEB621) of one parcel,
//! each its own message from its own enterprise of the [`demo_registry`], written directly as
//! CEB XML text valid against the official 2022 import XSD — or broken in exactly the way its
//! [`Case`] names. All personal data is fictitious (names with 测/样, ID numbers with the
//! non-existent area prefix 99, phones 1990000xxxx).
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod catalogue;
mod follow_up;
mod generator;
mod people;
mod registry;
mod rng;
mod xml;

pub use catalogue::{off_list_hs_codes, positive_list_hs_codes};
pub use generator::{
    Case, DeclarationSet, GeneratedMessage, Generator, Mix, Scheme, hs_price_ranges,
};
pub use people::{Buyer, id_check_char, id_number_is_valid};
pub use registry::{
    DemoEnterprise, UNDERVALUING_SELLER_CODE, UNFILED_EBC_CODE, csv_field, demo_registry,
    registry_csv,
};
