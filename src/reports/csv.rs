//! RFC 4180 records: fields separated by commas, records ended by CRLF, a
//! field quoted (with inner quotes doubled) when it holds a comma, a quote, a
//! CR or an LF. A dozen lines did not justify a dependency.
//!
//! Free text can also be defused for spreadsheets ([`text`]): a cell that
//! starts with `=`, `+`, `-`, `@`, tab or CR is a formula to Excel and
//! LibreOffice (OWASP "CSV injection"), so such text gets a leading `'`.

use std::borrow::Cow;

/// Appends one record to `out`.
pub fn write_record<'a>(out: &mut String, fields: impl IntoIterator<Item = Cow<'a, str>>) {
    for (i, field) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if field.contains([',', '"', '\r', '\n']) {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&field);
        }
    }
    out.push_str("\r\n");
}

/// Free text (titles, names) made safe to open in a spreadsheet.
pub fn text(value: &str) -> Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{value}"))
    } else {
        Cow::Borrowed(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: &[&str]) -> String {
        let mut out = String::new();
        write_record(&mut out, fields.iter().map(|f| Cow::Borrowed(*f)));
        out
    }

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(record(&["a", "b c", ""]), "a,b c,\r\n");
        assert_eq!(record(&["x,y"]), "\"x,y\"\r\n");
        assert_eq!(record(&["say \"hi\""]), "\"say \"\"hi\"\"\"\r\n");
        assert_eq!(record(&["two\nlines", "cr\r"]), "\"two\nlines\",\"cr\r\"\r\n");
        assert_eq!(record(&["Pump, \"big\"\nleak", "1"]), "\"Pump, \"\"big\"\"\nleak\",1\r\n");
        assert_eq!(record(&[]), "\r\n");
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(text("+1"), "'+1");
        assert_eq!(text("-2"), "'-2");
        assert_eq!(text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text("Pump = broken"), "Pump = broken");
        assert!(matches!(text("plain"), Cow::Borrowed(_)));
    }
}
