//! The demo's regulators: a customs risk desk and an inspection desk that work the queues the
//! traffic fills, through the same HTTP API a real regulator uses. Alerts are assessed, disposed
//! and reviewed; held declarations are inspected. The fraud patterns of the demo traffic fail
//! their inspections, so grades fall and a listed enterprise appears on its own; honest parcels
//! picked by random sampling pass.

use serde_json::{Value, json};

/// Rule codes whose hits the demo's regulators treat as real once they look (the patterns the
/// demo traffic plants); the others are dismissed as noise on review.
const TRUE_PATTERNS: [&str; 7] = ["R4", "R6-ADDRESS", "R6-ID", "R7", "R8", "R11", "R5-ADDRESS"];
/// The real patterns whose goods are worth a physical look; a payment anomaly (R8) is a matter
/// for the payment institution, not for the parcel.
const INSPECT_PATTERNS: [&str; 6] = ["R4", "R6-ADDRESS", "R6-ID", "R7", "R11", "R5-ADDRESS"];

pub struct Desk {
    pub base: String,
    pub customs: String,
    pub inspection: String,
}

#[derive(Default, Debug)]
pub struct DeskTally {
    pub assessed: u64,
    pub disposed: u64,
    pub reviewed: u64,
    pub confirmed: u64,
    pub inspected: u64,
    pub failed: u64,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into()
}

impl Desk {
    fn get(&self, token: &str, path: &str) -> Value {
        let url = format!("{}{path}", self.base);
        match agent()
            .get(&url)
            .header("Authorization", &format!("Bearer {token}"))
            .call()
        {
            Ok(mut r) => serde_json::from_str(&r.body_mut().read_to_string().unwrap_or_default())
                .unwrap_or(Value::Null),
            Err(_) => Value::Null,
        }
    }

    fn post(&self, token: &str, path: &str, body: Value) -> bool {
        let url = format!("{}{path}", self.base);
        agent()
            .post(&url)
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .send(body.to_string().as_bytes())
            .is_ok_and(|r| r.status().is_success())
    }

    fn items(&self, token: &str, path: &str) -> Vec<Value> {
        self.get(token, path)["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// One pass over the queues; prints what the regulators did.
    pub fn work(&self, tally: &mut DeskTally) {
        // 评估 → 预警处置: assess every open alert, then dispose of it.
        for item in self.items(&self.customs, "/api/v1/alerts?status=open&limit=200") {
            let id = item["key"].as_str().unwrap_or_default().to_string();
            let rule = item["record"]["hit"]["rule"]
                .as_str()
                .unwrap_or("")
                .to_string();
            let score = item["record"]["hit"]["score"].as_u64().unwrap_or(0);
            let level = if score >= 40 { "high" } else { "medium" };
            if self.post(
                &self.customs,
                &format!("/api/v1/alerts/{id}/assess"),
                json!({"level": level, "note": "demo risk desk"}),
            ) {
                tally.assessed += 1;
            }
            let inspect = INSPECT_PATTERNS.contains(&rule.as_str());
            // A held declaration goes to inspection when the pattern is one worth a look;
            // otherwise it is released (or, already under inspection, left to the finding).
            let mut disposed = false;
            for disposal in if inspect {
                ["inspection", "no_action"]
            } else {
                ["release", "no_action"]
            } {
                if self.post(
                    &self.customs,
                    &format!("/api/v1/alerts/{id}/dispose"),
                    json!({"disposal": disposal, "note": "demo risk desk"}),
                ) {
                    disposed = true;
                    break;
                }
            }
            if disposed {
                tally.disposed += 1;
            }
        }
        // 查验: inspect. A declaration flagged by a planted pattern fails; a sampled one passes.
        for item in self.items(
            &self.inspection,
            "/api/v1/inspections?status=open&limit=200",
        ) {
            let id = item["key"].as_str().unwrap_or_default().to_string();
            let reasons: Vec<String> = item["record"]["reasons"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect();
            let bad = reasons.iter().any(|r| {
                r.contains("disposed to inspection")
                    || INSPECT_PATTERNS
                        .iter()
                        .any(|p| r.starts_with(&format!("{p} ")))
            });
            let body = if bad {
                json!({"passed": false, "reason": "goods or documents do not match the declaration (demo inspection)"})
            } else {
                json!({"passed": true, "reason": "goods as declared"})
            };
            if self.post(
                &self.inspection,
                &format!("/api/v1/inspections/{id}/finding"),
                body,
            ) {
                tally.inspected += 1;
                if bad {
                    tally.failed += 1;
                }
            }
        }
        // 复查: review what was disposed — was it a true positive?
        for item in self.items(&self.customs, "/api/v1/alerts?status=disposed&limit=200") {
            let id = item["key"].as_str().unwrap_or_default().to_string();
            let rule = item["record"]["hit"]["rule"].as_str().unwrap_or("");
            let confirmed = TRUE_PATTERNS.contains(&rule);
            if self.post(
                &self.customs,
                &format!("/api/v1/alerts/{id}/review"),
                json!({"confirmed": confirmed, "note": "demo review"}),
            ) {
                tally.reviewed += 1;
                if confirmed {
                    tally.confirmed += 1;
                }
            }
        }
    }

    /// Grades, listings and rule precision, for the demo's report.
    pub fn report(&self) -> String {
        let mut out = String::new();
        let credit = self.items(&self.customs, "/api/v1/credit?limit=100");
        let grades: Vec<String> = credit
            .iter()
            .map(|c| {
                format!(
                    "{}={}",
                    c["key"].as_str().unwrap_or("").trim_start_matches("E:"),
                    c["status"].as_str().unwrap_or("")
                )
            })
            .collect();
        out.push_str(&format!("   grades: {}\n", grades.join(" ")));
        let listed = self.items(&self.customs, "/api/v1/listings?limit=100");
        for l in &listed {
            let r = &l["record"];
            out.push_str(&format!(
                "   negative list {}: {} {} {} ({}) — {}\n",
                l["key"].as_str().unwrap_or(""),
                r["subject"]["id"].as_str().unwrap_or(""),
                r["severity"].as_str().unwrap_or(""),
                r["category"].as_str().unwrap_or(""),
                l["status"].as_str().unwrap_or(""),
                r["evidence"].as_str().unwrap_or("")
            ));
        }
        let rules = self.items(&self.customs, "/api/v1/risk/rules");
        let hits: Vec<String> = rules
            .iter()
            .filter(|r| r["record"]["stats"]["alerts"].as_u64().unwrap_or(0) > 0)
            .map(|r| {
                let s = &r["record"]["stats"];
                format!(
                    "{} {} alerts, {} of {} reviewed confirmed",
                    r["key"].as_str().unwrap_or(""),
                    s["alerts"],
                    s["confirmed"],
                    s["reviewed"]
                )
            })
            .collect();
        if !hits.is_empty() {
            out.push_str(&format!("   rules: {}\n", hits.join("; ")));
        }
        out
    }
}
