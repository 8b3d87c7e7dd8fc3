//! The statistics parts of the portal, drawn from the statistics aggregates (`Store::stat_query`,
//! docs/statistics.md): headline figures and the index chart on the public pages, the live
//! clearance dashboard, statistics with drill-down (month → day, class → country of origin) and
//! the index for staff.
//!
//! The public index page shows what the zone office published (journaled
//! `IndexAction::Publish`); the staff page computes the provisional index of every month from
//! the monthly figures with `domain::statistics::index` and the settings in force, and lets the
//! zone office publish a month and change the settings (`IndexAction::Configure`).

use axum::response::Response;
use domain::statistics::index::{IndexSettings, Indicator, MonthIndex, Publication, SubIndex};
use domain::statistics::{BUCKETS, Classification, Month, day_of, quantile_ms};
use domain::time::Timestamp;
use store::{RecordQuery, StatDim, StatQuery, StatRow, StatTable};

use super::chart::{self, Point};
use super::i18n::{self, Lang, M};
use super::page::{Cell, Chart, Section, Table};
use super::{Ctx, encode};
use crate::api::blocking;
use crate::problem::Problem;
use ingest::clock::now_ms;

/// A statistics query with owned parts (run on a blocking thread).
struct Ask {
    table: StatTable,
    from: i32,
    to: i32,
    group: Vec<StatDim>,
    filters: Vec<(StatDim, String)>,
    distinct: Vec<StatDim>,
}

impl Ask {
    fn new(table: StatTable, from: i32, to: i32) -> Ask {
        Ask {
            table,
            from,
            to,
            group: Vec::new(),
            filters: Vec::new(),
            distinct: Vec::new(),
        }
    }

    fn group(mut self, dims: &[StatDim]) -> Ask {
        self.group = dims.to_vec();
        self
    }

    fn filter(mut self, dim: StatDim, value: &str) -> Ask {
        self.filters.push((dim, value.to_string()));
        self
    }

    fn distinct(mut self, dims: &[StatDim]) -> Ask {
        self.distinct = dims.to_vec();
        self
    }

    async fn run(self, ctx: &Ctx) -> Result<Vec<StatRow>, Problem> {
        let store = ctx.state.store.clone();
        blocking(move || {
            let filters: Vec<(StatDim, &str)> =
                self.filters.iter().map(|(d, v)| (*d, v.as_str())).collect();
            store.stat_query(&StatQuery {
                table: self.table,
                from_day: self.from,
                to_day: self.to,
                group_by: &self.group,
                filters: &filters,
                distinct: &self.distinct,
            })
        })
        .await
    }
}

/// The index of a measure of a table by name.
fn measure(table: StatTable, name: &str) -> usize {
    table
        .measures()
        .iter()
        .position(|m| *m == name)
        .unwrap_or(usize::MAX)
}

fn m(row: &StatRow, table: StatTable, name: &str) -> i64 {
    row.measures.get(measure(table, name)).copied().unwrap_or(0)
}

fn today() -> i32 {
    day_of(Timestamp(now_ms()))
}

/// `YYYYMMDD` → the day in words.
fn day_words(key: &str, lang: Lang) -> String {
    let digits: String = key.chars().filter(char::is_ascii_digit).collect();
    domain::time::CivilDate::parse_yyyymmdd(&digits)
        .map(|d| match lang {
            Lang::Zh => format!("{}月{}日", d.month, d.day),
            Lang::En => i18n::date(d, lang)
                .rsplit_once(' ')
                .map(|(dm, _)| dm.to_string())
                .unwrap_or_default(),
        })
        .unwrap_or_else(|| key.to_string())
}

fn month_words(key: &str, lang: Lang) -> String {
    Month::parse(key)
        .map(|m| i18n::month(m.year, m.month, lang))
        .unwrap_or_else(|| key.to_string())
}

fn class_name(code: &str, lang: Lang) -> String {
    Classification::builtin()
        .get(code)
        .map(|c| lang.pick(&c.name_zh, &c.name_en).to_string())
        .unwrap_or_else(|| code.to_string())
}

fn yuan(fen: i64) -> f64 {
    fen as f64 / 100.0
}

fn day_minus(day: i32, days: i64) -> i32 {
    let date = domain::time::CivilDate::parse_yyyymmdd(&day.to_string())
        .unwrap_or(Timestamp(now_ms()).beijing_date());
    domain::statistics::facts::day_number(date.add_days(-days))
}

/// A chart with its data table.
fn chart_of(svg: String, caption: &str, head: Vec<String>, rows: Vec<Vec<Cell>>) -> Chart {
    Chart {
        svg,
        table: Table {
            caption: caption.to_string(),
            head,
            rows,
        },
    }
}

// ---- the index ----

/// The provisional index of every month with data up to this one (at most five years), with the
/// settings in force (`statistics::provisional_index`).
async fn index_series(ctx: &Ctx) -> Result<(IndexSettings, Vec<MonthIndex>), Problem> {
    let this = Month::of(Timestamp(now_ms()));
    let from = Month {
        year: this.year - 5,
        month: this.month,
    };
    let store = ctx.state.store.clone();
    blocking(move || crate::statistics::provisional_index(store.as_ref(), from, this)).await
}

/// The publications of the index: the current revision of each published month, in month order
/// (`status = None`: every revision).
async fn publications(
    ctx: &Ctx,
    status: Option<&'static str>,
) -> Result<Vec<Publication>, Problem> {
    let store = ctx.state.store.clone();
    let rows = blocking(move || {
        store.records(&RecordQuery {
            status,
            ..RecordQuery::new("index", 1000)
        })
    })
    .await?;
    let mut out: Vec<Publication> = rows
        .iter()
        .filter_map(|r| serde_json::from_str(&r.body).ok())
        .collect();
    out.sort_by_key(|p| (p.month, p.revision));
    Ok(out)
}

