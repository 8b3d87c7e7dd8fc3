//! The scoring model (信用评价模型) as settings: every weight, window, curve, cut-off and
//! treatment is a field with a documented default (docs/credit.md), so a regulator can publish and
//! change the model without a code change, and a record can always be explained in its terms.

use serde::{Deserialize, Serialize};

use super::supervision::{Grade, SupervisionClass, Treatment, sampled};

/// Longest window a setting may ask for: ten years of monthly buckets is already more than a record
/// should carry.
const MAX_WINDOW_DAYS: u32 = 3_660;

/// 资质 — certifications entered by regulators and third-party ratings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct QualificationFactor {
    pub weight: u32,
    /// How long a third-party rating counts after it was given.
    pub window_days: u32,
    /// Points with no certification and no rating in force.
    pub neutral: u32,
    /// Points for a customs advanced (AEO) certification in force.
    pub customs_advanced: u32,
    /// Points for a customs certified (AEO) certification in force.
    pub customs_certified: u32,
    /// Points for a customs general (常规) certification in force.
    pub customs_general: u32,
    /// Added for each other department's advanced certification in force.
    pub other_advanced_bonus: u32,
    /// Added for each other department's certified certification in force.
    pub other_certified_bonus: u32,
    /// Taken off for each other department's dishonest finding in force.
    pub other_dishonest_penalty: u32,
    /// Share (percent) of the factor given by the mean third-party rating, when there is one.
    pub rating_share_pct: u32,
}

impl Default for QualificationFactor {
    fn default() -> Self {
        QualificationFactor {
            weight: 20,
            window_days: 365,
            neutral: 60,
            customs_advanced: 100,
            customs_certified: 85,
            customs_general: 60,
            other_advanced_bonus: 10,
            other_certified_bonus: 5,
            other_dishonest_penalty: 30,
            rating_share_pct: 30,
        }
    }
}

/// 申报合规 — rejected declarations and confirmed risk alerts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ComplianceFactor {
    pub weight: u32,
    pub window_days: u32,
    /// Points while there are fewer than `min_declarations` in the window.
    pub neutral: u32,
    pub min_declarations: u32,
    /// Rejection rate (basis points) at which the rate part reaches 0 points; 0 rejections is 100.
    pub zero_rate_bp: u32,
    /// Taken off for each risk alert a regulator confirmed in the window.
    pub confirmed_alert_penalty: u32,
}

impl Default for ComplianceFactor {
    fn default() -> Self {
        ComplianceFactor {
            weight: 30,
            window_days: 365,
            neutral: 80,
            min_declarations: 20,
            zero_rate_bp: 2_000,
            confirmed_alert_penalty: 15,
        }
    }
}

/// 查验结果 — findings of physical inspections.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InspectionFactor {
    pub weight: u32,
    pub window_days: u32,
    pub neutral: u32,
    pub min_inspections: u32,
    /// Failure rate (basis points) at which the factor reaches 0 points.
    pub zero_rate_bp: u32,
}

impl Default for InspectionFactor {
    fn default() -> Self {
        InspectionFactor {
            weight: 15,
            window_days: 365,
            neutral: 80,
            min_inspections: 5,
            zero_rate_bp: 5_000,
        }
    }
}

/// 纳税履约 — tax paid on time or late.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxFactor {
    pub weight: u32,
    pub window_days: u32,
    pub neutral: u32,
    pub min_payments: u32,
    /// Late-payment rate (basis points) at which the rate part reaches 0 points.
    pub zero_rate_bp: u32,
    /// Taken off for each late payment in the window, whatever the rate.
    pub late_payment_penalty: u32,
    /// One point is taken off per this many days late, summed over the window.
    pub days_late_per_point: u32,
}

impl Default for TaxFactor {
    fn default() -> Self {
        TaxFactor {
            weight: 15,
            window_days: 365,
            neutral: 80,
            min_payments: 5,
            zero_rate_bp: 5_000,
            late_payment_penalty: 10,
            days_late_per_point: 3,
        }
    }
}

/// 交易行为 — cancellations, returns, upheld complaints and negative-list warnings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConductFactor {
    pub weight: u32,
    pub window_days: u32,
    pub neutral: u32,
    pub min_declarations: u32,
    /// (Cancellations + returns) per declaration (basis points) at which the rate part is 0.
    pub zero_rate_bp: u32,
    /// Taken off for each upheld complaint in the window.
    pub upheld_complaint_penalty: u32,
    /// Taken off for each negative-list warning in force.
    pub warning_penalty: u32,
}

