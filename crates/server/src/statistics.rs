//! The statistics and CBEC index API (统计监测, 跨境电子商务指数): `/api/v1/statistics`,
//! `/api/v1/index`, and the open data under `/api/public/statistics` and `/api/public/index`.
//!
//! Reads are statistics-table queries (`Store::stat_query`, a few grouped sums each), never a scan
//! of declarations. Staff see every table; an enterprise sees only the cells of its own
//! declarations (the store query is forced to its code); the public sees the published headline
//! tables, with cells that could disclose one enterprise withheld (`domain::statistics::
//! disclosure`), and the published index. Every table comes as JSON, CSV or an Excel workbook with
//! a data-dictionary sheet. Index settings and publications are journaled `INDEX` entries of the
//! zone office. The functions that build monthly figures and the provisional index are public so
//! the portal's pages use the same numbers.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use domain::statistics::disclosure::{self, Contribution};
use domain::statistics::facts::{BUCKETS, Month, TIMELY_BUCKETS, day_of};
use domain::statistics::index::{self, IndexAction, IndexSettings, MonthFigures, MonthIndex};
use domain::statistics::{Classification, parks};
use domain::subject::Department;
use domain::time::Timestamp;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use store::{RecordQuery, StatDim, StatQuery, StatRow, StatTable, Store, StoreError};

use crate::api::{AppState, authenticate, blocking, submit};
use crate::auth::Principal;
use crate::problem::Problem;
use ingest::clock::now_ms;
use ingest::intake::{self, IndexEntry, Intake};
use ingest::pipeline::Job;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/statistics", get(catalogue))
        .route("/api/v1/statistics/{table}", get(query_table))
        .route("/api/v1/index", get(provisional))
        .route(
            "/api/v1/index/publications",
            get(publications).post(publish),
        )
        .route(
            "/api/v1/index/settings",
            get(get_settings).put(put_settings),
        )
        .route("/api/public/statistics", get(public_catalogue))
        .route("/api/public/statistics/{name}", get(public_table))
        .route("/api/public/index", get(public_index))
}

// ---- monthly figures and the index (shared with the portal) ----

fn sum(row: &StatRow, table: StatTable, measure: &str) -> i64 {
    table
        .measures()
        .iter()
        .position(|m| *m == measure)
        .and_then(|i| row.measures.get(i).copied())
        .unwrap_or(0)
}

/// The monthly figures of the index for every month from `from` to `to` (months without data
/// have zeros): five grouped queries, whatever the number of declarations.
pub fn month_figures(
    store: &dyn Store,
    from: Month,
    to: Month,
) -> Result<Vec<MonthFigures>, StoreError> {
    let (from_day, to_day) = (from.first_day(), to.last_day());
    let q = |table, group_by, distinct| StatQuery {
        table,
        from_day,
        to_day,
        group_by,
        filters: &[],
        distinct,
    };
    let lists = store.stat_query(&q(
        StatTable::Lists,
        &[StatDim::Month],
        &[StatDim::Ebc, StatDim::Logistics, StatDim::Payment],
    ))?;
    let goods = store.stat_query(&q(
        StatTable::Goods,
        &[StatDim::Month],
        &[StatDim::Origin, StatDim::Class],
    ))?;
    let clearance = store.stat_query(&q(
        StatTable::Clearance,
        &[StatDim::Month, StatDim::Bucket],
        &[],
    ))?;
    let mut out: BTreeMap<Month, MonthFigures> = from
        .through(to)
        .into_iter()
        .map(|m| {
            (
                m,
                MonthFigures {
                    month: Some(m),
                    ..MonthFigures::default()
                },
            )
        })
        .collect();
    let month_of = |row: &StatRow| row.keys.first().and_then(|k| Month::parse(k));
    let t = StatTable::Lists;
    for row in &lists {
        if let Some(f) = month_of(row).and_then(|m| out.get_mut(&m)) {
            f.declarations = sum(row, t, "declarations");
            f.value_fen = sum(row, t, "value_fen");
            f.tax_fen = sum(row, t, "customs_tax_fen")
                + sum(row, t, "vat_fen")
                + sum(row, t, "consumption_tax_fen");
            f.paid_fen = sum(row, t, "paid_fen");
            f.first_pass = sum(row, t, "first_pass");
            f.risk_hit = sum(row, t, "risk_hit");
            f.refused = sum(row, t, "refused");
            f.enterprises = row.distinct.first().copied().unwrap_or(0);
            f.logistics_firms = row.distinct.get(1).copied().unwrap_or(0);
            f.payment_institutions = row.distinct.get(2).copied().unwrap_or(0);
        }
    }
    for row in &goods {
        if let Some(f) = month_of(row).and_then(|m| out.get_mut(&m)) {
            f.countries = row.distinct.first().copied().unwrap_or(0);
            f.classes = row.distinct.get(1).copied().unwrap_or(0);
        }
    }
    for row in &clearance {
        let timely = row
            .keys
            .get(1)
            .and_then(|b| b.parse::<usize>().ok())
            .is_some_and(|b| b < TIMELY_BUCKETS);
        if timely && let Some(f) = month_of(row).and_then(|m| out.get_mut(&m)) {
            f.timely += row.measures.first().copied().unwrap_or(0);
        }
    }
    Ok(out.into_values().collect())
}

