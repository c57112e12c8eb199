//! A minimal HTTP/1.1 client over a real TCP connection, for replaying FreeSWITCH's requests
//! byte for byte (headers, Content-Type and all) as they were captured.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response: status, headers (lowercased names) and body.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header names lowercased, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header of that name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The captured request `raw` (request line, headers, body) with `extra_headers` added and
/// `Connection: close`, its Content-Length kept right.
pub fn with_headers(raw: &[u8], extra_headers: &[(&str, &str)]) -> Vec<u8> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a captured request has a header end");
    let mut out = raw[..split].to_vec();
    for (name, value) in extra_headers {
        out.extend_from_slice(format!("\r\n{name}: {value}").as_bytes());
    }
    out.extend_from_slice(b"\r\nConnection: close");
    out.extend_from_slice(&raw[split..]);
    out
}

/// A POST of `body` to `path`.
pub fn post(path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    request("POST", path, headers, body)
}

/// A request with any method, saying `Connection: close`.
pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}",
        body.len()
    )
    .into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(format!("\r\n{name}: {value}").as_bytes());
    }
    out.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    out.extend_from_slice(body);
    out
}

/// Sends `request` (which should say `Connection: close`) and reads the whole response.
pub async fn send(address: std::net::SocketAddr, request: &[u8]) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(address).await?;
    stream.write_all(request).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    parse(&raw).ok_or_else(|| {
        std::io::Error::other(format!(
            "not an HTTP response: {:?}",
            String::from_utf8_lossy(&raw[..raw.len().min(200)])
        ))
    })
}

fn parse(raw: &[u8]) -> Option<Response> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &raw[split + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    Some(Response {
        status,
        headers,
        body,
    })
}

/// A chunked body's bytes (a streamed answer); `None` if it is cut or malformed.
fn dechunk(mut raw: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&raw[..line_end]).ok()?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(raw.get(..size)?);
        raw = raw.get(size + 2..)?;
    }
}

/// One kept-alive HTTP/1.1 connection: many requests in turn, as a load client uses them.
pub struct Connection {
    stream: tokio::io::BufReader<TcpStream>,
    buffer: Vec<u8>,
}

impl Connection {
    /// Connects.
    pub async fn open(address: std::net::SocketAddr) -> std::io::Result<Self> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream: tokio::io::BufReader::new(stream),
            buffer: Vec::new(),
        })
    }

    /// Sends a request (without `Connection: close`) and reads its response, whose length
    /// must be given by Content-Length. Returns the status.
    pub async fn request(&mut self, request: &[u8]) -> std::io::Result<u16> {
        use tokio::io::AsyncBufReadExt;
        self.stream.get_mut().write_all(request).await?;
        self.buffer.clear();
        let mut content_length = 0usize;
        let mut status = 0u16;
        loop {
            let start = self.buffer.len();
            let n = self.stream.read_until(b'\n', &mut self.buffer).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let line = std::str::from_utf8(&self.buffer[start..])
                .map_err(std::io::Error::other)?
                .trim_end();
            if start == 0 {
                status = line
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| std::io::Error::other("no status line"))?;
            } else if line.is_empty() {
                break;
            } else if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                content_length = value.trim().parse().map_err(std::io::Error::other)?;
            }
        }
        let mut body = vec![0u8; content_length];
        self.stream.read_exact(&mut body).await?;
        Ok(status)
    }
}

/// Waits until the daemon at `address` answers `GET /healthz` with 200, for up to 10 s.
pub async fn wait_healthy(address: std::net::SocketAddr) {
    let get = request("GET", "/healthz", &[], b"");
    for _ in 0..200 {
        if let Ok(response) = send(address, &get).await
            && response.status == 200
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the daemon at {address} did not become healthy");
}
