//! Credit (信用): the "一库三系统" credit database and its evaluation and supervision systems
//! (rules.md §5.2). A [`CreditRecord`] per enterprise or buyer takes in every event the platform
//! sees; a published [`CreditModel`] turns it into a score, a grade and — through graded
//! supervision — a [`Treatment`] at clearance. The negative list itself lives in `crate::negative`;
//! here it only shows as warnings and listings in force.
//!
//! Model, defaults and an example explanation: docs/credit.md.

pub mod model;
pub mod record;
pub mod supervision;

pub use model::{
    ClassPolicy, ComplianceFactor, ConductFactor, CreditModel, DishonestCriteria, GradeCutoffs,
    InspectionFactor, QualificationFactor, TaxFactor,
};
pub use record::{
    CertLevel, CreditEvent, CreditEventKind, CreditRecord, Explanation, FactorExplanation,
    GradeChange,
};
pub use supervision::{Grade, SupervisionClass, Treatment, sampled};