/// The first month with a released list, if any.
pub fn first_month(store: &dyn Store) -> Result<Option<Month>, StoreError> {
    let rows = store.stat_query(&StatQuery {
        table: StatTable::Lists,
        from_day: 0,
        to_day: 99_991_231,
        group_by: &[StatDim::Month],
        filters: &[],
        distinct: &[],
    })?;
    Ok(rows
        .iter()
        .find(|r| r.measures.first().is_some_and(|n| *n > 0))
        .and_then(|r| r.keys.first())
        .and_then(|k| Month::parse(k)))
}

/// The index settings in force (the journaled ones, or the defaults).
pub fn index_settings(store: &dyn Store) -> Result<IndexSettings, StoreError> {
    Ok(store
        .record("index-settings", "current")?
        .and_then(|r| serde_json::from_str(&r.body).ok())
        .unwrap_or_default())
}

/// The monthly figures an index of `month` needs (see `index::months_needed`).
pub fn figures_for(
    store: &dyn Store,
    settings: &IndexSettings,
    month: Month,
) -> Result<Vec<MonthFigures>, StoreError> {
    let Some(first) = first_month(store)? else {
        return Ok(Vec::new());
    };
    let needed = index::months_needed(settings, first, month);
    match (needed.first(), needed.last()) {
        (Some(from), Some(to)) => month_figures(store, *from, *to),
        _ => Ok(Vec::new()),
    }
}

/// The provisional index of every month from `from` to `to` (months before the first month
/// with data are skipped), from the statistics as they stand, with the settings in force.
pub fn provisional_index(
    store: &dyn Store,
    from: Month,
    to: Month,
) -> Result<(IndexSettings, Vec<MonthIndex>), StoreError> {
    let settings = index_settings(store)?;
    let Some(first) = first_month(store)? else {
        return Ok((settings, Vec::new()));
    };
    let start = index::months_needed(&settings, first, from.max(first))
        .first()
        .copied()
        .unwrap_or(first);
    let figures = month_figures(store, start.min(from), to)?;
    let months = from
        .max(first)
        .through(to)
        .into_iter()
        .filter_map(|m| index::compute(&settings, &figures, m).ok())
        .collect();
    Ok((settings, months))
}

// ---- request parsing ----

/// Output format: `?format=` or the Accept header; JSON by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
    Xlsx,
}

fn format_of(params: &BTreeMap<String, String>, headers: &HeaderMap) -> Result<Format, Problem> {
    match params.get("format").map(String::as_str) {
        Some("json") => return Ok(Format::Json),
        Some("csv") => return Ok(Format::Csv),
        Some("xlsx") => return Ok(Format::Xlsx),
        Some(other) => {
            return Err(Problem::bad_request(
                "bad-query",
                format!("format {other:?}: use json, csv or xlsx"),
            ));
        }
        None => {}
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    Ok(if accept.contains("text/csv") {
        Format::Csv
    } else if accept.contains("spreadsheetml") {
        Format::Xlsx
    } else {
        Format::Json
    })
}

fn today() -> i32 {
    day_of(Timestamp(now_ms()))
}

/// `from`/`to`: `YYYY-MM` (whole month) or `YYYY-MM-DD`; default the last twelve months.
fn period(params: &BTreeMap<String, String>) -> Result<(i32, i32), Problem> {
    let bad = |what: &str, v: &str| {
        Problem::bad_request(
            "bad-query",
            format!("{what} {v:?}: use YYYY-MM or YYYY-MM-DD"),
        )
    };
    let parse = |what: &str, v: &str, end: bool| -> Result<i32, Problem> {
        if v.len() == 10 {
            let date = domain::time::CivilDate::parse_yyyymmdd(&v.replace('-', ""))
                .ok_or_else(|| bad(what, v))?;
            return Ok(domain::statistics::facts::day_number(date));
        }
        let m = Month::parse(v).ok_or_else(|| bad(what, v))?;
        Ok(if end { m.last_day() } else { m.first_day() })
    };
    let now = Month::of_day(today());
    let mut start = now;
    for _ in 0..11 {
        start = start.prev();
    }
    let from = match params.get("from") {
        Some(v) => parse("from", v, false)?,
        None => start.first_day(),
    };
    let to = match params.get("to") {
        Some(v) => parse("to", v, true)?,
        None => now.last_day(),
    };
    if to < from {
        return Err(Problem::bad_request("bad-query", "to is before from"));
    }
    Ok((from, to))
}

fn dims(table: StatTable, list: Option<&String>, what: &str) -> Result<Vec<StatDim>, Problem> {
    let mut out = Vec::new();
    for name in list.map(String::as_str).unwrap_or("").split(',') {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        let dim = StatDim::parse(name)
            .filter(|d| table.has(*d))
            .ok_or_else(|| {
                Problem::bad_request(
                    "bad-query",
                    format!(
                        "{what}: {name:?} is not a dimension of the {} table ({})",
                        table.name(),
                        dimension_names(table).join(", ")
                    ),
                )
            })?;
        if !out.contains(&dim) {
            out.push(dim);
        }
    }
    Ok(out)
}

fn dimension_names(table: StatTable) -> Vec<&'static str> {
    ["day", "month"]
        .into_iter()
        .chain(table.dims().iter().map(|d| d.name()))
        .collect()
}

// ---- presentation: columns, units, labels, the data dictionary ----