impl Default for ConductFactor {
    fn default() -> Self {
        ConductFactor {
            weight: 20,
            window_days: 365,
            neutral: 80,
            min_declarations: 20,
            zero_rate_bp: 3_000,
            upheld_complaint_penalty: 10,
            warning_penalty: 20,
        }
    }
}

/// Lowest score of each grade; below `bbb` the grade is BB.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GradeCutoffs {
    pub aaa: u32,
    pub aa: u32,
    pub a: u32,
    pub bbb: u32,
    /// AAA leads to the advanced class, whose measures (guarantee exemption, the lowest inspection
    /// rate) customs reserves for AEO firms (rules.md §5.1); without a customs advanced or
    /// certified certification in force the grade stops at AA.
    pub aaa_requires_customs_certification: bool,
    /// Score points a grade is held past its cut-off, so that a subject near a boundary does not
    /// flip grade (and treatment) with every declaration.
    pub hysteresis: u32,
}

impl Default for GradeCutoffs {
    fn default() -> Self {
        GradeCutoffs {
            aaa: 900,
            aa: 800,
            a: 700,
            bbb: 600,
            aaa_requires_customs_certification: true,
            hysteresis: 15,
        }
    }
}

/// 失信认定 — the criteria that make a subject DISHONEST whatever its score.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DishonestCriteria {
    /// A serious listing on the credit negative list in force.
    pub on_listing: bool,
    /// A customs dishonest (失信企业) finding in force.
    pub on_customs_finding: bool,
    /// A tax payment more than this many days late within `window_days` (0 = off).
    pub tax_days_late: u32,
    /// This many failed inspections within `window_days` (0 = off).
    pub failed_inspections: u32,
    /// How long a late tax payment or failed inspection keeps a subject dishonest.
    pub window_days: u32,
}

impl Default for DishonestCriteria {
    fn default() -> Self {
        DishonestCriteria {
            on_listing: true,
            on_customs_finding: true,
            tax_days_late: 90,
            failed_inspections: 3,
            window_days: 365,
        }
    }
}

/// One row of the supervision table: which grades fall in a class, and how that class is treated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassPolicy {
    pub class: SupervisionClass,
    pub grades: Vec<Grade>,
    pub treatment: Treatment,
}

fn default_classes() -> Vec<ClassPolicy> {
    let general_rate = 200;
    vec![
        ClassPolicy {
            class: SupervisionClass::Advanced,
            grades: vec![Grade::Aaa],
            treatment: Treatment {
                inspection_rate_bp: general_rate / 5,
                document_review: false,
                guarantee_exempt: true,
                priority: 0,
            },
        },
        ClassPolicy {
            class: SupervisionClass::Certified,
            grades: vec![Grade::Aa],
            treatment: Treatment {
                inspection_rate_bp: general_rate / 2,
                document_review: false,
                guarantee_exempt: false,
                priority: 1,
            },
        },
        ClassPolicy {
            class: SupervisionClass::General,
            grades: vec![Grade::A, Grade::Bbb],
            treatment: Treatment {
                inspection_rate_bp: general_rate,
                document_review: false,
                guarantee_exempt: false,
                priority: 2,
            },
        },
        ClassPolicy {
            class: SupervisionClass::Attention,
            grades: vec![Grade::Bb],
            treatment: Treatment {
                inspection_rate_bp: 1_000,
                document_review: true,
                guarantee_exempt: false,
                priority: 3,
            },
        },
        ClassPolicy {
            class: SupervisionClass::Dishonest,
            grades: vec![Grade::Dishonest],
            treatment: Treatment {
                inspection_rate_bp: 8_000,
                document_review: true,
                guarantee_exempt: false,
                priority: 4,
            },
        },
    ]
}

/// 信用评价模型 — five factors after the Hangzhou model's dimensions (资质, 信用记录, 履约能力 …;
/// rules.md §5.2) and the GB/T 39053 / SB/T 11227 information groups, each scored 0–100 and
/// weighted to a 0–1000 score; cut-offs give the grade, dishonesty criteria override it, and the
/// class table turns it into a treatment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreditModel {
    pub qualification: QualificationFactor,
    pub compliance: ComplianceFactor,
    pub inspection: InspectionFactor,
    pub tax: TaxFactor,
    pub conduct: ConductFactor,
    pub cutoffs: GradeCutoffs,
    pub dishonest: DishonestCriteria,
    /// The grade → class → treatment table; every class and every grade exactly once.
    pub classes: Vec<ClassPolicy>,
    /// Grade changes kept per record (the oldest drop off).
    pub history_cap: usize,
    /// Seed of inspection sampling ([`sampled`]).
    pub sampling_seed: u64,
}

