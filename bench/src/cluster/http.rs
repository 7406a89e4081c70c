//! A minimal blocking HTTP/1.1 client for the REST APIs of strom's and Flink's JobManagers:
//! one connection per request (`Connection: close`), JSON bodies, `Content-Length` or chunked
//! answers. Enough for polling `GET /jobs/:id` every few milliseconds without a dependency.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Time limit of one request (connect, send, receive).
const TIMEOUT: Duration = Duration::from_secs(10);

/// A REST endpoint, `host:port`.
#[derive(Clone, Debug)]
pub struct Rest {
    host: String,
    addr: SocketAddr,
}

/// An answer: status code and body.
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    /// The body as JSON.
    pub fn json(&self) -> Result<Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| {
            format!(
                "not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body[..self.body.len().min(300)])
            )
        })
    }
}

impl Rest {
    /// The endpoint at `host:port` (an `http://` prefix is accepted).
    pub fn new(address: &str) -> Result<Rest, String> {
        let hostport = address.trim_start_matches("http://").trim_end_matches('/');
        let addr = hostport
            .to_socket_addrs()
            .map_err(|e| format!("{address}: {e}"))?
            .next()
            .ok_or_else(|| format!("{address} does not resolve"))?;
        Ok(Rest {
            host: hostport.to_string(),
            addr,
        })
    }

    /// `host:port`, as a `-m` flag takes it.
    pub fn host_port(&self) -> &str {
        &self.host
    }

    /// Sends one request and reads the whole answer.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Response, String> {
        let what = || format!("{method} http://{}{path}", self.host);
        let mut s = TcpStream::connect_timeout(&self.addr, TIMEOUT)
            .map_err(|e| format!("{}: {e}", what()))?;
        s.set_read_timeout(Some(TIMEOUT)).ok();
        s.set_write_timeout(Some(TIMEOUT)).ok();
        s.set_nodelay(true).ok();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAccept: application/json\r\nContent-Length: {}\r\n",
            self.host,
            body.len()
        );
        if let Some(ct) = content_type {
            head.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        head.push_str("\r\n");
        let mut req = head.into_bytes();
        req.extend_from_slice(body);
        s.write_all(&req).map_err(|e| format!("{}: {e}", what()))?;
        read_response(&mut s).map_err(|e| format!("{}: {e}", what()))
    }

    /// `GET path`, a 2xx JSON answer.
    pub fn get(&self, path: &str) -> Result<Value, String> {
        let r = self.request("GET", path, None, &[])?;
        ok(&r, "GET", path)?;
        r.json()
    }

    /// `method path` with a JSON body; the status and the JSON answer (`null` if empty).
    pub fn send_json(&self, method: &str, path: &str, body: &Value) -> Result<Value, String> {
        let text = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        let r = self.request(method, path, Some("application/json"), &text)?;
        ok(&r, method, path)?;
        if r.body.iter().all(u8::is_ascii_whitespace) {
            Ok(Value::Null)
        } else {
            r.json()
        }
    }
}

fn ok(r: &Response, method: &str, path: &str) -> Result<(), String> {
    if (200..300).contains(&r.status) {
        Ok(())
    } else {
        Err(format!(
            "{method} {path}: HTTP {}: {}",
            r.status,
            String::from_utf8_lossy(&r.body[..r.body.len().min(500)])
        ))
    }
}

/// Reads an HTTP/1.1 answer: until `Content-Length` bytes of body, the last chunk, or EOF.
fn read_response(s: &mut TcpStream) -> Result<Response, String> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed before the headers ended".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad status line: {:?}", head.lines().next()))?;
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    let length: Option<usize> = header("content-length").and_then(|v| v.parse().ok());
    let chunked = header("transfer-encoding")
        .map(|v| v.to_ascii_lowercase().contains("chunked"))
        .unwrap_or(false);
    let mut body = buf.split_off(head_end);
    loop {
        let done = match (length, chunked) {
            (Some(n), _) => body.len() >= n,
            (None, true) => find(&body, b"0\r\n\r\n").is_some() && dechunk(&body).is_some(),
            (None, false) => false,
        };
        if done {
            break;
        }
        let n = s.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    if let Some(n) = length {
        body.truncate(n);
    } else if chunked {
        body = dechunk(&body).ok_or("truncated chunked body")?;
    }
    Ok(Response { status, body })
}

/// The payload of a complete chunked body, or `None` if it is not complete yet.
fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line = find(b, b"\r\n")?;
        let size_text = std::str::from_utf8(&b[..line]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        b = &b[line + 2..];
        if size == 0 {
            return Some(out);
        }
        if b.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A `multipart/form-data` body with one file field; returns (content type, body).
pub fn multipart_file(field: &str, filename: &str, data: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----strom-bench-4b1f9c2e7d";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\nContent-Type: application/x-java-archive\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies() {
        assert_eq!(
            dechunk(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").as_deref(),
            Some(&b"abcde"[..])
        );
        assert_eq!(dechunk(b"3\r\nab"), None);
    }

    #[test]
    fn answers_over_a_socket() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            for body in [
                "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n{\"a\": 1}",
                "HTTP/1.1 202 Accepted\r\ntransfer-encoding: chunked\r\n\r\n4\r\n{\"b\"\r\n3\r\n: 2\r\n1\r\n}\r\n0\r\n\r\n",
            ] {
                let (mut c, _) = l.accept().unwrap();
                let mut req = [0u8; 1024];
                let _ = c.read(&mut req).unwrap();
                c.write_all(body.as_bytes()).unwrap();
            }
        });
        let rest = Rest::new(&addr.to_string()).unwrap();
        assert_eq!(rest.get("/x").unwrap()["a"], 1);
        let v = rest
            .send_json("PATCH", "/y", &serde_json::json!({}))
            .unwrap();
        assert_eq!(v["b"], 2);
        t.join().unwrap();
    }
}