/// How a measure is shown: its column name and unit.
fn measure_column(measure: &str) -> (String, Unit) {
    if let Some(base) = measure.strip_suffix("_fen") {
        (base.to_string(), Unit::Yuan)
    } else if let Some(base) = measure.strip_suffix("_milli") {
        (base.to_string(), Unit::Thousandths)
    } else if measure.ends_with("_ms") {
        (measure.to_string(), Unit::Millis)
    } else {
        (measure.to_string(), Unit::Count)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Count,
    Yuan,
    Thousandths,
    Millis,
}

/// A cell of an output table.
#[derive(Clone, Debug, PartialEq)]
enum Cell {
    Text(String),
    Int(i64),
    /// An exact decimal (`value / 10^scale`).
    Dec(i64, u32),
    /// Withheld for confidentiality.
    Withheld,
}

impl Cell {
    fn of(value: i64, unit: Unit) -> Cell {
        match unit {
            Unit::Yuan => Cell::Dec(value, 2),
            Unit::Thousandths => Cell::Dec(value, 3),
            Unit::Count | Unit::Millis => Cell::Int(value),
        }
    }

    fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Dec(v, scale) => rust_decimal::Decimal::new(*v, *scale).to_string(),
            Cell::Withheld => String::new(),
        }
    }

    fn json(&self) -> Value {
        match self {
            Cell::Text(s) => Value::String(s.clone()),
            Cell::Int(i) => json!(i),
            Cell::Dec(..) => Value::String(self.text()),
            Cell::Withheld => Value::Null,
        }
    }
}

/// A finished table: column names and rows.
struct Table {
    name: String,
    columns: Vec<String>,
    rows: Vec<Vec<Cell>>,
    meta: Map<String, Value>,
}

/// The label columns shown next to a key: a class or park name, a bucket, an error description.
fn labels(dim: StatDim) -> &'static [&'static str] {
    match dim {
        StatDim::Class => &["class_name_zh", "class_name_en"],
        StatDim::Park => &["park_name_zh", "park_name_en"],
        StatDim::Bucket => &["bucket_label"],
        StatDim::Code => &["code_desc_zh", "code_desc_en"],
        _ => &[],
    }
}

fn label_values(dim: StatDim, key: &str) -> Vec<String> {
    match dim {
        StatDim::Class => Classification::builtin().get(key).map_or_else(
            || vec![String::new(), String::new()],
            |c| vec![c.name_zh.clone(), c.name_en.clone()],
        ),
        StatDim::Park => parks::get(key).map_or_else(
            || vec![String::new(), String::new()],
            |p| vec![p.name_zh.clone(), p.name_en.clone()],
        ),
        StatDim::Bucket => vec![
            BUCKETS
                .iter()
                .find(|b| b.0 == key)
                .map_or("", |b| b.2)
                .to_string(),
        ],
        StatDim::Code => domain::clearance::ErrorCode::ALL
            .iter()
            .find(|c| c.code() == key)
            .map_or_else(
                || vec![String::new(), String::new()],
                |c| vec![c.desc_zh().to_string(), c.desc_en().to_string()],
            ),
        _ => Vec::new(),
    }
}

fn key_columns(group: &[StatDim]) -> Vec<String> {
    let mut cols = Vec::new();
    for d in group {
        cols.push(d.name().to_string());
        cols.extend(labels(*d).iter().map(|l| l.to_string()));
    }
    cols
}

fn key_cells(group: &[StatDim], keys: &[String]) -> Vec<Cell> {
    let mut cells = Vec::new();
    for (d, k) in group.iter().zip(keys) {
        cells.push(Cell::Text(k.clone()));
        cells.extend(label_values(*d, k).into_iter().map(Cell::Text));
    }
    cells
}

