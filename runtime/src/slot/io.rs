//! The slot's I/O seam: file and socket reads through io_uring, on whichever executor
//! runs the slot (strom's own ring, or glommio's).
//!
//! Operators and sources use only these types, so that the executor underneath can be
//! replaced without touching them.

use super::own;
use futures_lite::AsyncReadExt;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

/// A file opened for positional reads through io_uring (buffered, so any filesystem works).
pub struct ReadFile {
    inner: FileInner,
}

enum FileInner {
    Own(std::fs::File),
    Glommio(glommio::io::BufferedFile),
}

impl ReadFile {
    /// Opens `path` for reading.
    pub async fn open(path: &Path) -> io::Result<Self> {
        let inner = match own::current() {
            Some(_) => FileInner::Own(std::fs::File::open(path)?),
            None => FileInner::Glommio(
                glommio::io::BufferedFile::open(path)
                    .await
                    .map_err(io::Error::from)?,
            ),
        };
        Ok(ReadFile { inner })
    }

    /// The file's size in bytes.
    pub async fn size(&self) -> io::Result<u64> {
        match &self.inner {
            FileInner::Own(f) => Ok(f.metadata()?.len()),
            FileInner::Glommio(f) => f.file_size().await.map_err(io::Error::from),
        }
    }

    /// Up to `len` bytes at `pos` (fewer at the end of the file).
    pub async fn read_at(&self, pos: u64, len: usize) -> io::Result<Vec<u8>> {
        match &self.inner {
            FileInner::Own(f) => {
                let offset = i64::try_from(pos).map_err(|_| {
                    io::Error::new(io::ErrorKind::InvalidInput, "read offset past i64::MAX")
                })?;
                own_read(f.as_raw_fd(), offset, len).await
            }
            FileInner::Glommio(f) => {
                let r = f.read_at(pos, len).await.map_err(io::Error::from)?;
                Ok(r.to_vec())
            }
        }
    }
}

/// One read through the current own executor's ring (`offset` -1: a socket's stream).
async fn own_read(fd: i32, offset: i64, len: usize) -> io::Result<Vec<u8>> {
    let local =
        own::current().ok_or_else(|| io::Error::other("not on a slot of strom's own executor"))?;
    let op = own::read(&local.ring, fd, offset, len)?;
    drop(local);
    let (res, mut mem) = op.await;
    if res < 0 {
        return Err(io::Error::from_raw_os_error(-res));
    }
    let n = (res as usize).min(mem.buf.capacity());
    // SAFETY: the kernel wrote `res` bytes into the buffer's capacity (a read never returns
    // more than it was asked for, which was the capacity).
    unsafe { mem.buf.set_len(n) };
    Ok(mem.buf)
}

/// A TCP connection read through io_uring.
pub struct TcpConn {
    inner: TcpInner,
}

enum TcpInner {
    Own(OwnedFd),
    Glommio(glommio::net::TcpStream),
}

impl TcpConn {
    /// Connects to `addr` (`host:port`).
    pub async fn connect(addr: &str) -> io::Result<Self> {
        let inner = match own::current() {
            Some(_) => TcpInner::Own(own_connect(addr).await?),
            None => TcpInner::Glommio(
                glommio::net::TcpStream::connect(addr)
                    .await
                    .map_err(io::Error::from)?,
            ),
        };
        Ok(TcpConn { inner })
    }

    /// Reads some bytes; 0 at end of stream.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.inner {
            TcpInner::Own(fd) => {
                let got = own_read(fd.as_raw_fd(), -1, buf.len()).await?;
                buf[..got.len()].copy_from_slice(&got);
                Ok(got.len())
            }
            TcpInner::Glommio(s) => s.read(buf).await,
        }
    }
}

/// Resolves `addr` and connects to the first address that takes the connection.
async fn own_connect(addr: &str) -> io::Result<OwnedFd> {
    use std::net::ToSocketAddrs;
    let mut last = io::Error::new(io::ErrorKind::InvalidInput, format!("{addr}: no address"));
    for a in addr.to_socket_addrs()? {
        match connect_one(a).await {
            Ok(fd) => return Ok(fd),
            Err(e) => last = e,
        }
    }
    Err(last)
}

async fn connect_one(a: std::net::SocketAddr) -> io::Result<OwnedFd> {
    let family = if a.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain syscall with constant arguments; the result is checked before use.
    let fd = unsafe { libc::socket(family, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just created and is owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let local =
        own::current().ok_or_else(|| io::Error::other("not on a slot of strom's own executor"))?;
    let op = own::connect(&local.ring, fd.as_raw_fd(), sockaddr(a))?;
    drop(local);
    let (res, _) = op.await;
    if res < 0 {
        return Err(io::Error::from_raw_os_error(-res));
    }
    Ok(fd)
}

/// `a` as the kernel's socket address.
fn sockaddr(a: std::net::SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: an all-zero sockaddr_storage is a valid (unspecified) address.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match a {
        std::net::SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        std::net::SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: v6.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}
