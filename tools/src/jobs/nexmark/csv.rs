//! The queries' CSV output: one file written by a sink of parallelism 1, one row per line,
//! fields quoted only when needed, timestamps as epoch milliseconds.

use super::*;

/// Ends a query's result stream: CSV rows formatted by `row` into `--output FILE` (one
/// sink subtask), or discarded.
pub(crate) fn sink<T: Data>(results: &DataStream<T>, args: &NexmarkArgs, row: fn(&T, &mut Csv)) {
    match &args.output {
        Some(path) => {
            let path = path.clone();
            results
                .map(move |r: T| {
                    let mut csv = Csv::default();
                    row(&r, &mut csv);
                    csv.line
                })
                .name("CSV Rows")
                .sink_to("CSV File Sink", move |_| {
                    Box::new(CsvFileSink {
                        path: path.clone(),
                        file: None,
                    })
                })
                .set_parallelism(1);
        }
        None => {
            results.discard();
        }
    }
}

/// One CSV row being built: fields separated by commas (RFC 4180 quoting where needed).
#[derive(Default)]
pub(crate) struct Csv {
    line: String,
    fields: usize,
}

impl Csv {
    fn separate(&mut self) {
        if self.fields > 0 {
            self.line.push(',');
        }
        self.fields += 1;
    }

    /// An integer column (BIGINT, or a timestamp as epoch milliseconds).
    pub(crate) fn int(&mut self, v: i64) -> &mut Self {
        use std::fmt::Write as _;
        self.separate();
        let _ = write!(self.line, "{v}");
        self
    }

    /// A string column, quoted if it holds a comma, a quote or a line break.
    pub(crate) fn str(&mut self, s: &str) -> &mut Self {
        self.separate();
        if s.contains([',', '"', '\n', '\r']) {
            self.line.push('"');
            self.line.push_str(&s.replace('"', "\"\""));
            self.line.push('"');
        } else {
            self.line.push_str(s);
        }
        self
    }

    /// A DECIMAL(_, 3) column given in thousandths: `1120472` is written `1120.472`.
    pub(crate) fn milli_decimal(&mut self, thousandths: i128) -> &mut Self {
        use std::fmt::Write as _;
        self.separate();
        let sign = if thousandths < 0 { "-" } else { "" };
        let abs = thousandths.unsigned_abs();
        let _ = write!(self.line, "{sign}{}.{:03}", abs / 1000, abs % 1000);
        self
    }
}

/// Writes lines to one file (created, or replaced, when the first line or the end comes).
struct CsvFileSink {
    path: PathBuf,
    file: Option<std::io::BufWriter<std::fs::File>>,
}

impl CsvFileSink {
    fn error(&self, what: &str, e: std::io::Error) -> TaskError {
        TaskError::new(format!("{what} {}: {e}", self.path.display()), Retry::May)
    }

    fn file(&mut self) -> TaskResult<&mut std::io::BufWriter<std::fs::File>> {
        if self.file.is_none() {
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| self.error("creating the directory of", e))?;
            }
            let f = std::fs::File::create(&self.path).map_err(|e| self.error("creating", e))?;
            self.file = Some(std::io::BufWriter::with_capacity(1 << 20, f));
        }
        Ok(self.file.as_mut().expect("created above"))
    }
}

impl Output<String> for CsvFileSink {
    fn emit(&mut self, line: String, _ts: Option<Millis>) -> TaskResult {
        let r = self
            .file()?
            .write_all(line.as_bytes())
            .and_then(|()| self.file.as_mut().expect("open").write_all(b"\n"));
        r.map_err(|e| self.error("writing", e))
    }
    fn watermark(&mut self, _w: Millis) -> TaskResult {
        Ok(())
    }
    fn watermark_status(&mut self, _idle: bool) -> TaskResult {
        Ok(())
    }
    fn finish(&mut self) -> TaskResult {
        let r = self.file()?.flush();
        r.map_err(|e| self.error("writing", e))
    }
}

#[cfg(test)]
mod tests {
    use super::Csv;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        let mut c = Csv::default();
        c.int(-3)
            .str("a b")
            .str("x,y")
            .str("say \"hi\"")
            .milli_decimal(1_120_472);
        c.milli_decimal(-5).milli_decimal(0);
        assert_eq!(
            c.line,
            "-3,a b,\"x,y\",\"say \"\"hi\"\"\",1120.472,-0.005,0.000"
        );
    }
}
