//! The slot's I/O seam: file and socket reads through glommio (io_uring).
//!
//! Operators and sources use only these types, so that the executor underneath can be
//! replaced without touching them.

use futures_lite::AsyncReadExt;
use std::io;
use std::path::Path;

/// A file opened for positional reads through io_uring (buffered, so any filesystem works).
pub struct ReadFile {
    file: glommio::io::BufferedFile,
}

impl ReadFile {
    /// Opens `path` for reading.
    pub async fn open(path: &Path) -> io::Result<Self> {
        let file = glommio::io::BufferedFile::open(path)
            .await
            .map_err(io::Error::from)?;
        Ok(ReadFile { file })
    }

    /// The file's size in bytes.
    pub async fn size(&self) -> io::Result<u64> {
        self.file.file_size().await.map_err(io::Error::from)
    }

    /// Up to `len` bytes at `pos` (fewer at the end of the file).
    pub async fn read_at(&self, pos: u64, len: usize) -> io::Result<Vec<u8>> {
        let r = self.file.read_at(pos, len).await.map_err(io::Error::from)?;
        Ok(r.to_vec())
    }
}

/// A TCP connection read through io_uring.
pub struct TcpConn {
    stream: glommio::net::TcpStream,
}

impl TcpConn {
    /// Connects to `addr` (`host:port`).
    pub async fn connect(addr: &str) -> io::Result<Self> {
        let stream = glommio::net::TcpStream::connect(addr)
            .await
            .map_err(io::Error::from)?;
        Ok(TcpConn { stream })
    }

    /// Reads some bytes; 0 at end of stream.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf).await
    }
}
