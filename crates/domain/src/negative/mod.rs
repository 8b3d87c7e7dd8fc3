//! 负面清单 — the two negative lists of the zone (Seed-ZJ-Plan §三(一)(五), rules.md §3.3, §5.2):
//!
//! * the credit negative list ([`listing`]): enterprises and persons warned (警示) or listed for
//!   serious dishonesty, with the appeal and credit-repair workflow and its audit trail;
//! * the trade-control negative list of goods ([`goods`]): banned or restricted HS codes, brands and
//!   products refused at declaration, and the inspection department's product recalls ([`recall`]),
//!   which share its matching.
//!
//! Everything here is pure: the engine stores these objects, generates their ids, passes `now`, and
//! applies the effects (refusing filings and declarations, sending in-flight goods to inspection).

pub mod goods;
pub mod listing;
pub mod recall;

pub use goods::{
    Control, ControlEntry, ControlHit, ControlList, GoodsError, GoodsLine, GoodsMatch,
};
pub use listing::{
    Appeal, AuditEntry, Category, Deadlines, Listing, ListingAction, ListingError, ListingSettings,
    ListingState, NewListing, PublicListing, Repair, Severity,
};
pub use recall::Recall;