impl Default for CreditModel {
    fn default() -> Self {
        CreditModel {
            qualification: QualificationFactor::default(),
            compliance: ComplianceFactor::default(),
            inspection: InspectionFactor::default(),
            tax: TaxFactor::default(),
            conduct: ConductFactor::default(),
            cutoffs: GradeCutoffs::default(),
            dishonest: DishonestCriteria::default(),
            classes: default_classes(),
            history_cap: 200,
            sampling_seed: 0x4f4e_4557_494e_444f, // "ONEWINDO"
        }
    }
}

fn check_window(name: &str, days: u32) -> Result<(), String> {
    if days == 0 || days > MAX_WINDOW_DAYS {
        return Err(format!(
            "{name}: window_days must be 1..={MAX_WINDOW_DAYS}, got {days}"
        ));
    }
    Ok(())
}

fn check_points(name: &str, points: u32) -> Result<(), String> {
    if points > 100 {
        return Err(format!("{name} must be 0..=100 points, got {points}"));
    }
    Ok(())
}

fn check_rate(name: &str, bp: u32) -> Result<(), String> {
    if bp == 0 || bp > 10_000 {
        return Err(format!("{name} must be 1..=10000 basis points, got {bp}"));
    }
    Ok(())
}

impl CreditModel {
    /// Refuses a model that could not be explained or would make grades meaningless: weights that
    /// do not add up to 100, cut-offs out of order, points out of 0–100, an incomplete class table.
    pub fn validate(&self) -> Result<(), String> {
        let weights = [
            self.qualification.weight,
            self.compliance.weight,
            self.inspection.weight,
            self.tax.weight,
            self.conduct.weight,
        ];
        let sum: u32 = weights.iter().fold(0u32, |a, w| a.saturating_add(*w));
        if sum != 100 {
            return Err(format!("factor weights must sum to 100, got {sum}"));
        }

        let q = &self.qualification;
        check_window("qualification", q.window_days)?;
        check_points("qualification.neutral", q.neutral)?;
        check_points("qualification.customs_advanced", q.customs_advanced)?;
        check_points("qualification.customs_certified", q.customs_certified)?;
        check_points("qualification.customs_general", q.customs_general)?;
        check_points("qualification.other_advanced_bonus", q.other_advanced_bonus)?;
        check_points(
            "qualification.other_certified_bonus",
            q.other_certified_bonus,
        )?;
        check_points(
            "qualification.other_dishonest_penalty",
            q.other_dishonest_penalty,
        )?;
        check_points("qualification.rating_share_pct", q.rating_share_pct)?;

        let c = &self.compliance;
        check_window("compliance", c.window_days)?;
        check_points("compliance.neutral", c.neutral)?;
        check_rate("compliance.zero_rate_bp", c.zero_rate_bp)?;
        check_points(
            "compliance.confirmed_alert_penalty",
            c.confirmed_alert_penalty,
        )?;

        let i = &self.inspection;
        check_window("inspection", i.window_days)?;
        check_points("inspection.neutral", i.neutral)?;
        check_rate("inspection.zero_rate_bp", i.zero_rate_bp)?;

        let t = &self.tax;
        check_window("tax", t.window_days)?;
        check_points("tax.neutral", t.neutral)?;
        check_rate("tax.zero_rate_bp", t.zero_rate_bp)?;
        check_points("tax.late_payment_penalty", t.late_payment_penalty)?;
        if t.days_late_per_point == 0 {
            return Err("tax.days_late_per_point must be at least 1".to_owned());
        }

        let d = &self.conduct;
        check_window("conduct", d.window_days)?;
        check_points("conduct.neutral", d.neutral)?;
        check_rate("conduct.zero_rate_bp", d.zero_rate_bp)?;
        check_points(
            "conduct.upheld_complaint_penalty",
            d.upheld_complaint_penalty,
        )?;
        check_points("conduct.warning_penalty", d.warning_penalty)?;

        let k = &self.cutoffs;
        if !(k.aaa <= 1000 && k.aaa > k.aa && k.aa > k.a && k.a > k.bbb && k.bbb > 0) {
            return Err(format!(
                "grade cut-offs must satisfy 1000 >= AAA > AA > A > BBB > 0, got {} {} {} {}",
                k.aaa, k.aa, k.a, k.bbb
            ));
        }

        let gap = (k.aaa - k.aa).min(k.aa - k.a).min(k.a - k.bbb);
        if k.hysteresis.saturating_mul(2) >= gap {
            return Err(format!(
                "grade hysteresis must be less than half the smallest gap between cut-offs ({gap}), got {}",
                k.hysteresis
            ));
        }

        check_window("dishonest", self.dishonest.window_days)?;

        for class in SupervisionClass::ALL {
            let rows = self.classes.iter().filter(|p| p.class == class).count();
            if rows != 1 {
                return Err(format!(
                    "class table: class {class} must appear exactly once, found {rows}"
                ));
            }
        }
        for grade in Grade::ALL {
            let rows = self
                .classes
                .iter()
                .filter(|p| p.grades.contains(&grade))
                .count();
            if rows != 1 {
                return Err(format!(
                    "class table: grade {grade} must be in exactly one class, found {rows}"
                ));
            }
        }
        for p in &self.classes {
            if p.treatment.inspection_rate_bp > 10_000 {
                return Err(format!(
                    "class {}: inspection_rate_bp must be 0..=10000, got {}",
                    p.class, p.treatment.inspection_rate_bp
                ));
            }
        }
        if self.history_cap == 0 {
            return Err("history_cap must be at least 1".to_owned());
        }
        Ok(())
    }