fn index_chart(ctx: &Ctx, series: &[MonthIndex], id: &str) -> Option<Chart> {
    let points: Vec<Point> = series
        .iter()
        .filter_map(|mi| {
            let v = mi.composite?;
            let value = v.to_string().parse::<f64>().ok()?;
            Some(Point::new(mi.month.to_string(), value, v.to_string()))
        })
        .collect();
    if points.is_empty() {
        return None;
    }
    let title = ctx.t(M::IndexTitle);
    let desc = ctx.pick(
        "跨境电子商务综合指数，按月，基期=100",
        "CBEC composite index by month, base period = 100",
    );
    let rows = series
        .iter()
        .map(|mi| {
            let mut row = vec![
                Cell::text(month_words(&mi.month.to_string(), ctx.lang)),
                Cell::num(mi.composite.map(|c| c.to_string()).unwrap_or_default()),
            ];
            for s in &mi.sub_indices {
                row.push(Cell::num(
                    s.value.map(|v| v.to_string()).unwrap_or_default(),
                ));
            }
            row
        })
        .collect();
    Some(chart_of(
        chart::line(id, title, desc, &points),
        ctx.t(M::DataTable),
        vec![
            ctx.t(M::Month).into(),
            ctx.t(M::IndexValue).into(),
            ctx.pick("商品贸易", "Goods trade").into(),
            ctx.pick("物流通关", "Logistics and clearance").into(),
            ctx.pick("支付金融", "Payment and finance").into(),
        ],
        rows,
    ))
}

fn provisional_note(ctx: &Ctx) -> &'static str {
    ctx.pick(
        "暂定值：按现有统计数据与现行指数设置计算；以综试办正式发布为准。",
        "Provisional: computed from the statistics as they stand, with the index settings in force; only the zone office's publication is the index.",
    )
}

/// The published index: one point per published month (its current revision).
pub async fn public_index(ctx: &mut Ctx) -> Vec<Section> {
    let published = match publications(ctx, Some("current")).await {
        Ok(p) => p,
        Err(_) => return vec![Section::new("index", "").note("error", ctx.t(M::UnavailableText))],
    };
    let series: Vec<MonthIndex> = published.iter().map(|p| p.index.clone()).collect();
    let mut section = Section::new("index", "").note("info", published_note(ctx));
    match index_chart(ctx, &series, "index-chart") {
        Some(chart) => section = section.chart(chart),
        None => {
            section = section.note(
                "info",
                ctx.pick(
                    "综试办尚未发布任何月份的指数。",
                    "The zone office has not published the index of any month yet.",
                ),
            )
        }
    }
    if let Some(last) = published.last() {
        section = section
            .fact(
                month_words(&last.month.to_string(), ctx.lang),
                last.index
                    .composite
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
            )
            .fact(
                ctx.pick("发布时间", "Published"),
                i18n::datetime(last.published_at.0, ctx.lang),
            )
            .fact(ctx.pick("修订版次", "Revision"), last.revision.to_string());
    }
    vec![section.link(
        "/api/public/index?format=csv",
        ctx.pick("下载CSV", "Download CSV"),
    )]
}

fn published_note(ctx: &Ctx) -> &'static str {
    ctx.pick(
        "综试办按月发布的跨境电子商务指数（基期=100）；每月显示其最新修订版。方法见指数编制说明。",
        "The CBEC index as the zone office publishes it each month (base period = 100); each month shows its latest revision. The methodology document explains how it is made.",
    )
}

// ---- public statistics ----

/// Months from `back` months ago to this one.
fn recent_months(back: u32) -> (Month, Month) {
    let this = Month::of(Timestamp(now_ms()));
    let mut first = this;
    for _ in 0..back {
        first = first.prev();
    }
    (first, this)
}

/// Released lists and value by month, zone-wide; a month with fewer enterprises than the
/// disclosure threshold is withheld.
async fn monthly_totals(ctx: &Ctx, id: &str, public: bool) -> Result<Section, Problem> {
    let (first, this) = recent_months(11);
    let rows = Ask::new(StatTable::Lists, first.first_day(), this.last_day())
        .group(&[StatDim::Month])
        .distinct(&[StatDim::Ebc])
        .run(ctx)
        .await?;
    let k = i64::from(IndexSettings::default().disclosure_threshold);
    let t = StatTable::Lists;
    let shown: Vec<&StatRow> = rows
        .iter()
        .filter(|r| !public || r.distinct.first().copied().unwrap_or(0) >= k)
        .collect();
    let mut section = Section::new(id, ctx.pick("按月放行清单", "Released lists by month"));
    if shown.is_empty() {
        return Ok(section.note("info", ctx.t(M::NotYet)));
    }
    let points: Vec<Point> = shown
        .iter()
        .map(|r| {
            let key = r.keys.first().cloned().unwrap_or_default();
            Point::new(
                key,
                yuan(m(r, t, "value_fen")),
                i18n::fen(m(r, t, "value_fen")),
            )
        })
        .collect();
    let table_rows = shown
        .iter()
        .map(|r| {
            let key = r.keys.first().cloned().unwrap_or_default();
            let label = month_words(&key, ctx.lang);
            vec![
                if public {
                    Cell::text(label)
                } else {
                    Cell::link(label, format!("/desk/statistics?month={}", encode(&key)))
                },
                Cell::num(i18n::count(m(r, t, "declarations"))),
                Cell::num(i18n::fen(m(r, t, "value_fen"))),
                Cell::num(i18n::fen(
                    m(r, t, "customs_tax_fen")
                        + m(r, t, "vat_fen")
                        + m(r, t, "consumption_tax_fen"),
                )),
                Cell::num(i18n::count(r.distinct.first().copied().unwrap_or(0))),
            ]
        })
        .collect::<Vec<_>>();
    let head = vec![
        ctx.t(M::Month).to_string(),
        ctx.pick("放行清单", "Released lists").to_string(),
        ctx.t(M::Value).to_string(),
        ctx.t(M::Tax).to_string(),
        ctx.pick("活跃电商企业", "Active sellers").to_string(),
    ];
    section = section.chart(chart_of(
        chart::bars(
            &format!("{id}-chart"),
            ctx.pick("按月货值", "Value by month"),
            ctx.pick(
                "放行清单的完税价格合计，按月",
                "Dutiable value of released lists by month",
            ),
            &points,
        ),
        ctx.t(M::DataTable),
        head.clone(),
        table_rows.clone(),
    ));
    if !public {
        section = section.table(Table {
            caption: ctx
                .pick(
                    "按月（点击月份查看每日与商品类别）",
                    "By month (follow a month for days and goods classes)",
                )
                .into(),
            head,
            rows: table_rows,
        });
    }
    Ok(section)
}

