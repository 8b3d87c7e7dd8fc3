//! Reading JSON from senders without echoing their values: the errors of every JSON body the
//! single window reads (submissions, administrative and supervision entries, HTTP requests) name
//! the path and what was expected there, never what was found.

/// Read a JSON body as `T`. The error names where the body went wrong and what was expected there,
/// never the value found: a wrongly typed field may hold a name, an ID number or a telephone, and
/// serde's own text quotes it (`invalid type: string "张三", expected …`).
pub fn from_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| json_error(&e))?;
    de.end().map_err(|e| without_value(&e))?;
    Ok(value)
}

/// [`from_json`] for a value already read: the same error text, paths relative to `value`.
pub fn from_json_value<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| json_error(&e))
}

fn json_error(e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let what = without_value(e.inner());
    match e.path().to_string().as_str() {
        "" | "." => what,
        path => format!("{path}: {what}"),
    }
}

/// serde_json's error text with every value it quotes left out. Syntax errors never quote the
/// input; data errors (`invalid type: string "…"`, `invalid value: integer `…``, `unknown variant
/// `…``) do, so only their kind and what was expected are kept, and any other data error says
/// "invalid value".
pub fn without_value(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let text = e.to_string();
    let at = if e.line() > 0 {
        format!(" at line {} column {}", e.line(), e.column())
    } else {
        String::new()
    };
    let message = text.strip_suffix(&at).unwrap_or(&text);
    if !matches!(e.classify(), Category::Data) {
        return format!("{message}{at}");
    }
    // The last one: serde writes what it expected after the value, and a quoted value may itself
    // hold ", expected ".
    let (head, expected) = match message.rfind(", expected ") {
        Some(i) => (&message[..i], Some(&message[i + 2..])),
        None => (message, None),
    };
    // The kind of a value serde quotes: `string "…"` → `string`, `floating point `…`` → `floating point`.
    let kind = |rest: &str| {
        rest.split(['"', '`'])
            .next()
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    let head = if let Some(rest) = head.strip_prefix("invalid type: ") {
        format!("invalid type: {}", kind(rest))
    } else if let Some(rest) = head.strip_prefix("invalid value: ") {
        format!("invalid value: {}", kind(rest))
    } else if head.starts_with("unknown variant") {
        "unknown variant".to_owned()
    } else if head.starts_with("invalid length ")
        || head.starts_with("missing field `")
        || head.starts_with("duplicate field `")
        || head.starts_with("unknown field `")
    {
        // A length, or a field name the schema (or the sender's own key) gives: no value.
        head.to_owned()
    } else {
        "invalid value".to_owned()
    };
    match expected {
        Some(expected) => format!("{head}, {expected}{at}"),
        None => format!("{head}{at}"),
    }
}
