//! The rules themselves (rules.md §6.2). Each looks at the index and the input and returns a
//! finding or nothing; nothing here allocates unless a rule fires, so the clean path stays cheap.

use std::collections::{HashMap, HashSet, VecDeque};

use rust_decimal::Decimal;

use super::config::{
    DistinctParams, QuantityParams, QuotaParams, RiskConfig, RuleId, RuleMode, RuleParams,
    SequenceParams, SpikeParams, SplittingParams, UndervaluationParams, VelocityParams,
};
use super::index::{AddressEntry, BuyerEntry, Key, KeyEntry, KeyHasher, RiskIndex, Track, hs6};
use super::reference::ReferencePrices;
use super::{Evidence, RiskHit, RiskInput};
use crate::time::Timestamp;

const MS_PER_MINUTE: i64 = 60_000;
const MS_PER_HOUR: i64 = 60 * MS_PER_MINUTE;
const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;
/// Evidence lists (declarations, buyers, lines) stop at this many items.
const MAX_LISTED: usize = 20;
/// Hashed keys appear in evidence shortened to this many characters.
const SHORT_KEY: usize = 12;

/// The queues of this declaration's keys, looked up once for all rules (each lookup is a likely
/// cache miss with 100 000 keys).
struct Seen<'a> {
    buyer: Option<&'a Track<BuyerEntry>>,
    address: Option<&'a Track<AddressEntry>>,
    payer: Option<&'a VecDeque<KeyEntry>>,
    phone: Option<&'a VecDeque<KeyEntry>>,
    seller: Option<&'a VecDeque<i64>>,
}

impl<'a> Seen<'a> {
    fn of(ix: &'a RiskIndex, input: &RiskInput) -> Seen<'a> {
        fn get<'m, V>(map: &'m HashMap<Key, V, KeyHasher>, k: &str) -> Option<&'m V> {
            if k.is_empty() { None } else { map.get(k) }
        }
        Seen {
            buyer: get(&ix.buyers, &input.buyer),
            address: get(&ix.addresses, &input.address),
            payer: get(&ix.payers, &input.payer),
            phone: get(&ix.phones, &input.phone),
            seller: get(&ix.sellers, &input.ebc_code),
        }
    }
}

struct Finding {
    summary: String,
    evidence: Vec<Evidence>,
}

pub(super) fn evaluate(
    ix: &RiskIndex,
    cfg: &RiskConfig,
    refs: &ReferencePrices,
    input: &RiskInput,
) -> Vec<RiskHit> {
    let seen = Seen::of(ix, input);
    let mut hits = Vec::new();
    for rule in RuleId::ALL {
        let s = cfg.rule(rule);
        if s.mode == RuleMode::Off {
            continue;
        }
        let found = match (rule, &s.params) {
            (RuleId::R4, RuleParams::Splitting(p)) => splitting(&seen, p, input),
            (RuleId::R5Buyer, RuleParams::Velocity(p)) => velocity(
                seen.buyer.map(|t| &t.entries),
                |e| (e.at, &e.decl),
                p,
                input,
                "buyer",
                &input.buyer,
            ),
            (RuleId::R5Payer, RuleParams::Velocity(p)) => velocity(
                seen.payer,
                |e| (e.at, &e.decl),
                p,
                input,
                "payer",
                &input.payer,
            ),
            (RuleId::R5Phone, RuleParams::Velocity(p)) => velocity(
                seen.phone,
                |e| (e.at, &e.decl),
                p,
                input,
                "phone",
                &input.phone,
            ),
            (RuleId::R5Address, RuleParams::Velocity(p)) => velocity(
                seen.address.map(|t| &t.entries),
                |e| (e.at, &e.decl),
                p,
                input,
                "address",
                &input.address,
            ),
            (RuleId::R6Address, RuleParams::Distinct(p)) => distinct(
                seen.address,
                |e| (e.at, &e.decl, e.buyer.as_ref()),
                p,
                input,
                ("address", &input.address),
                ("buyers", &input.buyer),
            ),
            (RuleId::R6Id, RuleParams::Distinct(p)) => distinct(
                seen.buyer,
                |e| (e.at, &e.decl, e.address.as_ref()),
                p,
                input,
                ("buyer", &input.buyer),
                ("addresses", &input.address),
            ),
            (RuleId::R7, RuleParams::Undervaluation(p)) => undervaluation(refs, p, input),
            (RuleId::R8, RuleParams::Sequence(p)) => sequence(p, input),
            (RuleId::R9, RuleParams::Spike(p)) => spike(&seen, p, input),
            (RuleId::R11, RuleParams::Quantity(p)) => quantity(&seen, p, input),
            (RuleId::R13, RuleParams::Quota(p)) => quota(&seen, p, input),
            // A config can only hold the parameter kind of each rule (checked on load and change).
            _ => None,
        };
        if let Some(f) = found {
            hits.push(RiskHit {
                rule,
                version: s.version,
                mode: s.mode,
                score: s.score,
                summary: f.summary,
                evidence: f.evidence,
            });
        }
    }
    hits
}

