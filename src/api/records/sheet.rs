//! An export's file, written a row at a time: CSV (UTF-8 with a byte-order mark, so
//! Excel reads the Chinese right; RFC 4180 quoting; CRLF) or XLSX (rust_xlsxwriter in
//! its constant-memory mode: each finished row goes to a temporary file next to the
//! export, and `finish` zips it into the workbook). Memory stays the same whatever the
//! row count.
//!
//! Numbers stay text where they are phone numbers (a spreadsheet would drop a leading
//! 0 or a +); counts and seconds are numbers.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::rows::Cell;

/// The most rows an XLSX sheet holds (Excel's limit), header included.
pub const XLSX_MAX_ROWS: u32 = 1_048_576;

/// A file being written.
pub enum Sheet {
    Csv(BufWriter<File>),
    Xlsx {
        book: Box<Workbook>,
        next_row: u32,
        bold: Format,
    },
}

fn xlsx_error(e: XlsxError) -> String {
    format!("the XLSX file could not be written: {e}")
}

impl Sheet {
    /// Starts `format` ("csv" or "xlsx") at `path`; temporary files go to `temp_dir`.
    pub fn create(
        format: &str,
        path: &Path,
        temp_dir: &Path,
        title: &str,
    ) -> Result<Sheet, String> {
        match format {
            "csv" => {
                let file = File::create(path)
                    .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
                let mut out = BufWriter::with_capacity(64 * 1024, file);
                out.write_all("\u{feff}".as_bytes())
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                Ok(Sheet::Csv(out))
            }
            "xlsx" => {
                let mut book = Box::new(Workbook::new());
                book.set_tempdir(temp_dir).map_err(xlsx_error)?;
                book.add_worksheet_with_constant_memory()
                    .and_then(|s| s.set_name(title))
                    .map_err(xlsx_error)?;
                Ok(Sheet::Xlsx {
                    book,
                    next_row: 0,
                    bold: Format::new().set_bold(),
                })
            }
            other => Err(format!("unknown export format {other:?}")),
        }
    }

    /// The header row.
    pub fn header<'a>(&mut self, names: impl Iterator<Item = &'a str>) -> Result<(), String> {
        let cells: Vec<Cell> = names.map(|n| Cell::Text(n.to_string())).collect();
        self.write(&cells, true)
    }

    /// One row of data.
    pub fn row(&mut self, cells: &[Cell]) -> Result<(), String> {
        self.write(cells, false)
    }

    fn write(&mut self, cells: &[Cell], header: bool) -> Result<(), String> {
        match self {
            Sheet::Csv(out) => {
                let mut line = String::with_capacity(256);
                for (i, cell) in cells.iter().enumerate() {
                    if i > 0 {
                        line.push(',');
                    }
                    match cell {
                        Cell::Text(s) => csv_field(&mut line, s),
                        Cell::Number(n) => line.push_str(&n.to_string()),
                        Cell::Empty => {}
                    }
                }
                line.push_str("\r\n");
                out.write_all(line.as_bytes())
                    .map_err(|e| format!("cannot write the CSV file: {e}"))
            }
            Sheet::Xlsx {
                book,
                next_row,
                bold,
                ..
            } => {
                if *next_row >= XLSX_MAX_ROWS {
                    return Err(format!(
                        "more than {} calls match: an XLSX sheet holds no more; narrow the \
                         query or export CSV",
                        XLSX_MAX_ROWS - 1
                    ));
                }
                let row = *next_row;
                let sheet = book.worksheet_from_index(0).map_err(xlsx_error)?;
                for (col, cell) in cells.iter().enumerate() {
                    let col = u16::try_from(col).unwrap_or(u16::MAX);
                    let done = match cell {
                        Cell::Text(s) if header => sheet
                            .write_string_with_format(row, col, s, bold)
                            .map(|_| ()),
                        Cell::Text(s) => sheet.write_string(row, col, s).map(|_| ()),
                        Cell::Number(n) => sheet.write_number(row, col, *n).map(|_| ()),
                        Cell::Empty => Ok(()),
                    };
                    done.map_err(xlsx_error)?;
                }
                *next_row += 1;
                Ok(())
            }
        }
    }

    /// Completes the file at `path` (as given to `create`); its length in bytes.
    pub fn finish(self, path: &Path) -> Result<u64, String> {
        match self {
            Sheet::Csv(out) => {
                let file = out
                    .into_inner()
                    .map_err(|e| format!("cannot write the CSV file: {e}"))?;
                file.sync_all()
                    .map_err(|e| format!("cannot write the CSV file: {e}"))?;
            }
            Sheet::Xlsx { mut book, .. } => book.save(path).map_err(xlsx_error)?,
        }
        std::fs::metadata(path)
            .map(|m| m.len())
            .map_err(|e| format!("cannot read {}: {e}", path.display()))
    }
}

/// Appends `s` as one CSV field, quoted when it holds a comma, a quote or a line break.
fn csv_field(line: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        line.push('"');
        line.push_str(&s.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_it() {
        let mut line = String::new();
        csv_field(&mut line, "plain");
        line.push(',');
        csv_field(&mut line, "a,\"b\"\nc");
        assert_eq!(line, "plain,\"a,\"\"b\"\"\nc\"");
    }

    #[test]
    fn both_formats_write_their_rows() {
        let dir = tempfile::tempdir().unwrap();
        for format in ["csv", "xlsx"] {
            let path = dir.path().join(format!("t.{format}"));
            let mut sheet = Sheet::create(format, &path, dir.path(), "通话记录").unwrap();
            sheet.header(["号码", "秒"].into_iter()).unwrap();
            for i in 0..1000 {
                sheet
                    .row(&[
                        Cell::Text(format!("1380013{i:04}")),
                        Cell::Number(f64::from(i)),
                    ])
                    .unwrap();
            }
            let len = sheet.finish(&path).unwrap();
            assert_eq!(len, std::fs::metadata(&path).unwrap().len());
            assert!(len > 1000, "{format}: {len} bytes");
        }
        let csv = std::fs::read_to_string(dir.path().join("t.csv")).unwrap();
        assert!(
            csv.starts_with("\u{feff}号码,秒\r\n13800130000,0\r\n"),
            "{csv:.60}"
        );
        assert_eq!(csv.lines().count(), 1001);
        assert!(Sheet::create("pdf", &dir.path().join("x"), dir.path(), "x").is_err());
    }
}
