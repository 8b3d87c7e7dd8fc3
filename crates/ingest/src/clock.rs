//! The one clock of the shell. `ceb` and `domain` read no clock: the writer, intake and the
//! handlers take "now" from here and pass it in, and a rebuild passes the journal's receive times
//! instead.

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