    /// The supervision class of a grade. A table that misses the grade (a model that failed
    /// [`CreditModel::validate`]) falls back to General, the treatment of a subject nobody knows.
    pub fn class_of(&self, grade: Grade) -> SupervisionClass {
        self.classes
            .iter()
            .find(|p| p.grades.contains(&grade))
            .map_or(SupervisionClass::General, |p| p.class)
    }

    /// The treatment of a class; a class missing from the table gets the General row or, failing
    /// that, the built-in General treatment.
    pub fn treatment(&self, class: SupervisionClass) -> Treatment {
        let row = |c: SupervisionClass| {
            self.classes
                .iter()
                .find(|p| p.class == c)
                .map(|p| p.treatment)
        };
        row(class)
            .or_else(|| row(SupervisionClass::General))
            .unwrap_or(Treatment {
                inspection_rate_bp: 200,
                document_review: false,
                guarantee_exempt: false,
                priority: 2,
            })
    }

    /// Whether a declaration of a subject in `class` is picked for inspection, with this model's
    /// seed and the class's rate.
    pub fn inspect(&self, class: SupervisionClass, declaration: &str) -> bool {
        sampled(
            self.sampling_seed,
            declaration,
            self.treatment(class).inspection_rate_bp,
        )
    }

    /// The grade a score earns before any dishonesty override.
    pub fn grade_of_score(&self, score: u32) -> Grade {
        let k = &self.cutoffs;
        if score >= k.aaa {
            Grade::Aaa
        } else if score >= k.aa {
            Grade::Aa
        } else if score >= k.a {
            Grade::A
        } else if score >= k.bbb {
            Grade::Bbb
        } else {
            Grade::Bb
        }
    }

    /// The grade a score earns when `held` is in force: a better grade needs the score to clear
    /// its cut-off by `hysteresis` points, a worse one needs it to fall `hysteresis` below, and
    /// in between `held` stays. Leaving DISHONEST (or a first evaluation) takes the plain grade.
    pub fn grade_with_hysteresis(&self, score: u32, held: Option<Grade>) -> Grade {
        let plain = self.grade_of_score(score);
        let Some(held) = held.filter(|g| *g != Grade::Dishonest) else {
            return plain;
        };
        let h = self.cutoffs.hysteresis;
        if plain < held {
            let g = self.grade_of_score(score.saturating_sub(h));
            if g < held { g } else { held }
        } else if plain > held {
            let g = self.grade_of_score(score.saturating_add(h));
            if g > held { g } else { held }
        } else {
            held
        }
    }

    /// The longest window any part of the model looks back over: how much history a record keeps.
    pub(crate) fn max_window_days(&self) -> u32 {
        [
            self.qualification.window_days,
            self.compliance.window_days,
            self.inspection.window_days,
            self.tax.window_days,
            self.conduct.window_days,
            self.dishonest.window_days,
        ]
        .into_iter()
        .max()
        .unwrap_or(365)
        .min(MAX_WINDOW_DAYS)
    }
}
