//! 园区 — the zone's parks (一区多园) by code, for showing statistics by park with their names
//! (`data/parks.csv`). The registry holds only an enterprise's park code.

use std::sync::OnceLock;

use serde::Serialize;

use crate::registry::{csv_lines, split_csv_line, valid_park};

const BUILTIN_CSV: &str = include_str!("../../data/parks.csv");

/// One park of the zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Park {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

/// The built-in park directory, in file order. Rows that do not parse are skipped (a unit test
/// keeps the file clean).
pub fn builtin() -> &'static [Park] {
    static PARKS: OnceLock<Vec<Park>> = OnceLock::new();
    PARKS.get_or_init(|| parse(BUILTIN_CSV))
}

fn parse(text: &str) -> Vec<Park> {
    csv_lines(text)
        .skip(1)
        .filter_map(|(_, l)| {
            let f = split_csv_line(l).ok()?;
            let [code, zh, en] = f.as_slice() else {
                return None;
            };
            valid_park(code.trim()).then(|| Park {
                code: code.trim().to_string(),
                name_zh: zh.trim().to_string(),
                name_en: en.trim().to_string(),
            })
        })
        .collect()
}

/// The park with this code.
pub fn get(code: &str) -> Option<&'static Park> {
    builtin().iter().find(|p| p.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_the_park_file_is_a_park() {
        let rows = csv_lines(BUILTIN_CSV).count() - 1;
        assert_eq!(builtin().len(), rows);
        assert_eq!(get("HZ-XS").map(|p| p.name_zh.as_str()), Some("下沙园区"));
    }
}