fn short(key: &str) -> &str {
    key.get(..SHORT_KEY).unwrap_or(key)
}

fn money(d: Decimal) -> String {
    format!("{:.2}", d.round_dp(2))
}

fn hours_ms(h: u32) -> i64 {
    i64::from(h) * MS_PER_HOUR
}

fn days_ms(d: u32) -> i64 {
    i64::from(d) * MS_PER_DAY
}

/// Index of the first entry at or after `cutoff` (queues are in record order, which is match
/// order, so times are ascending).
fn window_start<'a, E>(q: &'a VecDeque<E>, cutoff: i64, at: impl Fn(&'a E) -> i64) -> usize {
    let (mut lo, mut hi) = (0, q.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match q.get(mid) {
            Some(e) if at(e) < cutoff => lo = mid + 1,
            _ => hi = mid,
        }
    }
    lo
}

/// The last [`MAX_LISTED`] declaration ids, oldest first, comma-separated.
fn id_list<'a>(earlier: impl Iterator<Item = &'a str>, current: &'a str) -> String {
    let all: Vec<&str> = earlier.chain(std::iter::once(current)).collect();
    let from = all.len().saturating_sub(MAX_LISTED);
    all.get(from..).unwrap_or(&[]).join(",")
}

/// R4 — 化整为零: parts under the single limit that add up to more than it.
fn splitting(seen: &Seen, p: &SplittingParams, input: &RiskInput) -> Option<Finding> {
    let limit = input.single_limit;
    if input.value >= limit {
        return None;
    }
    let cutoff = input.at.0.saturating_sub(hours_ms(p.window_hours));
    let min = usize::try_from(p.min_declarations).unwrap_or(usize::MAX);
    let mut groups: Vec<(&str, &str, usize, Decimal, String)> = Vec::new();

    // Both queues hold (at, decl, value); judge each the same way.
    fn judge<'a, E>(
        q: Option<&'a VecDeque<E>>,
        get: impl Fn(&'a E) -> (i64, &'a Key, Decimal),
        cutoff: i64,
        input: &'a RiskInput,
        min: usize,
    ) -> Option<(usize, Decimal, String)> {
        let limit = input.single_limit;
        let q = q?;
        let start = window_start(q, cutoff, |e| get(e).0);
        let mut count = 1usize;
        let mut sum = input.value;
        for e in q.range(start..) {
            let (_, _, v) = get(e);
            if v < limit {
                count += 1;
                sum = sum.saturating_add(v);
            }
        }
        if count < min || sum <= limit {
            return None;
        }
        let ids = id_list(
            q.range(start..).filter_map(|e| {
                let (_, d, v) = get(e);
                (v < limit).then_some(&**d)
            }),
            &input.declaration,
        );
        Some((count, sum, ids))
    }

    if !input.buyer.is_empty()
        && let Some((n, sum, ids)) = judge(
            seen.buyer.map(|t| &t.entries),
            |e| (e.at, &e.decl, e.value),
            cutoff,
            input,
            min,
        )
    {
        groups.push(("buyer", short(&input.buyer), n, sum, ids));
    }
    if !input.address.is_empty()
        && let Some((n, sum, ids)) = judge(
            seen.address.map(|t| &t.entries),
            |e| (e.at, &e.decl, e.value),
            cutoff,
            input,
            min,
        )
    {
        groups.push(("address", short(&input.address), n, sum, ids));
    }
    if groups.is_empty() {
        return None;
    }
    let mut evidence = Vec::new();
    let mut parts = Vec::new();
    for (by, key, n, sum, ids) in &groups {
        parts.push(format!(
            "{n} declarations by {by} {key} total {} CNY",
            money(*sum)
        ));
        evidence.push(Evidence::new("by", *by));
        evidence.push(Evidence::new("key", *key));
        evidence.push(Evidence::new("orders_in_window", n.to_string()));
        evidence.push(Evidence::new("sum", money(*sum)));
        evidence.push(Evidence::new("declarations", ids.clone()));
    }
    evidence.push(Evidence::new("single_limit", money(limit)));
    evidence.push(Evidence::new("window_hours", p.window_hours.to_string()));
    Some(Finding {
        summary: format!(
            "Within {} h, {}, each under the single limit of {} CNY.",
            p.window_hours,
            parts.join(" and "),
            money(limit)
        ),
        evidence,
    })
}

