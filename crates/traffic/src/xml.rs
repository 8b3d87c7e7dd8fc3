//! Direct CEB XML text building. The generator must sustain well over 100 000 messages per
//! second on one core, so elements are appended to one pre-sized buffer and numbers are
//! formatted by hand, without `format!` or intermediate strings.

pub(crate) const CEB_NS: &str = "http://www.chinaport.gov.cn/ceb";

pub(crate) struct XmlOut {
    pub(crate) buf: String,
    depth: usize,
}

impl XmlOut {
    /// Starts a declaration message `<ceb:{root} guid=… version="1.0">`.
    pub(crate) fn message(root: &str, guid: &str, capacity: usize) -> Self {
        let mut buf = String::with_capacity(capacity);
        buf.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ceb:");
        buf.push_str(root);
        buf.push_str(" guid=\"");
        buf.push_str(guid);
        buf.push_str("\" version=\"1.0\" xmlns:ceb=\"");
        buf.push_str(CEB_NS);
        buf.push_str("\">");
        Self { buf, depth: 1 }
    }

    pub(crate) fn finish(mut self, root: &str) -> String {
        self.buf.push_str("\n</ceb:");
        self.buf.push_str(root);
        self.buf.push_str(">\n");
        self.buf
    }

    fn nl(&mut self) {
        self.buf.push('\n');
        for _ in 0..self.depth {
            self.buf.push('\t');
        }
    }

    fn start(&mut self, tag: &str) {
        self.nl();
        self.buf.push_str("<ceb:");
        self.buf.push_str(tag);
        self.buf.push('>');
    }

    fn end(&mut self, tag: &str) {
        self.buf.push_str("</ceb:");
        self.buf.push_str(tag);
        self.buf.push('>');
    }

    pub(crate) fn open(&mut self, tag: &str) {
        self.start(tag);
        self.depth += 1;
    }

    pub(crate) fn close(&mut self, tag: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.nl();
        self.end(tag);
    }

    pub(crate) fn text(&mut self, tag: &str, value: &str) {
        self.start(tag);
        push_escaped(&mut self.buf, value);
        self.end(tag);
    }

    pub(crate) fn uint(&mut self, tag: &str, value: u64) {
        self.start(tag);
        push_u64(&mut self.buf, value);
        self.end(tag);
    }

    /// A money amount given in fen, written with two decimals.
    pub(crate) fn fen(&mut self, tag: &str, value: i64) {
        self.start(tag);
        push_fen(&mut self.buf, value);
        self.end(tag);
    }

    /// A quantity given in 1e-5 units, written without trailing zeros.
    pub(crate) fn dec5(&mut self, tag: &str, value: u64) {
        self.start(tag);
        push_dec5(&mut self.buf, value);
        self.end(tag);
    }

    /// `BaseTransfer`: the transmitting enterprise, which must equal the DXP sender.
    pub(crate) fn base_transfer(&mut self, code: &str, name: &str, dxp_id: &str) {
        self.open("BaseTransfer");
        self.text("copCode", code);
        self.text("copName", name);
        self.text("dxpMode", "DXP");
        self.text("dxpId", dxp_id);
        self.close("BaseTransfer");
    }
}

/// A structurally valid `ds:Signature` with the SM2/SM3 URIs of the 2022 spec that does not
/// verify: what a signed message gets if signing it failed (it cannot for generated XML), so
/// that it still has the element the XSD requires.
pub(crate) const SIGNATURE_PLACEHOLDER: &str = "
\t<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">
\t\t<ds:SignedInfo>
\t\t\t<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"></ds:CanonicalizationMethod>
\t\t\t<ds:SignatureMethod Algorithm=\"http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3\"></ds:SignatureMethod>
\t\t\t<ds:Reference URI=\"\">
\t\t\t\t<ds:Transforms>
\t\t\t\t\t<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"></ds:Transform>
\t\t\t\t</ds:Transforms>
\t\t\t\t<ds:DigestMethod Algorithm=\"http://www.chinaport.gov.cn/2022/04/xmldsig#sm3\"></ds:DigestMethod>
\t\t\t\t<ds:DigestValue>UExBQ0VIT0xERVItRElHRVNULVBMQUNFSE9MREVS</ds:DigestValue>
\t\t\t</ds:Reference>
\t\t</ds:SignedInfo>
\t\t<ds:SignatureValue>UExBQ0VIT0xERVItU0lHTkFUVVJFLU5PVC1TSUdORUQ=</ds:SignatureValue>
\t\t<ds:KeyInfo>
\t\t\t<ds:KeyName>00000000</ds:KeyName>
\t\t\t<ds:X509Data>
\t\t\t\t<ds:X509Certificate>UExBQ0VIT0xERVItQ0VSVElGSUNBVEU=</ds:X509Certificate>
\t\t\t</ds:X509Data>
\t\t</ds:KeyInfo>
\t</ds:Signature>";

