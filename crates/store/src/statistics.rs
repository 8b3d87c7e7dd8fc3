//! The statistical monitoring (统计监测) aggregates, read as grouped sums.

use crate::{Result, StatQuery, StatRow};

/// Queries over the statistics aggregate tables (written additively by each commit).
pub trait Statistics {
    /// Sums the measures of one statistics table over a day range, grouped by any subset of its
    /// dimensions (and by day or month), filtered by equality on any of them, with the distinct
    /// counts asked for. See [`StatQuery`].
    fn stat_query(&self, query: &StatQuery<'_>) -> Result<Vec<StatRow>>;
}