/// R5-* — too many declarations of one key in a short window.
fn velocity<'a, E>(
    q: Option<&'a VecDeque<E>>,
    get: impl Fn(&'a E) -> (i64, &'a Key),
    p: &VelocityParams,
    input: &RiskInput,
    what: &str,
    key: &str,
) -> Option<Finding> {
    if key.is_empty() {
        return None;
    }
    let q = q?;
    let cutoff = input.at.0.saturating_sub(hours_ms(p.window_hours));
    let start = window_start(q, cutoff, |e| get(e).0);
    let count = q.len() - start + 1;
    if count < usize::try_from(p.min_declarations).unwrap_or(usize::MAX) {
        return None;
    }
    let ids = id_list(q.range(start..).map(|e| &**get(e).1), &input.declaration);
    Some(Finding {
        summary: format!(
            "{count} declarations within {} h share one {what} ({}), the threshold being {}.",
            p.window_hours,
            short(key),
            p.min_declarations
        ),
        evidence: vec![
            Evidence::new(what, short(key)),
            Evidence::new("orders_in_window", count.to_string()),
            Evidence::new("window_hours", p.window_hours.to_string()),
            Evidence::new("threshold", p.min_declarations.to_string()),
            Evidence::new("declarations", ids),
        ],
    })
}

/// R6-* — one key with many distinct counterparts (一址多证 / 一证多址).
fn distinct<'a, E>(
    track: Option<&'a Track<E>>,
    get: impl Fn(&'a E) -> (i64, &'a Key, Option<&'a Key>),
    p: &DistinctParams,
    input: &RiskInput,
    (what, key): (&str, &str),
    (other, current): (&str, &str),
) -> Option<Finding> {
    if key.is_empty() {
        return None;
    }
    let t = track?;
    let cutoff = input.at.0.saturating_sub(days_ms(p.window_days));
    let start = window_start(&t.entries, cutoff, |e| get(e).0);
    let new_one = |known: bool| usize::from(!current.is_empty() && !known);
    let count = if start == 0 {
        // The whole queue is in the window: the counterpart tally is the answer.
        t.counterparts.len() + new_one(t.counterparts.contains_key(current))
    } else {
        let seen: HashSet<&str> = t
            .entries
            .range(start..)
            .filter_map(|e| get(e).2.map(|k| &**k))
            .collect();
        seen.len() + new_one(seen.contains(current))
    };
    if count < usize::try_from(p.min_distinct).unwrap_or(usize::MAX) {
        return None;
    }
    // Fired: list the counterparts in first-seen order.
    let mut listed: Vec<&str> = Vec::new();
    for e in t.entries.range(start..) {
        if let Some(k) = get(e).2
            && !listed.contains(&&**k)
        {
            listed.push(k);
        }
    }
    if !current.is_empty() && !listed.contains(&current) {
        listed.push(current);
    }
    let shown: Vec<&str> = listed.iter().take(MAX_LISTED).map(|k| short(k)).collect();
    let ids = id_list(
        t.entries.range(start..).map(|e| &**get(e).1),
        &input.declaration,
    );
    Some(Finding {
        summary: format!(
            "One {what} ({}) has {count} distinct {other} within {} days.",
            short(key),
            p.window_days
        ),
        evidence: vec![
            Evidence::new(what, short(key)),
            Evidence::new(&format!("distinct_{other}"), count.to_string()),
            Evidence::new("window_days", p.window_days.to_string()),
            Evidence::new("threshold", p.min_distinct.to_string()),
            Evidence::new(other, shown.join(",")),
            Evidence::new("declarations", ids),
        ],
    })
}