/// Goods classes of one month, with disclosure control for the public.
async fn classes_of(ctx: &Ctx, month: Month, public: bool) -> Result<Section, Problem> {
    let t = StatTable::Goods;
    let mut section = Section::new(
        "classes",
        format!(
            "{} · {}",
            month_words(&month.to_string(), ctx.lang),
            ctx.pick("按商品类别", "by goods class")
        ),
    );
    let rows = Ask::new(t, month.first_day(), month.last_day())
        .group(&[StatDim::Class, StatDim::Ebc])
        .run(ctx)
        .await?;
    let contributions: Vec<domain::statistics::disclosure::Contribution> = rows
        .iter()
        .map(|r| domain::statistics::disclosure::Contribution {
            keys: vec![r.keys.first().cloned().unwrap_or_default()],
            partition: month.to_string(),
            contributor: r.keys.get(1).cloned().unwrap_or_default(),
            measures: vec![m(r, t, "lines"), m(r, t, "value_fen")],
        })
        .collect();
    let k = if public {
        IndexSettings::default().disclosure_threshold as usize
    } else {
        1
    };
    let mut cells = domain::statistics::disclosure::protect(&contributions, k);
    cells.sort_by_key(|c| std::cmp::Reverse(c.measures.as_ref().map_or(-1, |v| v[1])));
    if cells.is_empty() {
        return Ok(section.note("info", ctx.t(M::NotYet)));
    }
    let points: Vec<Point> = cells
        .iter()
        .filter_map(|c| {
            let v = c.measures.as_ref()?;
            Some(Point::new(
                class_name(&c.keys[0], ctx.lang),
                yuan(v[1]),
                i18n::fen(v[1]),
            ))
        })
        .take(12)
        .collect();
    let withheld = ctx.pick("（保密）", "(withheld)");
    let table_rows: Vec<Vec<Cell>> = cells
        .iter()
        .map(|c| {
            let name = class_name(&c.keys[0], ctx.lang);
            let first = if public {
                Cell::text(name)
            } else {
                Cell::link(
                    name,
                    format!(
                        "/desk/statistics?month={}&class={}",
                        encode(&month.to_string()),
                        encode(&c.keys[0])
                    ),
                )
            };
            match &c.measures {
                Some(v) => vec![
                    first,
                    Cell::num(i18n::count(v[0])),
                    Cell::num(i18n::fen(v[1])),
                ],
                None => vec![first, Cell::num(withheld), Cell::num(withheld)],
            }
        })
        .collect();
    let head = vec![
        ctx.pick("商品类别", "Goods class").to_string(),
        ctx.pick("商品项数", "Lines").to_string(),
        ctx.t(M::Value).to_string(),
    ];
    if !points.is_empty() {
        section = section.chart(chart_of(
            chart::rows(
                "classes-chart",
                ctx.pick("商品类别货值", "Value by goods class"),
                ctx.pick(
                    "当月放行商品按类别的货值",
                    "Value of released goods by class this month",
                ),
                &points,
            ),
            ctx.t(M::DataTable),
            head.clone(),
            table_rows.clone(),
        ));
    }
    if !public {
        section = section.table(Table {
            caption: String::new(),
            head,
            rows: table_rows,
        });
    }
    Ok(section)
}

pub async fn public_statistics(ctx: &mut Ctx) -> Vec<Section> {
    let mut out = Vec::new();
    let note = ctx.pick(
        "公开统计只显示至少3家电商企业参与的数据（统计保密）。",
        "Public tables show only figures to which at least 3 sellers contribute (statistical confidentiality).",
    );
    out.push(Section::new("disclosure", "").note("info", note));
    match monthly_totals(ctx, "monthly", true).await {
        Ok(s) => out.push(s),
        Err(_) => out.push(Section::new("monthly", "").note("error", ctx.t(M::UnavailableText))),
    }
    let this = Month::of(Timestamp(now_ms()));
    if let Ok(s) = classes_of(ctx, this, true).await {
        out.push(s);
    }
    out
}

pub async fn public_headline(ctx: &mut Ctx) -> Vec<Section> {
    let this = Month::of(Timestamp(now_ms()));
    let t = StatTable::Lists;
    let mut section = Section::new("headline", ctx.t(M::Headline));
    let totals = Ask::new(t, this.first_day(), this.last_day())
        .distinct(&[StatDim::Ebc])
        .run(ctx)
        .await;
    let k = i64::from(IndexSettings::default().disclosure_threshold);
    match totals {
        Ok(rows) => match rows.first() {
            Some(r) if r.distinct.first().copied().unwrap_or(0) >= k => {
                section = section
                    .fact(
                        format!(
                            "{} · {}",
                            month_words(&this.to_string(), ctx.lang),
                            ctx.pick("放行清单", "released lists")
                        ),
                        i18n::count(m(r, t, "declarations")),
                    )
                    .fact(ctx.t(M::Value), i18n::fen(m(r, t, "value_fen")))
                    .fact(
                        ctx.pick("活跃电商企业", "Active sellers"),
                        i18n::count(r.distinct.first().copied().unwrap_or(0)),
                    );
            }
            _ => section = section.note("info", ctx.t(M::NotYet)),
        },
        Err(_) => section = section.note("error", ctx.t(M::UnavailableText)),
    }
    if let Ok(published) = publications(ctx, Some("current")).await {
        let series: Vec<MonthIndex> = published.iter().map(|p| p.index.clone()).collect();
        if let Some(chart) = index_chart(ctx, &series, "home-index-chart") {
            section = section.chart(chart).link("/index", ctx.t(M::NavIndex));
        }
    }
    vec![section]
}

// ---- staff ----

