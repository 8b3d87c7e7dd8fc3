//! `onewindow regulator …`: the credit and risk desk from the command line — alert queue and its
//! assess / dispose / review steps, inspection tasks and findings, document-review decisions,
//! credit records and certifications, the negative lists, recalls and rule settings. Each command
//! is one call of the HTTP API (docs/api.md); the token decides who acts (a regulator's
//! `regulator:<department>` credential, or an enterprise's own for `appeal` and `repair`).

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::ClientArgs;
use crate::client;

#[derive(Args)]
pub struct RegulatorArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(subcommand)]
    pub command: RegulatorCommand,
}

/// Goods named by HS prefix, brand or product code (exactly one).
#[derive(Args, Clone, Debug)]
#[group(required = true, multiple = false)]
pub struct Goods {
    /// HS code or prefix (2–10 digits).
    #[arg(long)]
    hs: Option<String>,
    /// Brand (whole word in the goods name or model).
    #[arg(long)]
    brand: Option<String>,
    /// Product code (itemNo or barCode).
    #[arg(long)]
    product: Option<String>,
}

impl Goods {
    fn matcher(&self) -> Value {
        match (&self.hs, &self.brand, &self.product) {
            (Some(p), _, _) => json!({"by": "hs", "prefix": p}),
            (_, Some(b), _) => json!({"by": "brand", "brand": b}),
            (_, _, Some(c)) => json!({"by": "product", "code": c}),
            _ => Value::Null,
        }
    }
}