/// R7 — a line priced well below the reference price of its HS code.
fn undervaluation(
    refs: &ReferencePrices,
    p: &UndervaluationParams,
    input: &RiskInput,
) -> Option<Finding> {
    let pct = Decimal::from(p.below_percent_of_reference);
    let hundred = Decimal::ONE_HUNDRED;
    let mut evidence = Vec::new();
    let mut flagged = 0usize;
    let mut lowest: Option<Decimal> = None;
    for line in &input.lines {
        let Some(reference) = refs.lookup(&line.hs) else {
            continue;
        };
        if line.unit_price.saturating_mul(hundred) >= reference.saturating_mul(pct) {
            continue;
        }
        let ratio = line
            .unit_price
            .checked_div(reference)
            .unwrap_or(Decimal::ZERO)
            .round_dp(2);
        lowest = Some(lowest.map_or(ratio, |l| l.min(ratio)));
        flagged += 1;
        if flagged <= MAX_LISTED {
            evidence.push(Evidence::new("line", line.gnum.to_string()));
            evidence.push(Evidence::new("hs", line.hs.clone()));
            evidence.push(Evidence::new("declared_unit_price", money(line.unit_price)));
            evidence.push(Evidence::new("reference_unit_price", money(reference)));
            evidence.push(Evidence::new("ratio", ratio.to_string()));
        }
    }
    let lowest = lowest?;
    evidence.push(Evidence::new(
        "threshold_percent",
        p.below_percent_of_reference.to_string(),
    ));
    Some(Finding {
        summary: format!(
            "{flagged} line(s) declared below {} % of the reference price, the lowest at {} % of it.",
            p.below_percent_of_reference,
            (lowest * hundred).round_dp(0)
        ),
        evidence,
    })
}

/// R8 — a payment time that cannot belong to this purchase.
fn sequence(p: &SequenceParams, input: &RiskInput) -> Option<Finding> {
    let paid = input.paid_at.0;
    let minutes = |ms: i64| (ms / MS_PER_MINUTE).to_string();
    let mut reasons: Vec<(&str, String)> = Vec::new();
    let after_inventory = paid.saturating_sub(input.inventory_declared_at.0);
    if after_inventory > i64::from(p.paid_after_inventory_minutes) * MS_PER_MINUTE {
        reasons.push(("paid_after_inventory_minutes", minutes(after_inventory)));
    }
    let after_match = paid.saturating_sub(input.at.0);
    if after_match > i64::from(p.paid_after_match_minutes) * MS_PER_MINUTE {
        reasons.push(("paid_after_match_minutes", minutes(after_match)));
    }
    let before_order = input.order_declared_at.0.saturating_sub(paid);
    if before_order > days_ms(p.paid_before_order_days) {
        reasons.push((
            "paid_before_order_days",
            (before_order / MS_PER_DAY).to_string(),
        ));
    }
    if reasons.is_empty() {
        return None;
    }
    let what: Vec<String> = reasons
        .iter()
        .map(|(name, v)| match *name {
            "paid_after_inventory_minutes" => {
                format!("{v} min after the inventory was declared")
            }
            "paid_after_match_minutes" => format!("{v} min after the match"),
            _ => format!("{v} days before the order was declared"),
        })
        .collect();
    let time = |t: Timestamp| t.ceb_time14();
    let mut evidence = vec![
        Evidence::new("paid_at", time(input.paid_at)),
        Evidence::new("order_declared_at", time(input.order_declared_at)),
        Evidence::new("inventory_declared_at", time(input.inventory_declared_at)),
        Evidence::new("matched_at", time(input.at)),
    ];
    for (name, v) in reasons {
        evidence.push(Evidence::new(name, v));
    }
    Some(Finding {
        summary: format!("The payment is dated {}.", what.join(" and ")),
        evidence,
    })
}