pub async fn dashboard(ctx: &mut Ctx) -> Result<Vec<Section>, Response> {
    let fail = |p: Problem| ctx.failed(p);
    let to = today();
    let from = day_minus(to, 13);
    let t = StatTable::Lists;
    // Throughput: released lists per day over two weeks.
    let days = Ask::new(t, from, to)
        .group(&[StatDim::Day])
        .run(ctx)
        .await
        .map_err(fail)?;
    let today_key = {
        let s = to.to_string();
        format!("{}-{}-{}", &s[0..4], &s[4..6], &s[6..8])
    };
    let today_row = days.iter().find(|r| r.keys.first() == Some(&today_key));
    let mut throughput = Section::new("throughput", ctx.t(M::Throughput))
        .fact(
            ctx.pick("今日放行", "Released today"),
            i18n::count(today_row.map_or(0, |r| m(r, t, "declarations"))),
        )
        .fact(
            ctx.pick("今日货值", "Value today"),
            i18n::fen(today_row.map_or(0, |r| m(r, t, "value_fen"))),
        )
        .fact(
            ctx.pick("今日退单", "Refused today"),
            i18n::count(today_row.map_or(0, |r| m(r, t, "refused"))),
        )
        .live();
    let points: Vec<Point> = days
        .iter()
        .map(|r| {
            let key = r.keys.first().cloned().unwrap_or_default();
            let n = m(r, t, "declarations");
            Point::new(day_words(&key, ctx.lang), n as f64, i18n::count(n))
        })
        .collect();
    if !points.is_empty() {
        let rows = days
            .iter()
            .map(|r| {
                vec![
                    Cell::text(day_words(r.keys.first().map_or("", |k| k), ctx.lang)),
                    Cell::num(i18n::count(m(r, t, "declarations"))),
                    Cell::num(i18n::count(m(r, t, "refused"))),
                    Cell::num(i18n::fen(m(r, t, "value_fen"))),
                ]
            })
            .collect();
        throughput = throughput.chart(chart_of(
            chart::bars(
                "throughput-chart",
                ctx.pick(
                    "每日放行清单（近14天）",
                    "Released lists per day (last 14 days)",
                ),
                ctx.pick("每日放行的清单数", "Lists released each day"),
                &points,
            ),
            ctx.t(M::DataTable),
            vec![
                ctx.t(M::Day).into(),
                ctx.pick("放行", "Released").into(),
                ctx.pick("退单", "Refused").into(),
                ctx.t(M::Value).into(),
            ],
            rows,
        ));
    }
    // Backlog: declarations by status (from the declaration projection).
    let store = ctx.state.store.clone();
    let counts = blocking(move || store.declaration_status_counts())
        .await
        .map_err(fail)?;
    let in_flight: Vec<&(i32, i64)> = counts
        .iter()
        .filter(|(s, _)| ![800, 899, 100].contains(s))
        .collect();
    let mut backlog = Section::new("backlog", ctx.t(M::Backlog)).live();
    backlog = backlog.fact(
        ctx.pick("在途合计", "In flight"),
        i18n::count(in_flight.iter().map(|(_, n)| n).sum()),
    );
    let points: Vec<Point> = counts
        .iter()
        .map(|(s, n)| {
            Point::new(
                format!("{s} {}", i18n::status_name(*s, ctx.lang)),
                *n as f64,
                i18n::count(*n),
            )
        })
        .collect();
    if !points.is_empty() {
        let rows = counts
            .iter()
            .map(|(s, n)| {
                vec![
                    Cell::link(
                        format!("{s} {}", i18n::status_name(*s, ctx.lang)),
                        format!("/desk/declarations?status={s}"),
                    ),
                    Cell::num(i18n::count(*n)),
                ]
            })
            .collect::<Vec<_>>();
        backlog = backlog.chart(chart_of(
            chart::rows(
                "backlog-chart",
                ctx.t(M::Backlog),
                ctx.pick("各状态的申报单数量", "Declarations in each status"),
                &points,
            ),
            ctx.t(M::DataTable),
            vec![ctx.t(M::Status).into(), ctx.t(M::Count).into()],
            rows.clone(),
        ));
        backlog = backlog.table(Table {
            caption: String::new(),
            head: vec![ctx.t(M::Status).into(), ctx.t(M::Count).into()],
            rows,
        });
    }
    // Rejections by reason over 30 days.
    let from30 = day_minus(to, 29);
    let reasons = Ask::new(StatTable::Rejections, from30, to)
        .group(&[StatDim::Code])
        .run(ctx)
        .await
        .map_err(fail)?;
    let mut reasons: Vec<(String, i64)> = reasons
        .iter()
        .map(|r| {
            (
                r.keys.first().cloned().unwrap_or_default(),
                r.measures.first().copied().unwrap_or(0),
            )
        })
        .collect();
    reasons.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let mut rejections = Section::new("rejections", ctx.t(M::RejectionsByReason)).live();
    if reasons.is_empty() {
        rejections = rejections.note("info", ctx.t(M::NoneFound));
    } else {
        let words = |code: &str| {
            domain::clearance::ErrorCode::ALL
                .iter()
                .find(|c| c.code() == code)
                .map(|c| ctx.pick(c.desc_zh(), c.desc_en()).to_string())
                .unwrap_or_default()
        };
        let points: Vec<Point> = reasons
            .iter()
            .take(10)
            .map(|(code, n)| {
                Point::new(
                    format!("{code} {}", words(code)),
                    *n as f64,
                    i18n::count(*n),
                )
            })
            .collect();
        let rows = reasons
            .iter()
            .map(|(code, n)| {
                vec![
                    Cell::text(code.clone()),
                    Cell::text(words(code)),
                    Cell::num(i18n::count(*n)),
                ]
            })
            .collect();
        rejections = rejections.chart(chart_of(
            chart::rows(
                "rejections-chart",
                ctx.pick("退单原因（近30天）", "Rejections by reason (last 30 days)"),
                ctx.pick(
                    "按错误代码统计的退单数",
                    "Refused messages by catalogue code",
                ),
                &points,
            ),
            ctx.t(M::DataTable),
            vec![
                ctx.t(M::Code).into(),
                ctx.t(M::Reason).into(),
                ctx.t(M::Count).into(),
            ],
            rows,
        ));
    }
    // Clearance time over 30 days.
    let buckets = Ask::new(StatTable::Clearance, from30, to)
        .group(&[StatDim::Bucket])
        .run(ctx)
        .await
        .map_err(fail)?;
    let counts: Vec<i64> = BUCKETS
        .iter()
        .map(|(code, _, _)| {
            buckets
                .iter()
                .find(|r| r.keys.first().map(String::as_str) == Some(*code))
                .and_then(|r| r.measures.first().copied())
                .unwrap_or(0)
        })
        .collect();
    let mut clearance = Section::new("clearance", ctx.t(M::ClearanceTime)).live();
    if counts.iter().all(|c| *c == 0) {
        clearance = clearance.note("info", ctx.t(M::NoneFound));
    } else {
        if let Some(p50) = quantile_ms(&counts, 0.5) {
            clearance = clearance.fact(ctx.pick("中位数", "Median"), i18n::duration(p50, ctx.lang));
        }
        if let Some(p90) = quantile_ms(&counts, 0.9) {
            clearance = clearance.fact(
                ctx.pick("90%分位", "90th percentile"),
                i18n::duration(p90, ctx.lang),
            );
        }
        let label = |i: usize| {
            let (_, _, en) = BUCKETS[i];
            match ctx.lang {
                Lang::En => en.to_string(),
                Lang::Zh => [
                    "1分钟内",
                    "1–10分钟",
                    "10分钟–1小时",
                    "1–4小时",
                    "4–24小时",
                    "1–3天",
                    "3天以上",
                ]
                .get(i)
                .copied()
                .unwrap_or(en)
                .to_string(),
            }
        };
        let points: Vec<Point> = counts
            .iter()
            .enumerate()
            .map(|(i, n)| Point::new(label(i), *n as f64, i18n::count(*n)))
            .collect();
        let rows = counts
            .iter()
            .enumerate()
            .map(|(i, n)| vec![Cell::text(label(i)), Cell::num(i18n::count(*n))])
            .collect();
        clearance = clearance.chart(chart_of(
            chart::bars(
                "clearance-chart",
                ctx.pick("通关时长分布（近30天）", "Clearance time (last 30 days)"),
                ctx.pick(
                    "从单证齐全到放行的时长分布",
                    "Time from complete documents to release",
                ),
                &points,
            ),
            ctx.t(M::DataTable),
            vec![ctx.t(M::ClearanceTime).into(), ctx.t(M::Count).into()],
            rows,
        ));
    }
    let queues = queue_sizes(ctx).await?.live();
    Ok(vec![throughput, backlog, rejections, clearance, queues])
}