/// Every column any table can show, with its meaning: the data dictionary.
pub fn dictionary() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        (
            "day",
            "date YYYY-MM-DD",
            "Beijing calendar day of the event (release, refusal, return, rejection)",
        ),
        (
            "month",
            "month YYYY-MM",
            "Beijing calendar month; a month is the sum of its days",
        ),
        (
            "direction",
            "code",
            "I import, E export (the list's ieFlag)",
        ),
        (
            "mode",
            "code",
            "customs mode, the list's tradeMode: 9610 direct purchase, 1210 bonded (9710, 9810 for export later)",
        ),
        (
            "country",
            "JGS-20 code",
            "country of departure of the list (起运国); 142 for bonded imports",
        ),
        (
            "origin",
            "JGS-20 code",
            "country of origin of the goods line (原产国)",
        ),
        (
            "class",
            "code",
            "simplified goods class (商品简化统计分类), docs/statistics.md",
        ),
        ("class_name_zh / class_name_en", "text", "name of the class"),
        (
            "unit",
            "JGS-20 unit code",
            "legal first unit (unit1) the quantity is counted in",
        ),
        (
            "ebc",
            "enterprise code",
            "e-commerce enterprise (电商企业) of the list",
        ),
        ("ebp", "enterprise code", "e-commerce platform (电商平台)"),
        (
            "payment",
            "enterprise code",
            "payment institution (支付企业) of the payment",
        ),
        (
            "logistics",
            "enterprise code",
            "logistics firm (物流企业) of the waybill",
        ),
        (
            "park",
            "park code",
            "park (园区) of the e-commerce enterprise at release; empty: none",
        ),
        ("park_name_zh / park_name_en", "text", "name of the park"),
        (
            "bucket",
            "code 0-6",
            "clearance-time bucket (from the documents' match to release)",
        ),
        (
            "bucket_label",
            "text",
            "the bucket's range: under 1 minute, 1 to 10 minutes, 10 minutes to 1 hour, 1 to 4 hours, 4 to 24 hours, 1 to 3 days, 3 days or more",
        ),
        (
            "message_type",
            "CEB number",
            "the refused message (311 order, 411 payment, 511 waybill, 621 inventory …)",
        ),
        (
            "code",
            "catalogue code",
            "the refusal's code in the error catalogue (docs/errors.md)",
        ),
        (
            "code_desc_zh / code_desc_en",
            "text",
            "the code's description",
        ),
        (
            "enterprise",
            "enterprise code",
            "the enterprise whose message was refused (its sender)",
        ),
        (
            "declarations",
            "count",
            "lists: released lists; goods: released lists with a line in the cell; clearance: released lists in the bucket",
        ),
        ("lines", "count", "lines of the released lists"),
        (
            "qty",
            "decimal, 3 places",
            "legal first quantity of the lines, in `unit`",
        ),
        (
            "value",
            "CNY, 2 places",
            "dutiable value (完税价格: goods + freight + insurance; lines carry their allocated share)",
        ),
        (
            "customs_tax",
            "CNY, 2 places",
            "customs duty assessed at release",
        ),
        (
            "vat",
            "CNY, 2 places",
            "import VAT assessed at release (70 % within the limits)",
        ),
        (
            "consumption_tax",
            "CNY, 2 places",
            "consumption tax assessed at release",
        ),
        (
            "paid",
            "CNY, 2 places",
            "what the buyers paid (payments' amountPaid) for the released lists",
        ),
        (
            "first_pass",
            "count",
            "released lists none of whose documents was ever refused (一次通过)",
        ),
        (
            "risk_hit",
            "count",
            "released lists whose match raised an On-mode risk alert",
        ),
        (
            "reviewed",
            "count",
            "released after a document review (人工审核)",
        ),
        (
            "inspected",
            "count",
            "released after a physical inspection found nothing (查验)",
        ),
        (
            "refused",
            "count",
            "lists refused after their documents matched (risk, review, inspection, listing, recall)",
        ),
        (
            "inspection_failed",
            "count",
            "of the refused, those refused by a failed inspection",
        ),
        (
            "clearance_ms",
            "milliseconds",
            "sum of clearance times (match to release) of the released lists; divide by declarations for the mean",
        ),
        (
            "returns",
            "count",
            "approved return applications (CEB625), on the day of the return",
        ),
        (
            "returned_value",
            "CNY, 2 places",
            "dutiable value taken off by the returns",
        ),
        (
            "returned_tax",
            "CNY, 2 places",
            "tax taken off by the returns",
        ),
        (
            "returned_qty",
            "decimal, 3 places",
            "legal quantity returned",
        ),
        ("rejections", "count", "refused messages"),
        (
            "enterprises",
            "count",
            "distinct e-commerce enterprises contributing to the cell (open data)",
        ),
        (
            "withheld",
            "flag",
            "true: the cell could disclose one enterprise's figures and is withheld (statistical confidentiality)",
        ),
    ]
}

fn render(table: Table, format: Format) -> Result<Response, Problem> {
    match format {
        Format::Json => {
            let rows: Vec<Value> = table
                .rows
                .iter()
                .map(|r| {
                    Value::Object(
                        table
                            .columns
                            .iter()
                            .zip(r)
                            .map(|(c, v)| (c.clone(), v.json()))
                            .collect(),
                    )
                })
                .collect();
            let mut body = table.meta;
            body.insert("table".into(), json!(table.name));
            body.insert("columns".into(), json!(table.columns));
            body.insert("rows".into(), Value::Array(rows));
            Ok(Json(Value::Object(body)).into_response())
        }
        Format::Csv => {
            let mut out = String::new();
            write_csv_row(&mut out, table.columns.iter().map(String::as_str));
            for r in &table.rows {
                let texts: Vec<String> = r.iter().map(Cell::text).collect();
                write_csv_row(&mut out, texts.iter().map(String::as_str));
            }
            Ok(download(
                out.into_bytes(),
                "text/csv; charset=utf-8",
                &format!("{}.csv", table.name),
            ))
        }
        Format::Xlsx => {
            let bytes = xlsx(&table).map_err(|e| {
                tracing::error!(error = %e, "writing a workbook failed");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the workbook could not be written",
                )
            })?;
            Ok(download(
                bytes,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                &format!("{}.xlsx", table.name),
            ))
        }
    }
}

fn write_csv_row<'a>(out: &mut String, fields: impl Iterator<Item = &'a str>) {
    for (i, f) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        // A leading =, +, - or @ would be a formula to a spreadsheet: quote it as text.
        let formula =
            f.starts_with(['=', '+', '@']) || (f.starts_with('-') && f.parse::<f64>().is_err());
        if f.contains([',', '"', '\n', '\r']) || formula {
            out.push('"');
            if formula {
                out.push('\'');
            }
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out.push_str("\r\n");
}

fn download(bytes: Vec<u8>, content_type: &'static str, file: &str) -> Response {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response()
}

fn xlsx(table: &Table) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format as XFormat, Workbook};
    let mut wb = Workbook::new();
    let bold = XFormat::new().set_bold();
    let ws = wb.add_worksheet();
    ws.set_name("data")?;
    for (c, name) in table.columns.iter().enumerate() {
        ws.write_string_with_format(0, col(c), name, &bold)?;
    }
    for (r, row) in table.rows.iter().enumerate() {
        let r = u32::try_from(r + 1).unwrap_or(u32::MAX);
        for (c, cell) in row.iter().enumerate() {
            match cell {
                Cell::Text(s) => {
                    ws.write_string(r, col(c), s)?;
                }
                Cell::Int(i) => {
                    ws.write_number(r, col(c), *i as f64)?;
                }
                Cell::Dec(v, scale) => {
                    ws.write_number(r, col(c), *v as f64 / 10f64.powi(*scale as i32))?;
                }
                Cell::Withheld => {
                    ws.write_string(r, col(c), "..")?;
                }
            }
        }
    }
    let dict = wb.add_worksheet();
    dict.set_name("dictionary")?;
    for (c, h) in ["column", "unit", "meaning"].iter().enumerate() {
        dict.write_string_with_format(0, col(c), *h, &bold)?;
    }
    let mut r = 1;
    for (name, unit, meaning) in dictionary() {
        dict.write_string(r, 0, name)?;
        dict.write_string(r, 1, unit)?;
        dict.write_string(r, 2, meaning)?;
        r += 1;
    }
    let about = format!(
        "OneWindow statistics, table {}: generated from the declaration lists (docs/statistics.md). \
         '..' marks a cell withheld for statistical confidentiality.",
        table.name
    );
    dict.write_string(r + 1, 0, &about)?;
    wb.save_to_buffer()
}

