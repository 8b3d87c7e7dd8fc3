//! Realistic generated CEB import traffic for the demo, the benchmark and tests.
//!
//! A [`Generator`] turns a seed into a deterministic stream of [`DeclarationSet`]s: the
//! order (CEB311), payment (CEB411), waybill (CEB511) and inventory (CEB621) of one parcel,
//! each its own message from its own enterprise of the [`demo_registry`], written directly as
//! CEB XML text valid against the official 2022 import XSD — or broken in exactly the way its
//! [`Case`] names. The CEB621, 623, 625 and 711 it writes carry real SM2/SM3 signatures by
//! their senders' **test** keys ([`demo_signer`], derived from the public [`DEMO_KEY_SEED`];
//! file [`demo_certificates`] before streaming). All personal data is fictitious (names with
//! 测/样, ID numbers with the non-existent area prefix 99, phones 10xxxxxxxxx that no real line
//! has).
//!
//! # Fraud schemes
//!
//! [`Generator::scheme`] adds what honest traffic and the broken [`Case`]s do not show: fraud
//! that passes the three-document match and every limit, so it is released unless the risk
//! rules (`rules.md` §6.2) catch it. One call gives one occurrence, its declarations in the
//! order to send them, declared within the hour up to `now_ms`:
//!
//! | [`Scheme`] | what it is | declarations | trips |
//! |---|---|---|---|
//! | `split-order-ring` | 化整为零: 4 buyers, one address and one phone, 2 orders each of CNY 1 800–2 600 | 8 | R4, R5, R6-ADDRESS |
//! | `shared-address` | 一址多证: 6 buyers, one order each of CNY 200–700, one address (≤ 5 000 together) | 6 | R6-ADDRESS |
//! | `undervaluing-seller` | seller [`UNDERVALUING_SELLER_CODE`] at 30–40 % of the lowest catalogue price of the HS code | 3–5 | R7 |
//! | `bulk-resale` | 二次销售: one line of 25–30 units of a cheap product (< 5 000) | 1 | R11 |
//! | `backdated-payment` | payTime 2 h after the inventory appTime | 1 | R8 |
//!
//! The figures are demo settings \[U\] (chosen here, not sourced), set against the risk engine's
//! default thresholds; [`Scheme::rules`] names the rules each occurrence trips on its own. Scheme
//! members are new people (born 1935–1959, before any population buyer, so their ID numbers never
//! collide) at new addresses on a street the population never uses (试验路), and schemes draw from a
//! random stream of their own: interleaving them leaves `next_set`/`set_of` byte-identical.
//! [`hs_price_ranges`] gives the catalogue's price range per HS code, from which reference prices
//! for R7 can be set (the undervalued lines stay under half of any reference of at least 80 % of
//! the lowest price).
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod catalogue;
mod follow_up;
mod generator;
mod people;
mod registry;
mod rng;
mod signing;
mod xml;

pub use catalogue::{off_list_hs_codes, positive_list_hs_codes};
pub use generator::{
    Case, DeclarationSet, GeneratedMessage, Generator, Mix, Scheme, hs_price_ranges,
};
pub use people::{Buyer, id_check_char, id_number_is_valid};
pub use registry::{
    DemoEnterprise, UNDERVALUING_SELLER_CODE, UNFILED_EBC_CODE, csv_field, demo_entrusts,
    demo_registry, registry_csv,
};
pub use signing::{
    DEMO_CERTIFICATE_ORGANIZATION, DEMO_KEY_SEED, SIGNED_MESSAGES, demo_certificate_for,
    demo_certificates, demo_key, demo_signer,
};
