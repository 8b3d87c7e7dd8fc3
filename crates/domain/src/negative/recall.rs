//! 召回 — product recalls by the inspection department ("网上发现、源头追溯、属地查处"): in-flight
//! declarations of a recalled product are stopped, and the engine can list who bought it before.
//! A recall recognises goods with the same [`GoodsMatch`] as the control list.

use serde::{Deserialize, Serialize};

use crate::negative::goods::{GoodsError, GoodsLine, GoodsMatch};
use crate::subject::Department;
use crate::time::Timestamp;

/// 召回 — one recall of a product, brand or HS range, optionally limited to one seller's goods.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recall {
    pub id: String,
    pub matcher: GoodsMatch,
    /// The ebcCode whose goods are recalled; `None` = the goods of every seller.
    pub seller: Option<String>,
    pub reason: String,
    pub department: Department,
    /// In effect from this instant …
    pub at: Timestamp,
    /// … until lifted (exclusive).
    pub lifted_at: Option<Timestamp>,
}

impl Recall {
    pub fn validate(&self) -> Result<(), GoodsError> {
        if self.id.trim().is_empty() {
            return Err(GoodsError::EmptyId);
        }
        if self.reason.trim().is_empty() {
            return Err(GoodsError::EmptyReason);
        }
        if self.lifted_at.is_some_and(|l| l <= self.at) {
            return Err(GoodsError::UntilNotAfterSince);
        }
        self.matcher.validate()
    }

    pub fn active(&self, now: Timestamp) -> bool {
        self.at <= now && self.lifted_at.is_none_or(|l| now < l)
    }

    /// The gnum of the first line of `ebc_code`'s inventory that carries recalled goods. Does not
    /// look at time: the engine checks [`Recall::active`] for in-flight goods and uses this alone
    /// to find past buyers, whose purchases predate the recall.
    pub fn matches(&self, ebc_code: &str, lines: &[GoodsLine<'_>]) -> Option<u32> {
        if self
            .seller
            .as_deref()
            .is_some_and(|s| s.trim() != ebc_code.trim())
        {
            return None;
        }
        lines
            .iter()
            .find(|line| self.matcher.matches(line))
            .map(|line| line.gnum)
    }
}