/// Queue sizes of the supervision records, cheap counts.
async fn queue_sizes(ctx: &Ctx) -> Result<Section, Response> {
    let store = ctx.state.store.clone();
    let counts = blocking(move || {
        Ok([
            store.count_records("alert", Some("open"))?,
            store.count_records("inspection", Some("open"))?,
            store.count_records("listing", None)?,
            store.count_records("recall", None)?,
        ])
    })
    .await
    .map_err(|e| ctx.failed(e))?;
    Ok(Section::new("queues", ctx.t(M::Queues))
        .fact(
            ctx.pick("待评估预警", "Open alerts"),
            i18n::count(counts[0]),
        )
        .fact(
            ctx.pick("待查验任务", "Open inspections"),
            i18n::count(counts[1]),
        )
        .fact(ctx.t(M::NavListings), i18n::count(counts[2]))
        .fact(ctx.t(M::Recalls), i18n::count(counts[3]))
        .link("/desk/alerts?status=open", ctx.t(M::NavAlerts))
        .link("/desk/inspections?status=open", ctx.t(M::NavInspections)))
}

/// Statistics with drill-down: months → a month's days and goods classes → a class's countries
/// of origin.
pub async fn desk_statistics(ctx: &mut Ctx) -> Result<Vec<Section>, Response> {
    let fail = |p: Problem| ctx.failed(p);
    let month = ctx.param("month").and_then(Month::parse);
    let class = ctx.param("class").map(str::to_string);
    let Some(month) = month else {
        return Ok(vec![
            monthly_totals(ctx, "monthly", false).await.map_err(fail)?,
        ]);
    };
    let t = StatTable::Lists;
    let mut out = Vec::new();
    let back =
        Section::new("crumbs", "").link("/desk/statistics", ctx.pick("全部月份", "All months"));
    if let Some(class) = class {
        let back = back.link(
            format!("/desk/statistics?month={}", encode(&month.to_string())),
            month_words(&month.to_string(), ctx.lang),
        );
        out.push(back);
        let g = StatTable::Goods;
        let rows = Ask::new(g, month.first_day(), month.last_day())
            .group(&[StatDim::Origin])
            .filter(StatDim::Class, &class)
            .run(ctx)
            .await
            .map_err(fail)?;
        let mut s = Section::new(
            "origins",
            format!(
                "{} · {} · {}",
                month_words(&month.to_string(), ctx.lang),
                class_name(&class, ctx.lang),
                ctx.pick("按原产国", "by country of origin")
            ),
        );
        let points: Vec<Point> = rows
            .iter()
            .map(|r| {
                Point::new(
                    r.keys.first().cloned().unwrap_or_default(),
                    yuan(m(r, g, "value_fen")),
                    i18n::fen(m(r, g, "value_fen")),
                )
            })
            .collect();
        let table_rows: Vec<Vec<Cell>> = rows
            .iter()
            .map(|r| {
                vec![
                    Cell::text(r.keys.first().cloned().unwrap_or_default()),
                    Cell::num(i18n::count(m(r, g, "lines"))),
                    Cell::num(i18n::fen(m(r, g, "value_fen"))),
                ]
            })
            .collect();
        let head = vec![
            ctx.pick("原产国（代码）", "Country of origin (code)")
                .to_string(),
            ctx.pick("商品项数", "Lines").to_string(),
            ctx.t(M::Value).to_string(),
        ];
        if rows.is_empty() {
            s = s.note("info", ctx.t(M::NoneFound));
        } else {
            s = s
                .chart(chart_of(
                    chart::rows(
                        "origins-chart",
                        ctx.pick("原产国货值", "Value by origin"),
                        ctx.pick(
                            "该类别商品按原产国的货值",
                            "Value of this class by country of origin",
                        ),
                        &points,
                    ),
                    ctx.t(M::DataTable),
                    head.clone(),
                    table_rows.clone(),
                ))
                .table(Table {
                    caption: String::new(),
                    head,
                    rows: table_rows,
                });
        }
        out.push(s);
        return Ok(out);
    }
    out.push(back);
    let days = Ask::new(t, month.first_day(), month.last_day())
        .group(&[StatDim::Day])
        .run(ctx)
        .await
        .map_err(fail)?;
    let mut s = Section::new(
        "days",
        format!(
            "{} · {}",
            month_words(&month.to_string(), ctx.lang),
            ctx.pick("按日", "by day")
        ),
    );
    let points: Vec<Point> = days
        .iter()
        .map(|r| {
            let key = r.keys.first().cloned().unwrap_or_default();
            Point::new(
                day_words(&key, ctx.lang),
                m(r, t, "declarations") as f64,
                i18n::count(m(r, t, "declarations")),
            )
        })
        .collect();
    let rows: Vec<Vec<Cell>> = days
        .iter()
        .map(|r| {
            vec![
                Cell::text(day_words(r.keys.first().map_or("", |k| k), ctx.lang)),
                Cell::num(i18n::count(m(r, t, "declarations"))),
                Cell::num(i18n::fen(m(r, t, "value_fen"))),
                Cell::num(i18n::count(m(r, t, "refused"))),
            ]
        })
        .collect();
    if days.is_empty() {
        s = s.note("info", ctx.t(M::NoneFound));
    } else {
        s = s.chart(chart_of(
            chart::bars(
                "days-chart",
                ctx.pick("每日放行清单", "Released lists per day"),
                ctx.pick(
                    "当月每日放行的清单数",
                    "Lists released each day of the month",
                ),
                &points,
            ),
            ctx.t(M::DataTable),
            vec![
                ctx.t(M::Day).into(),
                ctx.pick("放行", "Released").into(),
                ctx.t(M::Value).into(),
                ctx.pick("退单", "Refused").into(),
            ],
            rows,
        ));
    }
    out.push(s);
    out.push(classes_of(ctx, month, false).await.map_err(fail)?);
    // By park and by customs mode.
    for (dim, id, words, column) in [
        (
            StatDim::Park,
            "parks",
            ctx.pick("按园区", "by park"),
            ctx.t(M::Park),
        ),
        (
            StatDim::Mode,
            "modes",
            ctx.pick("按监管方式", "by customs mode"),
            ctx.pick("监管方式", "Customs mode"),
        ),
    ] {
        let rows = Ask::new(t, month.first_day(), month.last_day())
            .group(&[dim])
            .distinct(&[StatDim::Ebc])
            .run(ctx)
            .await
            .map_err(fail)?;
        let table = Table {
            caption: String::new(),
            head: vec![
                column.to_string(),
                ctx.pick("放行清单", "Released lists").into(),
                ctx.t(M::Value).into(),
                ctx.pick("活跃电商企业", "Active sellers").into(),
            ],
            rows: rows
                .iter()
                .map(|r| {
                    let key = r.keys.first().cloned().unwrap_or_default();
                    vec![
                        Cell::text(if key.is_empty() {
                            ctx.pick("（无）", "(none)").to_string()
                        } else {
                            key
                        }),
                        Cell::num(i18n::count(m(r, t, "declarations"))),
                        Cell::num(i18n::fen(m(r, t, "value_fen"))),
                        Cell::num(i18n::count(r.distinct.first().copied().unwrap_or(0))),
                    ]
                })
                .collect(),
        };
        let mut s = Section::new(
            id,
            format!("{} · {words}", month_words(&month.to_string(), ctx.lang)),
        );
        s = if rows.is_empty() {
            s.note("info", ctx.t(M::NoneFound))
        } else {
            s.table(table)
        };
        out.push(s);
    }
    Ok(out)
}