fn col(c: usize) -> u16 {
    u16::try_from(c).unwrap_or(u16::MAX)
}

// ---- the catalogue ----

fn table_json(t: StatTable) -> Value {
    json!({
        "name": t.name(),
        "dimensions": dimension_names(t),
        "measures": t.measures().iter().map(|m| measure_column(m).0).collect::<Vec<_>>(),
    })
}

fn dictionary_json() -> Value {
    Value::Array(
        dictionary()
            .into_iter()
            .map(|(c, u, m)| json!({ "column": c, "unit": u, "meaning": m }))
            .collect(),
    )
}

/// `GET /api/v1/statistics`: the tables, their dimensions and measures, the classification and
/// the data dictionary.
async fn catalogue(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, Problem> {
    authenticate(&state, &headers).await?;
    Ok(Json(json!({
        "tables": StatTable::ALL.map(table_json),
        "classes": Classification::builtin().classes(),
        "parks": parks::builtin(),
        "buckets": BUCKETS.iter().map(|(code, lower, label)| json!({"code": code, "fromMs": lower, "label": label})).collect::<Vec<_>>(),
        "dictionary": dictionary_json(),
    })))
}

// ---- staff and enterprise queries ----

/// `GET /api/v1/statistics/{table}`: sums of a table over a period, grouped (`group=`), filtered
/// (`<dimension>=<value>`), with distinct counts (`distinct=`), as JSON, CSV or a workbook.
async fn query_table(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(params): Query<BTreeMap<String, String>>,
) -> Result<Response, Problem> {
    let principal = authenticate(&state, &headers).await?;
    let table = StatTable::parse(&name).ok_or_else(|| Problem::not_found("statistics table"))?;
    let format = format_of(&params, &headers)?;
    let (from_day, to_day) = period(&params)?;
    let group = dims(table, params.get("group"), "group")?;
    let distinct = dims(table, params.get("distinct"), "distinct")?;
    if distinct.iter().any(|d| d.is_time()) {
        return Err(Problem::bad_request(
            "bad-query",
            "distinct counts are of dimensions, not days or months",
        ));
    }
    let mut filters: Vec<(StatDim, String)> = Vec::new();
    for (key, value) in &params {
        if matches!(
            key.as_str(),
            "format" | "from" | "to" | "group" | "distinct" | "as"
        ) {
            continue;
        }
        let dim = StatDim::parse(key)
            .filter(|d| table.has(*d) && !d.is_time())
            .ok_or_else(|| {
                Problem::bad_request(
                    "bad-query",
                    format!("{key:?} is not a parameter of the {} table", table.name()),
                )
            })?;
        filters.push((dim, value.clone()));
    }
    // An enterprise sees the cells of its own declarations only: as the e-commerce enterprise by
    // default, or in another role it plays (`as=ebp|payment|logistics`, lists table only).
    if let Principal::Enterprise(code) = &principal {
        let own = match (table, params.get("as").map(String::as_str)) {
            (StatTable::Rejections, None) => StatDim::Enterprise,
            (StatTable::Rejections, Some(_)) => {
                return Err(Problem::bad_request(
                    "bad-query",
                    "rejections are shown to the enterprise that sent the message: no as=",
                ));
            }
            (_, None | Some("ebc")) => StatDim::Ebc,
            (StatTable::Lists, Some("ebp")) => StatDim::Ebp,
            (StatTable::Lists, Some("payment")) => StatDim::Payment,
            (StatTable::Lists, Some("logistics")) => StatDim::Logistics,
            (_, Some(other)) => {
                return Err(Problem::bad_request(
                    "bad-query",
                    format!("as={other:?} is not a role of the {} table", table.name()),
                ));
            }
        };
        filters.push((own, code.clone()));
    }
    let store = state.store.clone();
    let (g, d) = (group.clone(), distinct.clone());
    let rows = blocking(move || {
        let f: Vec<(StatDim, &str)> = filters.iter().map(|(d, v)| (*d, v.as_str())).collect();
        store.stat_query(&StatQuery {
            table,
            from_day,
            to_day,
            group_by: &g,
            filters: &f,
            distinct: &d,
        })
    })
    .await?;
    let mut columns = key_columns(&group);
    let units: Vec<Unit> = table
        .measures()
        .iter()
        .map(|m| measure_column(m).1)
        .collect();
    columns.extend(table.measures().iter().map(|m| measure_column(m).0));
    columns.extend(distinct.iter().map(|d| format!("distinct_{}", d.name())));
    let out_rows = rows
        .iter()
        .map(|r| {
            let mut cells = key_cells(&group, &r.keys);
            cells.extend(r.measures.iter().zip(&units).map(|(v, u)| Cell::of(*v, *u)));
            cells.extend(r.distinct.iter().map(|n| Cell::Int(*n)));
            cells
        })
        .collect();
    let mut meta = Map::new();
    meta.insert("from".into(), json!(time_text(from_day)));
    meta.insert("to".into(), json!(time_text(to_day)));
    render(
        Table {
            name: table.name().to_string(),
            columns,
            rows: out_rows,
            meta,
        },
        format,
    )
}

fn time_text(day: i32) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        day / 10_000,
        (day / 100) % 100,
        day % 100
    )
}