#[derive(Subcommand)]
pub enum RegulatorCommand {
    /// The alert queue (status: open, assessed, disposed, reviewed).
    Alerts {
        #[arg(long)]
        status: Option<String>,
    },
    /// One alert with its evidence and steps.
    Alert { id: String },
    /// 评估: assess an open alert (level: low, medium, high).
    Assess {
        id: String,
        #[arg(long)]
        level: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// 处置: dispose an assessed alert (no_action, warning, inspection, release, reject).
    Dispose {
        id: String,
        #[arg(long)]
        disposal: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// 复查: review a disposed alert — was it a true positive?
    Review {
        id: String,
        #[arg(long, action = clap::ArgAction::Set)]
        confirmed: bool,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Inspection tasks (status: open, passed, failed, closed).
    Inspections {
        #[arg(long)]
        status: Option<String>,
    },
    /// Record an inspection finding: passed releases, failed rejects (a reason is required).
    Finding {
        task: String,
        #[arg(long, action = clap::ArgAction::Set)]
        passed: bool,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Decide a declaration held for document review.
    Conclude {
        declaration: String,
        #[arg(long, action = clap::ArgAction::Set)]
        release: bool,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Credit records (no subject: the list; a code, `me`, or `E:…`/`P:…`: one, explained).
    Credit {
        subject: Option<String>,
        /// With no subject: grade filter (AAA, AA, A, BBB, BB, DISHONEST).
        #[arg(long)]
        grade: Option<String>,
    },
    /// Enter a department's certification (advanced, certified, general, dishonest).
    Certify {
        enterprise: String,
        #[arg(long)]
        level: String,
        /// Last day it is valid (YYYY-MM-DD).
        #[arg(long)]
        valid_until: Option<String>,
    },
    /// Enter a third-party credit rating (0–100).
    Rate {
        enterprise: String,
        #[arg(long)]
        agency: String,
        #[arg(long)]
        score: u8,
    },
    /// Enter a consumer complaint against an enterprise.
    Complaint {
        enterprise: String,
        #[arg(long, action = clap::ArgAction::Set)]
        upheld: bool,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Record that the tax of a released inventory was paid (YYYY-MM-DD).
    TaxPaid {
        invt_no: String,
        #[arg(long)]
        paid_on: String,
    },
    /// The credit negative list (status: active, appealed, repair_requested, revoked, repaired, expired).
    Listings {
        #[arg(long)]
        status: Option<String>,
    },
    /// Put an enterprise (or a buyer, by key) on the negative list or warn it.
    List {
        #[arg(
            long,
            conflicts_with = "buyer_key",
            required_unless_present = "buyer_key"
        )]
        enterprise: Option<String>,
        #[arg(long)]
        buyer_key: Option<String>,
        /// commercial_fraud, ipr_infringement, counterfeiting, smuggling, identity_misuse, resale,
        /// tax_default, false_declaration, other
        #[arg(long)]
        category: String,
        /// warning or listed
        #[arg(long, default_value = "listed")]
        severity: String,
        #[arg(long)]
        evidence: String,
    },
    /// Appeal a listing (the listed enterprise, with its own token).
    Appeal {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Decide an appeal: upheld keeps the listing, not upheld revokes it.
    DecideAppeal {
        id: String,
        #[arg(long, action = clap::ArgAction::Set)]
        upheld: bool,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Ask for credit repair (the listed enterprise, after the waiting period).
    Repair {
        id: String,
        #[arg(long)]
        evidence: String,
    },
    /// Decide a repair request.
    DecideRepair {
        id: String,
        #[arg(long, action = clap::ArgAction::Set)]
        approved: bool,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Withdraw a listing.
    Withdraw {
        id: String,
        #[arg(long)]
        note: String,
    },
    /// The trade-control negative list of goods.
    Controls,
    /// Ban or restrict goods at declaration.
    Control {
        #[command(flatten)]
        goods: Goods,
        /// banned or restricted
        #[arg(long, default_value = "banned")]
        control: String,
        #[arg(long)]
        reason: String,
    },
    /// Remove a control entry.
    Uncontrol { id: String },
    /// Product recalls.
    Recalls,
    /// Issue a recall: in-flight declarations are stopped, past buyers listed (masked).
    Recall {
        #[command(flatten)]
        goods: Goods,
        /// Only this seller's goods.
        #[arg(long)]
        seller: Option<String>,
        #[arg(long)]
        reason: String,
    },
    /// Lift a recall.
    Lift { id: String },
    /// Risk rules with their settings, versions and precision.
    Rules,
    /// Change a rule: mode (on, off, observe), score, parameters (JSON object).
    Rule {
        code: String,
        #[arg(long)]
        mode: Option<String>,
        #[arg(long)]
        score: Option<u32>,
        #[arg(long)]
        params: Option<String>,
    },
}

fn query(path: &str, pairs: &[(&str, &Option<String>)]) -> String {
    let q: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect();
    if q.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", q.join("&"))
    }
}

/// The API call of each command: (method, path, JSON body).
fn request(command: RegulatorCommand) -> anyhow::Result<(&'static str, String, Option<Value>)> {
    use RegulatorCommand as C;
    Ok(match command {
        C::Alerts { status } => ("GET", query("/api/v1/alerts", &[("status", &status)]), None),
        C::Alert { id } => ("GET", format!("/api/v1/alerts/{id}"), None),
        C::Assess { id, level, note } => (
            "POST",
            format!("/api/v1/alerts/{id}/assess"),
            Some(json!({"level": level, "note": note})),
        ),
        C::Dispose { id, disposal, note } => (
            "POST",
            format!("/api/v1/alerts/{id}/dispose"),
            Some(json!({"disposal": disposal, "note": note})),
        ),
        C::Review {
            id,
            confirmed,
            note,
        } => (
            "POST",
            format!("/api/v1/alerts/{id}/review"),
            Some(json!({"confirmed": confirmed, "note": note})),
        ),
        C::Inspections { status } => (
            "GET",
            query("/api/v1/inspections", &[("status", &status)]),
            None,
        ),
        C::Finding {
            task,
            passed,
            reason,
        } => (
            "POST",
            format!("/api/v1/inspections/{task}/finding"),
            Some(json!({"passed": passed, "reason": reason})),
        ),
        C::Conclude {
            declaration,
            release,
            reason,
        } => (
            "POST",
            format!("/api/v1/declarations/{declaration}/conclude"),
            Some(json!({"release": release, "reason": reason})),
        ),
        C::Credit { subject, grade } => match subject {
            Some(s) => ("GET", format!("/api/v1/credit/{s}"), None),
            None => ("GET", query("/api/v1/credit", &[("status", &grade)]), None),
        },
        C::Certify {
            enterprise,
            level,
            valid_until,
        } => (
            "POST",
            format!("/api/v1/credit/{enterprise}/certifications"),
            Some(json!({"level": level, "valid_until": valid_until})),
        ),
        C::Rate {
            enterprise,
            agency,
            score,
        } => (
            "POST",
            format!("/api/v1/credit/{enterprise}/ratings"),
            Some(json!({"agency": agency, "score": score})),
        ),
        C::Complaint {
            enterprise,
            upheld,
            note,
        } => (
            "POST",
            format!("/api/v1/credit/{enterprise}/complaints"),
            Some(json!({"upheld": upheld, "note": note})),
        ),
        C::TaxPaid { invt_no, paid_on } => (
            "POST",
            format!("/api/v1/tax-bills/{invt_no}/payment"),
            Some(json!({"paid_on": paid_on})),
        ),
        C::Listings { status } => (
            "GET",
            query("/api/v1/listings", &[("status", &status)]),
            None,
        ),
        C::List {
            enterprise,
            buyer_key,
            category,
            severity,
            evidence,
        } => {
            let subject = match (enterprise, buyer_key) {
                (Some(code), _) => json!({"type": "enterprise", "code": code}),
                (_, Some(key)) => json!({"type": "buyer", "key": key}),
                _ => anyhow::bail!("name --enterprise or --buyer-key"),
            };
            (
                "POST",
                "/api/v1/listings".to_string(),
                Some(
                    json!({"subject": subject, "category": category, "severity": severity, "evidence": evidence}),
                ),
            )
        }
        C::Appeal { id, reason } => step(&id, json!({"action": "appeal", "reason": reason})),
        C::DecideAppeal { id, upheld, note } => step(
            &id,
            json!({"action": "decide_appeal", "upheld": upheld, "note": note}),
        ),
        C::Repair { id, evidence } => step(
            &id,
            json!({"action": "request_repair", "evidence": evidence}),
        ),
        C::DecideRepair { id, approved, note } => step(
            &id,
            json!({"action": "decide_repair", "approved": approved, "note": note}),
        ),
        C::Withdraw { id, note } => step(&id, json!({"action": "withdraw", "note": note})),
        C::Controls => ("GET", "/api/v1/goods-controls".to_string(), None),
        C::Control {
            goods,
            control,
            reason,
        } => (
            "POST",
            "/api/v1/goods-controls".to_string(),
            Some(json!({"matcher": goods.matcher(), "control": control, "reason": reason})),
        ),
        C::Uncontrol { id } => ("DELETE", format!("/api/v1/goods-controls/{id}"), None),
        C::Recalls => ("GET", "/api/v1/recalls".to_string(), None),
        C::Recall {
            goods,
            seller,
            reason,
        } => (
            "POST",
            "/api/v1/recalls".to_string(),
            Some(json!({"matcher": goods.matcher(), "seller": seller, "reason": reason})),
        ),
        C::Lift { id } => ("POST", format!("/api/v1/recalls/{id}/lift"), None),
        C::Rules => ("GET", "/api/v1/risk/rules".to_string(), None),
        C::Rule {
            code,
            mode,
            score,
            params,
        } => {
            let params: Option<Value> = match params {
                Some(p) => Some(
                    serde_json::from_str(&p)
                        .map_err(|e| anyhow::anyhow!("--params is not a JSON object: {e}"))?,
                ),
                None => None,
            };
            (
                "PATCH",
                format!("/api/v1/risk/rules/{code}"),
                Some(json!({"mode": mode, "score": score, "params": params})),
            )
        }
    })
}

fn step(id: &str, body: Value) -> (&'static str, String, Option<Value>) {
    ("POST", format!("/api/v1/listings/{id}/steps"), Some(body))
}

/// Run one command; exit 1 when the server refused it.
pub fn run(args: RegulatorArgs) -> anyhow::Result<std::process::ExitCode> {
    let (method, path, body) = request(args.command)?;
    let bytes = body.map(|b| b.to_string().into_bytes());
    let answer = client::call(
        &args.client,
        method,
        &path,
        bytes.as_deref().map(|b| ("application/json", b)),
    )?;
    let ok = (200..300).contains(&answer.0);
    client::print(answer);
    Ok(if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(1)
    })
}