/// The index for staff: the provisional index of every month (chart, and the indicators of the
/// latest), the publications with their revisions, and for the zone office the form that
/// publishes an ended month (`IndexAction::Publish`, journaled; a month published again is a
/// revision).
pub async fn desk_index(ctx: &mut Ctx) -> Result<Vec<Section>, Response> {
    let (settings, series) = index_series(ctx).await.map_err(|p| ctx.failed(p))?;
    let published = publications(ctx, None).await.map_err(|p| ctx.failed(p))?;
    let mut out = vec![];
    let mut s = Section::new("provisional", ctx.pick("暂定值", "Provisional values"))
        .note("info", provisional_note(ctx));
    if ctx.param("done").is_some() {
        s = s.note("ok", ctx.t(M::ActionDone));
    }
    match index_chart(ctx, &series, "desk-index-chart") {
        Some(chart) => s = s.chart(chart),
        None => s = s.note("info", ctx.t(M::NotYet)),
    }
    out.push(s);
    if let Some(last) = series.last() {
        let rows = last
            .sub_indices
            .iter()
            .flat_map(|sub| {
                sub.indicators.iter().map(move |i| {
                    vec![
                        Cell::text(sub.sub_index.code()),
                        Cell::text(i.code.clone()),
                        Cell::num(i.raw.map(|v| v.to_string()).unwrap_or_default()),
                        Cell::num(i.base.map(|v| v.to_string()).unwrap_or_default()),
                        Cell::num(i.index.map(|v| v.to_string()).unwrap_or_default()),
                        Cell::num(i.weight.to_string()),
                    ]
                })
            })
            .collect();
        out.push(
            Section::new(
                "indicators",
                format!(
                    "{} · {}",
                    month_words(&last.month.to_string(), ctx.lang),
                    ctx.pick("指标（暂定）", "indicators (provisional)")
                ),
            )
            .fact(
                ctx.t(M::IndexValue),
                last.composite.map(|c| c.to_string()).unwrap_or_default(),
            )
            .table(Table {
                caption: String::new(),
                head: vec![
                    ctx.pick("分指数", "Sub-index").into(),
                    ctx.pick("指标", "Indicator").into(),
                    ctx.pick("原值", "Raw").into(),
                    ctx.pick("基期值", "Base").into(),
                    ctx.t(M::IndexValue).into(),
                    ctx.pick("权重", "Weight").into(),
                ],
                rows,
            }),
        );
    }
    let mut pubs = Section::new("publications", ctx.pick("已发布", "Publications"));
    if published.is_empty() {
        pubs = pubs.note("info", ctx.pick("尚未发布。", "Nothing published yet."));
    } else {
        pubs = pubs.table(Table {
            caption: String::new(),
            head: vec![
                ctx.t(M::Month).into(),
                ctx.pick("修订版次", "Revision").into(),
                ctx.t(M::IndexValue).into(),
                ctx.pick("发布时间", "Published").into(),
                ctx.pick("发布人", "By").into(),
                ctx.t(M::Status).into(),
                ctx.t(M::Note).into(),
            ],
            rows: published
                .iter()
                .rev()
                .map(|p| {
                    vec![
                        Cell::text(month_words(&p.month.to_string(), ctx.lang)),
                        Cell::num(p.revision.to_string()),
                        Cell::num(p.index.composite.map(|c| c.to_string()).unwrap_or_default()),
                        Cell::text(i18n::datetime(p.published_at.0, ctx.lang)),
                        Cell::text(p.published_by.clone()),
                        if p.superseded_at.is_some() {
                            Cell::text(ctx.pick("已被修订", "superseded"))
                        } else {
                            Cell::text(ctx.pick("现行", "current")).badge("ok")
                        },
                        Cell::text(p.note.clone()),
                    ]
                })
                .collect(),
        });
    }
    // The zone office publishes a month that has ended and has data.
    let zone = zone_office(ctx).is_ok();
    let this = Month::of(Timestamp(now_ms()));
    let ended: Vec<(String, String)> = series
        .iter()
        .rev()
        .filter(|m| m.month < this)
        .map(|m| {
            (
                m.month.to_string(),
                month_words(&m.month.to_string(), ctx.lang),
            )
        })
        .collect();
    if zone && !ended.is_empty() {
        pubs = pubs.form(
            super::page::Form::post(
                "publish",
                "/desk/index/publish",
                ctx.pick("发布", "Publish"),
            )
            .title(ctx.pick("发布月度指数", "Publish a month's index"))
            .field(ctx.csrf_field())
            .field(super::page::Field::new("select", "month", ctx.t(M::Month)).options(ended))
            .field(super::page::Field::new("text", "note", ctx.t(M::Note))),
        );
    }
    out.push(pubs);
    out.push(settings_section(ctx, &settings, None));
    Ok(out)
}

