#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod c14n;
mod conformance;
mod dsig;
mod hostile;
mod invalid;
mod mutate;
mod props;
mod samples;
mod schema;

pub const SAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/gacc-ceb-202205/samples/import/"
);
pub const REAL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/real-receipts/"
);
pub const CODES: [&str; 16] = [
    "311", "312", "411", "412", "511", "512", "513", "514", "621", "622", "623", "624", "625",
    "626", "711", "712",
];

pub fn sample(code: &str) -> String {
    std::fs::read_to_string(format!("{SAMPLES}CEB{code}Message.xml")).unwrap()
}

pub fn rejected(xml: &str) -> ceb::Rejection {
    match ceb::parse(xml.as_bytes(), &ceb::Limits::default()) {
        Ok(p) => panic!("expected a rejection, got {}", p.message.message_type()),
        Err(r) => r,
    }
}