// ---- open data ----

/// A published headline table (open data).
struct Published {
    name: &'static str,
    title: &'static str,
    table: StatTable,
    group: &'static [StatDim],
    measures: &'static [&'static str],
}

const TAX_AND_VALUE: &[&str] = &[
    "declarations",
    "lines",
    "value_fen",
    "customs_tax_fen",
    "vat_fen",
    "consumption_tax_fen",
];

const PUBLISHED: &[Published] = &[
    Published {
        name: "overview",
        title: "Released lists by month, direction and customs mode",
        table: StatTable::Lists,
        group: &[StatDim::Month, StatDim::Direction, StatDim::Mode],
        measures: &[
            "declarations",
            "lines",
            "value_fen",
            "customs_tax_fen",
            "vat_fen",
            "consumption_tax_fen",
            "paid_fen",
            "returns",
            "returned_value_fen",
        ],
    },
    Published {
        name: "classes",
        title: "Released goods by month and simplified goods class",
        table: StatTable::Goods,
        group: &[StatDim::Month, StatDim::Class],
        measures: TAX_AND_VALUE,
    },
    Published {
        name: "origins",
        title: "Released goods by month and country of origin",
        table: StatTable::Goods,
        group: &[StatDim::Month, StatDim::Origin],
        measures: TAX_AND_VALUE,
    },
    Published {
        name: "parks",
        title: "Released lists by month and park",
        table: StatTable::Lists,
        group: &[StatDim::Month, StatDim::Park],
        measures: TAX_AND_VALUE,
    },
    Published {
        name: "clearance-time",
        title: "Clearance times (match to release) by month, customs mode and bucket",
        table: StatTable::Clearance,
        group: &[StatDim::Month, StatDim::Mode, StatDim::Bucket],
        measures: &["declarations"],
    },
    Published {
        name: "rejections",
        title: "Refused messages by month, message type and reason",
        table: StatTable::Rejections,
        group: &[StatDim::Month, StatDim::MessageType, StatDim::Code],
        measures: &["rejections"],
    },
];

/// `GET /api/public/statistics`: the published tables and the data dictionary.
async fn public_catalogue() -> Json<Value> {
    Json(json!({
        "tables": PUBLISHED.iter().map(|p| json!({
            "name": p.name,
            "title": p.title,
            "dimensions": p.group.iter().map(|d| d.name()).collect::<Vec<_>>(),
            "measures": p.measures.iter().map(|m| measure_column(m).0).collect::<Vec<_>>(),
            "formats": ["json", "csv", "xlsx"],
        })).collect::<Vec<_>>(),
        "classes": Classification::builtin().classes(),
        "parks": parks::builtin(),
        "dictionary": dictionary_json(),
    }))
}

/// `GET /api/public/statistics/{name}`: a published table, zone-wide, whole months, with cells
/// that could disclose one enterprise withheld.
async fn public_table(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(params): Query<BTreeMap<String, String>>,
) -> Result<Response, Problem> {
    let published = PUBLISHED
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| Problem::not_found("published table"))?;
    let format = format_of(&params, &headers)?;
    let (from, to) = period(&params)?;
    // Whole months only: open data is monthly.
    let (from, to) = (
        Month::of_day(from).first_day(),
        Month::of_day(to).last_day(),
    );
    let contributor = if published.table == StatTable::Rejections {
        StatDim::Enterprise
    } else {
        StatDim::Ebc
    };
    let mut group: Vec<StatDim> = published.group.to_vec();
    group.push(contributor);
    let store = state.store.clone();
    let table = published.table;
    let (rows, settings) = blocking(move || {
        let rows = store.stat_query(&StatQuery {
            table,
            from_day: from,
            to_day: to,
            group_by: &group,
            filters: &[],
            distinct: &[],
        })?;
        Ok((rows, index_settings(store.as_ref())?))
    })
    .await?;
    let positions: Vec<usize> = published
        .measures
        .iter()
        .filter_map(|m| table.measures().iter().position(|x| x == m))
        .collect();
    let n_keys = published.group.len();
    let contributions: Vec<Contribution> = rows
        .iter()
        .map(|r| Contribution {
            keys: r.keys.iter().take(n_keys).cloned().collect(),
            partition: r.keys.first().cloned().unwrap_or_default(),
            contributor: r.keys.get(n_keys).cloned().unwrap_or_default(),
            measures: positions
                .iter()
                .map(|i| r.measures.get(*i).copied().unwrap_or(0))
                .collect(),
        })
        .collect();
    let k = usize::try_from(settings.disclosure_threshold).unwrap_or(3);
    let protected = disclosure::protect(&contributions, k);
    let units: Vec<Unit> = published
        .measures
        .iter()
        .map(|m| measure_column(m).1)
        .collect();
    let mut columns = key_columns(published.group);
    columns.extend(published.measures.iter().map(|m| measure_column(m).0));
    columns.push("enterprises".into());
    columns.push("withheld".into());
    let out_rows = protected
        .iter()
        .map(|r| {
            let mut cells = key_cells(published.group, &r.keys);
            match &r.measures {
                Some(m) => {
                    cells.extend(m.iter().zip(&units).map(|(v, u)| Cell::of(*v, *u)));
                    cells.push(Cell::Int(i64::try_from(r.contributors).unwrap_or(0)));
                    cells.push(Cell::Text("false".into()));
                }
                None => {
                    cells.extend(units.iter().map(|_| Cell::Withheld));
                    cells.push(Cell::Withheld);
                    cells.push(Cell::Text("true".into()));
                }
            }
            cells
        })
        .collect();
    let mut meta = Map::new();
    meta.insert("title".into(), json!(published.title));
    meta.insert("from".into(), json!(time_text(from)));
    meta.insert("to".into(), json!(time_text(to)));
    meta.insert("disclosureThreshold".into(), json!(k));
    render(
        Table {
            name: published.name.to_string(),
            columns,
            rows: out_rows,
            meta,
        },
        format,
    )
}