/// The viewer, when it is the zone office (the index is its to publish and configure; the
/// API's check, `statistics::zone_office`).
fn zone_office(ctx: &Ctx) -> Result<crate::auth::Principal, Problem> {
    let principal = ctx
        .viewer
        .as_ref()
        .map(|v| v.principal.clone())
        .ok_or_else(Problem::forbidden)?;
    crate::statistics::zone_office(&principal)?;
    Ok(principal)
}

fn sub_index_label(ctx: &Ctx, s: SubIndex) -> String {
    let name = match s {
        SubIndex::Goods => ctx.pick("商品贸易", "Goods trade"),
        SubIndex::Logistics => ctx.pick("物流通关", "Logistics and clearance"),
        SubIndex::Payment => ctx.pick("支付金融", "Payment and finance"),
    };
    format!("{name} ({})", s.code())
}

fn indicator_label(ctx: &Ctx, i: Indicator) -> String {
    use Indicator::*;
    let name = match i {
        TradeValue => ctx.pick("贸易额", "Trade value"),
        ActiveEnterprises => ctx.pick("活跃电商企业数", "Active e-commerce enterprises"),
        ValueGrowth => ctx.pick("贸易额增长", "Growth of trade value"),
        OriginBreadth => ctx.pick("原产国广度", "Breadth of origin countries"),
        ClassBreadth => ctx.pick("商品类别广度", "Breadth of goods classes"),
        Parcels => ctx.pick("包裹数", "Parcels"),
        LogisticsFirms => ctx.pick("活跃物流企业数", "Active logistics firms"),
        ParcelGrowth => ctx.pick("包裹数增长", "Growth of parcels"),
        FirstPassRate => ctx.pick("一次通过率", "First-pass rate"),
        Timeliness => ctx.pick("一小时内放行率", "Released within an hour"),
        AmountPaid => ctx.pick("支付金额", "Amount paid"),
        PaymentInstitutions => ctx.pick("活跃支付机构数", "Active payment institutions"),
        TaxRevenue => ctx.pick("税款", "Tax revenue"),
        PaidGrowth => ctx.pick("支付金额增长", "Growth of the amount paid"),
        ComplianceRate => ctx.pick("合规率", "Compliance rate"),
    };
    format!("{} {name}", i.code())
}