/// R9 — a recently filed seller whose volume jumps.
fn spike(seen: &Seen, p: &SpikeParams, input: &RiskInput) -> Option<Finding> {
    let filed = input.ebc_filed_at?;
    let age = input.at.0.saturating_sub(filed.0);
    if age >= days_ms(p.new_enterprise_days) || input.ebc_code.is_empty() {
        return None;
    }
    let window_cut = input.at.0.saturating_sub(hours_ms(p.window_hours));
    let base_cut = window_cut.saturating_sub(days_ms(p.baseline_days));
    let (in_window, in_base) = match seen.seller {
        Some(q) => {
            let w = window_start(q, window_cut, |t| *t);
            let b = window_start(q, base_cut, |t| *t);
            (q.len() - w, w - b)
        }
        None => (0, 0),
    };
    let n = u64::try_from(in_window)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let base = u64::try_from(in_base).unwrap_or(u64::MAX);
    // n >= factor × base / days, in integers.
    let spiking = n >= u64::from(p.min_declarations)
        && n.saturating_mul(u64::from(p.baseline_days))
            >= base.saturating_mul(u64::from(p.spike_factor));
    if !spiking {
        return None;
    }
    let average = (Decimal::from(base) / Decimal::from(p.baseline_days)).round_dp(2);
    let threshold = Decimal::from(p.min_declarations)
        .max(average.saturating_mul(Decimal::from(p.spike_factor)));
    let filed_days = age / MS_PER_DAY;
    Some(Finding {
        summary: format!(
            "Seller {}, filed {filed_days} days ago, declared {n} parcels in {} h against a daily average of {} over the {} days before.",
            input.ebc_code,
            p.window_hours,
            money(average),
            p.baseline_days
        ),
        evidence: vec![
            Evidence::new("seller", input.ebc_code.clone()),
            Evidence::new("filed_days_ago", filed_days.to_string()),
            Evidence::new("orders_in_window", n.to_string()),
            Evidence::new("window_hours", p.window_hours.to_string()),
            Evidence::new("baseline_daily_average", money(average)),
            Evidence::new("baseline_days", p.baseline_days.to_string()),
            Evidence::new("threshold", money(threshold)),
        ],
    })
}