// ---- the index ----

fn index_columns() -> Vec<String> {
    let mut cols: Vec<String> = ["month", "composite", "goods", "logistics", "payment"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    cols.extend(index::Indicator::ALL.iter().map(|i| i.code().to_string()));
    cols
}

fn dec_cell(d: Option<rust_decimal::Decimal>) -> Cell {
    d.map_or(Cell::Text(String::new()), |d| Cell::Text(d.to_string()))
}

fn index_row(m: &MonthIndex) -> Vec<Cell> {
    let mut row = vec![Cell::Text(m.month.to_string()), dec_cell(m.composite)];
    for s in index::SubIndex::ALL {
        row.push(dec_cell(
            m.sub_indices
                .iter()
                .find(|x| x.sub_index == s)
                .and_then(|x| x.value),
        ));
    }
    for i in index::Indicator::ALL {
        row.push(dec_cell(
            m.sub_indices
                .iter()
                .flat_map(|s| &s.indicators)
                .find(|v| v.indicator == i)
                .and_then(|v| v.index),
        ));
    }
    row
}

fn staff_only(principal: &Principal) -> Result<(), Problem> {
    match principal {
        Principal::Enterprise(_) => Err(Problem::forbidden().detail("statistics staff only")),
        _ => Ok(()),
    }
}

/// `GET /api/v1/index?from=YYYY-MM&to=YYYY-MM`: the provisional index from the statistics as
/// they stand (staff).
async fn provisional(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<BTreeMap<String, String>>,
) -> Result<Response, Problem> {
    staff_only(&authenticate(&state, &headers).await?)?;
    let format = format_of(&params, &headers)?;
    let (from_day, to_day) = period(&params)?;
    let (from, to) = (Month::of_day(from_day), Month::of_day(to_day));
    let store = state.store.clone();
    let (settings, months) = blocking(move || provisional_index(store.as_ref(), from, to)).await?;
    if format == Format::Json {
        return Ok(Json(json!({
            "provisional": true,
            "settings": settings,
            "months": months,
        }))
        .into_response());
    }
    render(
        Table {
            name: "index-provisional".into(),
            columns: index_columns(),
            rows: months.iter().map(index_row).collect(),
            meta: Map::new(),
        },
        format,
    )
}

async fn publication_rows(
    state: &AppState,
    status: Option<&'static str>,
) -> Result<Vec<index::Publication>, Problem> {
    let store = state.store.clone();
    let rows = blocking(move || {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = store.records(&RecordQuery {
                kind: "index",
                party: None,
                status,
                after: after.as_deref(),
                limit: 1000,
            })?;
            let done = page.len() < 1000;
            after = page.last().map(|r| r.key.clone());
            all.extend(page);
            if done {
                break;
            }
        }
        Ok(all)
    })
    .await?;
    Ok(rows
        .iter()
        .filter_map(|r| serde_json::from_str(&r.body).ok())
        .collect())
}

fn publication_json(p: &index::Publication, full: bool) -> Value {
    let mut v = json!({
        "month": p.month,
        "revision": p.revision,
        "publishedAtMs": p.published_at.0,
        "supersededAtMs": p.superseded_at.map(|t| t.0),
        "note": p.note,
        "index": p.index,
    });
    if full && let Some(map) = v.as_object_mut() {
        map.insert("settings".into(), json!(p.settings));
        map.insert("figures".into(), json!(p.figures));
        map.insert("publishedBy".into(), json!(p.published_by));
    }
    v
}

