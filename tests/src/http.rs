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

/// Sends `request` on a blocking connection, as libcurl does on the thread of a FreeSWITCH
/// module (mod_xml_curl, mod_json_cdr), and reads until the response is complete (its
/// Content-Length, its last chunk, or the end of the connection): the time to an answer is
/// then what FreeSWITCH waits, without the connection's close. The whole exchange may take
/// `timeout` at most, and the answer [`MAX_BLOCKING_ANSWER`] bytes.
pub fn send_blocking(
    address: std::net::SocketAddr,
    request: &[u8],
    timeout: std::time::Duration,
) -> std::io::Result<Response> {
    use std::io::{Read, Write};
    let deadline = std::time::Instant::now() + timeout;
    let left = || {
        deadline
            .checked_duration_since(std::time::Instant::now())
            .filter(|left| !left.is_zero())
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer in time"))
    };
    let mut stream = std::net::TcpStream::connect_timeout(&address, left()?)?;
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(left()?))?;
    stream.write_all(request)?;
    let mut raw = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    while !complete(&raw) {
        stream.set_read_timeout(Some(left()?))?;
        let read = stream.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        raw.extend_from_slice(&buffer[..read]);
        if raw.len() > MAX_BLOCKING_ANSWER {
            return Err(std::io::Error::other("the answer is too long"));
        }
    }
    parse(&raw).ok_or_else(|| {
        std::io::Error::other(format!(
            "not an HTTP response: {:?}",
            String::from_utf8_lossy(&raw[..raw.len().min(200)])
        ))
    })
}

/// The longest answer [`send_blocking`] reads.
pub const MAX_BLOCKING_ANSWER: usize = 4 << 20;

/// Whether `raw` holds a whole response: its headers and the body they announce (by
/// Content-Length or chunks); one that announces neither ends with the connection.
fn complete(raw: &[u8]) -> bool {
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let Some(response) = parse(raw) else {
        return false;
    };
    let body = raw.len() - (split + 4);
    if let Some(length) = response.header("content-length") {
        return length.parse::<usize>().is_ok_and(|length| body >= length);
    }
    // A chunked body parses only once its last chunk is in.
    response
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
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

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    /// A blocking exchange ends with the answer's last byte, not with the connection: the
    /// server here keeps it open until the client has its answer.
    #[test]
    fn a_blocking_exchange_ends_at_content_length() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let (answered, read_by_client) = std::sync::mpsc::channel::<()>();
        let server = std::thread::spawn(move || {
            let (mut connection, _) = listener.accept().unwrap();
            let mut request = [0u8; 1024];
            let _ = connection.read(&mut request).unwrap();
            connection
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel")
                .unwrap();
            connection.flush().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
            connection.write_all(b"lo").unwrap();
            // Open until the client says it has the whole answer.
            read_by_client.recv().unwrap();
        });
        let response = super::send_blocking(
            address,
            &super::request("GET", "/", &[], b""),
            std::time::Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(
            (response.status, response.body.as_slice()),
            (200, &b"hello"[..])
        );
        answered.send(()).unwrap();
        server.join().unwrap();
    }

    #[test]
    fn a_chunked_answer_is_complete_at_its_last_chunk() {
        let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        let mut cut = head.clone();
        cut.extend_from_slice(b"5\r\nhello\r\n");
        assert!(!super::complete(&cut));
        cut.extend_from_slice(b"0\r\n\r\n");
        assert!(super::complete(&cut));
        assert!(!super::complete(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab"
        ));
    }
}