/// R11 — more than a person uses: one big line, or one heading bought again and again.
fn quantity(seen: &Seen, p: &QuantityParams, input: &RiskInput) -> Option<Finding> {
    let mut evidence = Vec::new();
    let mut parts = Vec::new();
    for line in input.lines.iter().filter(|l| l.qty > p.max_line_qty) {
        if evidence.len() < MAX_LISTED * 4 {
            evidence.push(Evidence::new("line", line.gnum.to_string()));
            evidence.push(Evidence::new("hs", line.hs.clone()));
            evidence.push(Evidence::new("qty", line.qty.normalize().to_string()));
            evidence.push(Evidence::new("unit", line.unit.clone()));
        }
        parts.push(format!(
            "line {} has {} units",
            line.gnum,
            line.qty.normalize()
        ));
    }
    if !parts.is_empty() {
        evidence.push(Evidence::new(
            "max_line_qty",
            p.max_line_qty.normalize().to_string(),
        ));
    }
    if !input.buyer.is_empty() {
        let entries = seen.buyer.map(|t| &t.entries);
        let cutoff = input.at.0.saturating_sub(days_ms(p.window_days));
        let start = entries.map_or(0, |q| window_start(q, cutoff, |e| e.at));
        let mut over = false;
        // Each heading once, at its first line (no allocation: declarations have few lines).
        for (n, first) in input.lines.iter().enumerate() {
            let h = hs6(&first.hs);
            if input.lines.iter().take(n).any(|l| hs6(&l.hs) == h) {
                continue;
            }
            let heading = first.hs.get(..6).unwrap_or(&first.hs);
            let qty = input
                .lines
                .iter()
                .skip(n)
                .filter(|l| hs6(&l.hs) == h)
                .fold(Decimal::ZERO, |s, l| s.saturating_add(l.qty));
            let earlier = |e: &BuyerEntry| {
                e.lines
                    .iter()
                    .filter(|(x, _)| *x == h)
                    .fold(Decimal::ZERO, |s, (_, q)| s.saturating_add(*q))
            };
            let total = entries.map_or(qty, |q| {
                q.range(start..)
                    .fold(qty, |s, e| s.saturating_add(earlier(e)))
            });
            if total <= p.max_qty_per_hs6 {
                continue;
            }
            over = true;
            let ids = id_list(
                entries
                    .into_iter()
                    .flat_map(|q| q.range(start..))
                    .filter(|e| earlier(e) > Decimal::ZERO)
                    .map(|e| &*e.decl),
                &input.declaration,
            );
            parts.push(format!(
                "the buyer took {} units of heading {heading} within {} days",
                total.normalize(),
                p.window_days
            ));
            evidence.push(Evidence::new("buyer", short(&input.buyer)));
            evidence.push(Evidence::new("hs6", heading));
            evidence.push(Evidence::new(
                "qty_in_window",
                total.normalize().to_string(),
            ));
            evidence.push(Evidence::new("declarations", ids));
        }
        if over {
            evidence.push(Evidence::new("window_days", p.window_days.to_string()));
            evidence.push(Evidence::new(
                "max_qty_per_hs6",
                p.max_qty_per_hs6.normalize().to_string(),
            ));
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(Finding {
        summary: format!("Quantities beyond personal use: {}.", parts.join("; ")),
        evidence,
    })
}

/// R13 — a buyer close to the annual limit, or using it up fast.
fn quota(seen: &Seen, p: &QuotaParams, input: &RiskInput) -> Option<Finding> {
    let annual = input.annual_limit;
    if annual <= Decimal::ZERO {
        return None;
    }
    let hundred = Decimal::ONE_HUNDRED;
    let percent_of = |v: Decimal| {
        v.saturating_mul(hundred)
            .checked_div(annual)
            .map_or_else(String::new, money)
    };
    let mut evidence = Vec::new();
    let mut parts = Vec::new();
    let used_after = input.quota_used_before.saturating_add(input.value);
    if used_after.saturating_mul(hundred)
        >= annual.saturating_mul(Decimal::from(p.used_percent_of_annual))
    {
        parts.push(format!(
            "this declaration brings the annual quota used to {} % of {} CNY",
            percent_of(used_after),
            money(annual)
        ));
        evidence.push(Evidence::new("quota_used_after", money(used_after)));
        evidence.push(Evidence::new("used_percent", percent_of(used_after)));
        evidence.push(Evidence::new(
            "used_threshold_percent",
            p.used_percent_of_annual.to_string(),
        ));
    }
    if !input.buyer.is_empty() {
        let entries = seen.buyer.map(|t| &t.entries);
        let cutoff = input.at.0.saturating_sub(days_ms(p.window_days));
        let start = entries.map_or(0, |q| window_start(q, cutoff, |e| e.at));
        let sum = entries.map_or(input.value, |q| {
            q.range(start..)
                .fold(input.value, |s, e| s.saturating_add(e.value))
        });
        if sum.saturating_mul(hundred)
            >= annual.saturating_mul(Decimal::from(p.window_percent_of_annual))
        {
            parts.push(format!(
                "the buyer declared {} CNY ({} % of the annual limit) within {} days",
                money(sum),
                percent_of(sum),
                p.window_days
            ));
            let ids = id_list(
                entries
                    .into_iter()
                    .flat_map(|q| q.range(start..))
                    .map(|e| &*e.decl),
                &input.declaration,
            );
            evidence.push(Evidence::new("buyer", short(&input.buyer)));
            evidence.push(Evidence::new("sum", money(sum)));
            evidence.push(Evidence::new("window_days", p.window_days.to_string()));
            evidence.push(Evidence::new(
                "window_threshold_percent",
                p.window_percent_of_annual.to_string(),
            ));
            evidence.push(Evidence::new("declarations", ids));
        }
    }
    if parts.is_empty() {
        return None;
    }
    evidence.push(Evidence::new("annual_limit", money(annual)));
    Some(Finding {
        summary: format!("Fast quota use: {}.", parts.join("; ")),
        evidence,
    })
}
