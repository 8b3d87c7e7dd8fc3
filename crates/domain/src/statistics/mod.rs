//! 统计监测 — statistical monitoring and the CBEC index, built from the declaration lists
//! themselves ("以申报清单、平台数据为依据的统计管理新模式").
//!
//! - [`classes`]: the simplified statistical classification of CBEC goods (HS → ~30 classes);
//! - [`facts`]: the statistical deltas the engine emits on release, refusal, return and rejection,
//!   which the store adds to its aggregate tables in the same transaction as the journal position;
//! - [`index`]: the CBEC index (跨境电子商务指数) from monthly figures, with its settings and
//!   publications;
//! - [`disclosure`]: what a published table may show without disclosing one enterprise.
//!
//! docs/statistics.md and docs/index-methodology.md document all of it.

pub mod classes;
pub mod disclosure;
pub mod facts;
pub mod index;
pub mod parks;
pub mod room;

pub use classes::{Classification, GoodsClass};
pub use facts::{
    BUCKETS, ClearanceCell, GoodsCell, GoodsMeasures, ListCell, ListMeasures, Month, RejectionCell,
    StatDeltas, bucket_of, day_of, quantile_ms,
};
pub use index::{
    IndexAction, IndexError, IndexSettings, Indicator, MonthFigures, MonthIndex, Publication,
    SubIndex,
};