/// The settings in force (weights, base period, disclosure threshold) for every staff member;
/// for the zone office, the form that replaces them, filled with the settings in force, or with
/// what it sent (`sent`) when that was refused.
pub fn settings_section(
    ctx: &Ctx,
    settings: &IndexSettings,
    sent: Option<&[(String, String)]>,
) -> Section {
    let month = |m: Option<Month>| m.map(|m| m.to_string()).unwrap_or_default();
    let auto = ctx.pick(
        "（自动：首个有数据的月份）",
        "(automatic: the first month with data)",
    );
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    for s in SubIndex::ALL {
        let weight = settings.sub_index_weights.get(&s).copied().unwrap_or(0);
        rows.push(vec![
            Cell::text(sub_index_label(ctx, s)),
            Cell::num(weight.to_string()),
        ]);
        for i in Indicator::ALL.into_iter().filter(|i| i.sub_index() == s) {
            let weight = settings.indicator_weights.get(&i).copied().unwrap_or(0);
            rows.push(vec![
                Cell::text(format!("· {}", indicator_label(ctx, i))),
                Cell::num(weight.to_string()),
            ]);
        }
    }
    let mut section = Section::new("index-settings", ctx.pick("指数设置", "Index settings"))
        .fact(
            ctx.pick("基期起", "Base period from"),
            settings
                .base_from
                .map(|m| month_words(&m.to_string(), ctx.lang))
                .unwrap_or_else(|| auto.to_string()),
        )
        .fact(
            ctx.pick("基期止", "Base period to"),
            settings
                .base_to
                .or(settings.base_from)
                .map(|m| month_words(&m.to_string(), ctx.lang))
                .unwrap_or_else(|| auto.to_string()),
        )
        .fact(
            ctx.pick("披露门槛（企业数）", "Disclosure threshold (enterprises)"),
            settings.disclosure_threshold.to_string(),
        )
        .table(Table {
            caption: ctx.pick("权重", "Weights").into(),
            head: vec![
                ctx.pick("分指数 / 指标", "Sub-index / indicator").into(),
                ctx.pick("权重", "Weight").into(),
            ],
            rows,
        });
    if zone_office(ctx).is_err() {
        return section;
    }
    // The form: every value filled in, so that what is not changed stays as it is.
    let value = |name: &str, current: String| match sent {
        Some(form) => super::form_value(form, name)
            .unwrap_or_default()
            .to_string(),
        None => current,
    };
    let mut form = super::page::Form::post(
        "index-settings-form",
        "/desk/index/settings",
        ctx.pick("保存设置", "Save the settings"),
    )
    .title(ctx.pick("修改指数设置", "Change the index settings"))
    .field(ctx.csrf_field())
    .field(
        super::page::Field::new("text", "base_from", ctx.pick("基期起", "Base period from"))
            .value(value("base_from", month(settings.base_from)))
            .hint(ctx.pick(
                "YYYY-MM；留空则为首个有数据的月份",
                "YYYY-MM; empty: the first month with data",
            )),
    )
    .field(
        super::page::Field::new("text", "base_to", ctx.pick("基期止", "Base period to"))
            .value(value("base_to", month(settings.base_to)))
            .hint(ctx.pick(
                "YYYY-MM；留空则与基期起相同",
                "YYYY-MM; empty: the same as from",
            )),
    )
    .field(
        super::page::Field::new(
            "number",
            "disclosure_threshold",
            ctx.pick("披露门槛（企业数）", "Disclosure threshold (enterprises)"),
        )
        .value(value(
            "disclosure_threshold",
            settings.disclosure_threshold.to_string(),
        ))
        .required(),
    );
    for s in SubIndex::ALL {
        let name = format!("w_{}", s.code());
        let current = settings.sub_index_weights.get(&s).copied().unwrap_or(0);
        form = form.field(
            super::page::Field::new("number", &name, sub_index_label(ctx, s))
                .value(value(&name, current.to_string()))
                .required(),
        );
        for i in Indicator::ALL.into_iter().filter(|i| i.sub_index() == s) {
            let name = format!("w_{}", i.code());
            let current = settings.indicator_weights.get(&i).copied().unwrap_or(0);
            form = form.field(
                super::page::Field::new("number", &name, indicator_label(ctx, i))
                    .value(value(&name, current.to_string()))
                    .required(),
            );
        }
    }
    section = section
        .note(
            "info",
            ctx.pick(
                "修改记入日志；暂定值随即按新设置计算，已发布的月份不变，重新发布即为修订。",
                "A change is journaled; provisional values follow it at once, published months \
                 stay as published until published again (a revision).",
            ),
        )
        .form(form);
    section
}

/// Read the settings form: every weight a whole number, months as `YYYY-MM` or empty.
fn settings_from_form(form: &[(String, String)]) -> Result<IndexSettings, Problem> {
    let bad = |field: &str, what: &str| {
        Problem::bad_request(
            "bad-form",
            "a field of the index settings form is not valid",
        )
        .detail(format!("{field}: {what}"))
    };
    let month = |field: &str| -> Result<Option<Month>, Problem> {
        let v = super::form_value(form, field).unwrap_or_default().trim();
        if v.is_empty() {
            return Ok(None);
        }
        Month::parse(v)
            .map(Some)
            .ok_or_else(|| bad(field, "a month as YYYY-MM, or empty"))
    };
    let number = |field: &str| -> Result<u32, Problem> {
        super::form_value(form, field)
            .unwrap_or_default()
            .trim()
            .parse::<u32>()
            .map_err(|_| bad(field, "a whole number from 0"))
    };
    let mut settings = IndexSettings {
        base_from: month("base_from")?,
        base_to: month("base_to")?,
        disclosure_threshold: number("disclosure_threshold")?,
        ..IndexSettings::default()
    };
    for s in SubIndex::ALL {
        settings
            .sub_index_weights
            .insert(s, number(&format!("w_{}", s.code()))?);
    }
    for i in Indicator::ALL {
        settings
            .indicator_weights
            .insert(i, number(&format!("w_{}", i.code()))?);
    }
    Ok(settings)
}

/// Replace the index settings (zone office): the same checks and the same journaled
/// `IndexAction::Configure` as `PUT /api/v1/index/settings`.
pub async fn configure(ctx: &Ctx, form: &[(String, String)]) -> Result<(), Problem> {
    let principal = zone_office(ctx)?;
    let settings = settings_from_form(form)?;
    crate::statistics::checked(&settings)?;
    crate::statistics::index_act(
        &ctx.state,
        &principal,
        domain::statistics::IndexAction::Configure { settings },
    )
    .await
    .map(|_| ())
}

/// The settings in force, for the page that answers a refused settings form.
pub async fn current_settings(ctx: &Ctx) -> Result<IndexSettings, Problem> {
    let store = ctx.state.store.clone();
    blocking(move || crate::statistics::index_settings(store.as_ref())).await
}

/// Publish a month's index (zone office): the figures as the statistics stand, journaled with
/// the entry (the same path as `POST /api/v1/index/publications`).
pub async fn publish(ctx: &Ctx, month: &str, note: String) -> Result<(), Problem> {
    let principal = zone_office(ctx)?;
    let month = Month::parse(month).ok_or_else(|| Problem::bad_request("bad-query", "month"))?;
    if month >= Month::of(Timestamp(now_ms())) {
        return Err(Problem::new(
            axum::http::StatusCode::CONFLICT,
            "month-not-ended",
            "only a month that has ended can be published",
        ));
    }
    let store = ctx.state.store.clone();
    let figures = blocking(move || {
        let settings = crate::statistics::index_settings(store.as_ref())?;
        crate::statistics::figures_for(store.as_ref(), &settings, month)
    })
    .await?;
    crate::statistics::index_act(
        &ctx.state,
        &principal,
        domain::statistics::IndexAction::Publish {
            month,
            figures,
            note,
        },
    )
    .await
    .map(|_| ())
}