pub(crate) fn push_escaped(buf: &mut String, value: &str) {
    if !value
        .bytes()
        .any(|b| matches!(b, b'&' | b'<' | b'>' | b'"'))
    {
        buf.push_str(value);
        return;
    }
    for c in value.chars() {
        match c {
            '&' => buf.push_str("&amp;"),
            '<' => buf.push_str("&lt;"),
            '>' => buf.push_str("&gt;"),
            '"' => buf.push_str("&quot;"),
            c => buf.push(c),
        }
    }
}

pub(crate) fn push_u64(buf: &mut String, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    for &d in digits.get(i..).unwrap_or(&[]) {
        buf.push(char::from(d));
    }
}

/// Zero-padded to `width` digits.
pub(crate) fn push_u64_padded(buf: &mut String, v: u64, width: usize) {
    let mut n = 1;
    let mut t = v / 10;
    while t > 0 {
        n += 1;
        t /= 10;
    }
    for _ in n..width {
        buf.push('0');
    }
    push_u64(buf, v);
}

pub(crate) fn push_fen(buf: &mut String, v: i64) {
    if v < 0 {
        buf.push('-');
    }
    let a = v.unsigned_abs();
    push_u64(buf, a / 100);
    buf.push('.');
    push_u64_padded(buf, a % 100, 2);
}

pub(crate) fn push_dec5(buf: &mut String, v: u64) {
    push_u64(buf, v / 100_000);
    let mut frac = v % 100_000;
    if frac == 0 {
        return;
    }
    let mut width = 5;
    while frac.is_multiple_of(10) {
        frac /= 10;
        width -= 1;
    }
    buf.push('.');
    push_u64_padded(buf, frac, width);
}

/// Civil date-time in Beijing time (UTC+8), which is what CEB time fields mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BeijingTime {
    pub(crate) year: i64,
    pub(crate) month: u32,
    pub(crate) day: u32,
    pub(crate) hour: u32,
    pub(crate) minute: u32,
    pub(crate) second: u32,
}

impl BeijingTime {
    pub(crate) fn from_unix_ms(ms: i64) -> Self {
        let secs = ms.div_euclid(1000) + 8 * 3600;
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self {
            year,
            month,
            day,
            hour: (sod / 3600) as u32,
            minute: (sod / 60 % 60) as u32,
            second: (sod % 60) as u32,
        }
    }

    /// `YYYYMMDD`.
    pub(crate) fn push_date(&self, buf: &mut String) {
        push_u64_padded(buf, self.year.clamp(0, 9999) as u64, 4);
        push_u64_padded(buf, u64::from(self.month), 2);
        push_u64_padded(buf, u64::from(self.day), 2);
    }

    /// `YYYYMMDDhhmmss`.
    pub(crate) fn stamp(&self) -> String {
        let mut s = String::with_capacity(14);
        self.push_date(&mut s);
        push_u64_padded(&mut s, u64::from(self.hour), 2);
        push_u64_padded(&mut s, u64::from(self.minute), 2);
        push_u64_padded(&mut s, u64::from(self.second), 2);
        s
    }

    pub(crate) fn date(&self) -> String {
        let mut s = String::with_capacity(8);
        self.push_date(&mut s);
        s
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn numbers_are_written_as_xs_decimal() {
        let mut s = String::new();
        push_fen(&mut s, 123_405);
        s.push(' ');
        push_fen(&mut s, 7);
        s.push(' ');
        push_dec5(&mut s, 5_000);
        s.push(' ');
        push_dec5(&mut s, 350);
        s.push(' ');
        push_dec5(&mut s, 300_000);
        s.push(' ');
        push_u64(&mut s, 0);
        assert_eq!(s, "1234.05 0.07 0.05 0.0035 3 0");
    }

    #[test]
    fn beijing_time_is_utc_plus_eight() {
        // 2026-11-23T16:30:05Z = 2026-11-24 00:30:05 in Beijing.
        let t = BeijingTime::from_unix_ms(1_795_451_405_000);
        assert_eq!(t.stamp(), "20261124003005");
        let t = BeijingTime::from_unix_ms(951_782_400_000 - 8 * 3_600_000); // 2000-02-29 00:00 Beijing
        assert_eq!(t.date(), "20000229");
    }
}