/// `GET /api/v1/index/publications`: every publication, revisions included (staff).
async fn publications(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, Problem> {
    staff_only(&authenticate(&state, &headers).await?)?;
    let all = publication_rows(&state, None).await?;
    Ok(Json(json!({
        "publications": all.iter().map(|p| publication_json(p, true)).collect::<Vec<_>>()
    })))
}

/// `GET /api/public/index`: the published index, one row per month (its latest revision), as
/// JSON or CSV.
async fn public_index(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<BTreeMap<String, String>>,
) -> Result<Response, Problem> {
    let format = format_of(&params, &headers)?;
    let current = publication_rows(&state, Some("current")).await?;
    if format == Format::Json {
        return Ok(Json(json!({
            "months": current.iter().map(|p| publication_json(p, false)).collect::<Vec<_>>()
        }))
        .into_response());
    }
    let mut columns = vec!["revision".to_string(), "published_at".to_string()];
    columns.extend(index_columns());
    let rows = current
        .iter()
        .map(|p| {
            let mut row = vec![
                Cell::Int(i64::from(p.revision)),
                Cell::Text(p.published_at.ceb_time14()),
            ];
            row.extend(index_row(&p.index));
            row
        })
        .collect();
    render(
        Table {
            name: "index".into(),
            columns,
            rows,
            meta: Map::new(),
        },
        format,
    )
}

pub(crate) fn zone_office(principal: &Principal) -> Result<(), Problem> {
    match principal {
        Principal::Regulator(Department::ZoneOffice) => Ok(()),
        _ => Err(Problem::forbidden()
            .detail("the index belongs to the zone office (regulator:zone_office)")),
    }
}

/// Journal an index action and answer with what it did.
pub(crate) async fn index_act(
    state: &AppState,
    principal: &Principal,
    action: IndexAction,
) -> Result<Json<Value>, Problem> {
    let received_at_ms = now_ms();
    let entry = IndexEntry {
        actor: principal.actor(),
        action,
    };
    let body = serde_json::to_vec(&entry).map_err(|e| Problem::unavailable(&e))?;
    let job = Job::staff(
        &principal.label(),
        intake::INDEX,
        body,
        Intake::Index(Box::new(entry)),
        received_at_ms,
    );
    let accepted = submit(state, job).await?;
    match accepted.outcome {
        Some(Ok(result)) => {
            // A publication answers in the shape the listings use.
            let result = match serde_json::from_value::<index::Publication>(result.clone()) {
                Ok(p) => publication_json(&p, true),
                Err(_) => result,
            };
            Ok(Json(json!({ "seq": accepted.seq, "result": result })))
        }
        Some(Err(refusal)) => {
            let (status, kind) = match refusal.kind {
                domain::clearance::RefusedKind::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
                domain::clearance::RefusedKind::NotFound => (StatusCode::NOT_FOUND, "not-found"),
                domain::clearance::RefusedKind::Conflict => {
                    (StatusCode::CONFLICT, "action-refused")
                }
            };
            Err(Problem::new(status, kind, "the action was refused").detail(refusal.message))
        }
        None => Err(Problem::unavailable(&"the action produced no outcome")),
    }
}

#[derive(Deserialize)]
struct PublishBody {
    month: String,
    #[serde(default)]
    note: String,
}

/// `POST /api/v1/index/publications`: the zone office publishes a month that has ended; a month
/// published again is a new revision.
async fn publish(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    let principal = authenticate(&state, &headers).await?;
    zone_office(&principal)?;
    let request: PublishBody = serde_json::from_slice(&body).map_err(|e| {
        Problem::bad_request("bad-json", "expected {\"month\": \"YYYY-MM\", \"note\"?}")
            .detail(e.to_string())
    })?;
    let month = Month::parse(&request.month)
        .ok_or_else(|| Problem::bad_request("bad-query", "month: use YYYY-MM"))?;
    if month.last_day() >= Month::of_day(today()).first_day() {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "month-not-ended",
            "only a month that has ended can be published",
        ));
    }
    let store = state.store.clone();
    let figures = blocking(move || {
        let settings = index_settings(store.as_ref())?;
        figures_for(store.as_ref(), &settings, month)
    })
    .await?;
    index_act(
        &state,
        &principal,
        IndexAction::Publish {
            month,
            figures,
            note: request.note,
        },
    )
    .await
}

/// `GET /api/v1/index/settings` (staff).
async fn get_settings(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, Problem> {
    staff_only(&authenticate(&state, &headers).await?)?;
    let store = state.store.clone();
    let settings = blocking(move || index_settings(store.as_ref())).await?;
    Ok(Json(json!(settings)))
}

/// `PUT /api/v1/index/settings`: the zone office replaces the weights, base period and
/// disclosure threshold (missing fields take their defaults).
async fn put_settings(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    let principal = authenticate(&state, &headers).await?;
    zone_office(&principal)?;
    let settings: IndexSettings = serde_json::from_slice(&body).map_err(|e| {
        Problem::bad_request("bad-json", "not index settings JSON").detail(e.to_string())
    })?;
    checked(&settings)?;
    index_act(&state, &principal, IndexAction::Configure { settings }).await
}

/// Index settings that hold together, or the 422 that says why (the API and the portal alike).
pub(crate) fn checked(settings: &IndexSettings) -> Result<(), Problem> {
    settings.validate().map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-settings",
            "the index settings do not hold together",
        )
        .detail(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_a_spreadsheet_would_misread() {
        let mut out = String::new();
        write_csv_row(
            &mut out,
            ["a,b", "=SUM(A1)", "-12.50", "say \"hi\""].into_iter(),
        );
        assert_eq!(out, "\"a,b\",\"'=SUM(A1)\",-12.50,\"say \"\"hi\"\"\"\r\n");
    }

    #[test]
    fn every_column_a_table_can_show_is_in_the_dictionary() {
        let dict: Vec<&str> = dictionary()
            .iter()
            .flat_map(|(c, _, _)| c.split(" / "))
            .collect();
        for t in StatTable::ALL {
            for d in dimension_names(t) {
                assert!(dict.contains(&d), "{d}");
            }
            for m in t.measures() {
                assert!(dict.contains(&measure_column(m).0.as_str()), "{m}");
            }
            for d in t.dims() {
                for l in labels(*d) {
                    assert!(dict.iter().any(|x| x.starts_with(&l[..l.len() - 3])), "{l}");
                }
            }
        }
    }
}
