//! Text lines from a TCP socket (Flink's `socketTextStream`), read through the slot's
//! io_uring. Runs with parallelism 1; finishes when the peer closes the connection.

use super::lines::{emit_lines, LineBuffer};
use super::{LocalFuture, SourceReader, SourceStatus};
use crate::error::{Retry, TaskError, TaskResult};
use crate::operator::Output;
use crate::slot::io::TcpConn;

/// Reads lines from `host:port`.
pub struct SocketTextSource {
    addr: String,
    conn: Option<TcpConn>,
    buf: LineBuffer,
    eof: bool,
    scratch: Vec<u8>,
}

impl SocketTextSource {
    /// A source that connects to `addr` when the job starts.
    pub fn new(addr: String) -> Self {
        SocketTextSource {
            addr,
            conn: None,
            buf: LineBuffer::default(),
            eof: false,
            scratch: vec![0; 64 * 1024],
        }
    }

    async fn read_more(&mut self) -> TaskResult {
        let what = format!("socket {}", self.addr);
        if self.conn.is_none() {
            let c = TcpConn::connect(&self.addr).await.map_err(|e| {
                TaskError::new(format!("cannot connect to {what}: {e}"), Retry::May)
            })?;
            self.conn = Some(c);
        }
        let conn = self.conn.as_mut().expect("connected above");
        let n = conn
            .read(&mut self.scratch)
            .await
            .map_err(|e| TaskError::new(format!("reading {what}: {e}"), Retry::May))?;
        if n == 0 {
            self.eof = true;
        } else {
            self.buf.extend(&self.scratch[..n]);
        }
        Ok(())
    }
}

impl SourceReader<String> for SocketTextSource {
    fn poll_batch(
        &mut self,
        out: &mut dyn Output<String>,
        max: usize,
    ) -> TaskResult<(SourceStatus, usize)> {
        if self.conn.is_none() {
            return Ok((SourceStatus::Pending, 0));
        }
        let what = format!("socket {}", self.addr);
        let (n, _) = emit_lines(&mut self.buf, out, max, self.eof, &what, |_| true)?;
        let status = if n == max {
            SourceStatus::More
        } else if self.eof {
            SourceStatus::Finished
        } else {
            SourceStatus::Pending
        };
        Ok((status, n))
    }

    fn wait(&mut self) -> LocalFuture<'_, TaskResult> {
        Box::pin(self.read_more())
    }
}
