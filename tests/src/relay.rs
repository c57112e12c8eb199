//! A TCP relay to a real server (PostgreSQL, S3) on a port of its own, which a test can take
//! down and bring back: the dependency going away, for real, at the socket. It can also
//! rewrite what an HTTP server says of an object (HEAD, GET): its `ETag` made a different
//! value of the same form, as S3 does for objects encrypted with SSE-KMS or SSE-C (32 hex
//! digits that are not the MD5 of the content), or its `Content-Length` (a store that lost
//! part of what it took).

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// The relay; dropping it closes the port and every connection through it.
pub struct Relay {
    /// The relay's port on 127.0.0.1.
    pub port: u16,
    target: String,
    rewrite: Option<&'static [u8]>,
    task: Option<JoinHandle<()>>,
}

impl Relay {
    /// Relays a new port on 127.0.0.1 to `target` (`host:port`).
    pub async fn start(target: &str) -> Relay {
        Self::start_with(target, None).await
    }

    /// Relays to the HTTP server at `target`, the `ETag` of each object it describes
    /// rewritten: each hex digit replaced by the next one (so it is never the MD5 it was).
    pub async fn rewriting_etags(target: &str) -> Relay {
        Self::start_with(target, Some(b"\r\netag:")).await
    }

    /// Relays to the HTTP server at `target`, the `Content-Length` of each object it describes
    /// rewritten: its last digit replaced by the next one. Only for HEAD: a GET's body would no
    /// longer be framed.
    pub async fn misreporting_sizes(target: &str) -> Relay {
        Self::start_with(target, Some(b"\r\ncontent-length:")).await
    }

    async fn start_with(target: &str, rewrite: Option<&'static [u8]>) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut relay = Relay {
            port,
            target: target.to_owned(),
            rewrite,
            task: None,
        };
        relay.serve(listener);
        relay
    }

    fn serve(&mut self, listener: TcpListener) {
        let target = self.target.clone();
        let rewrite = self.rewrite;
        self.task = Some(tokio::spawn(async move {
            // Connections live in the set, so aborting this task drops (closes) them all.
            let mut connections = JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                connections.spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let Some(header) = rewrite else {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        return;
                    };
                    let (mut client_reads, mut client_writes) = inbound.split();
                    let (mut server_reads, mut server_writes) = outbound.split();
                    let requests = tokio::io::copy(&mut client_reads, &mut server_writes);
                    let answers = copy_rewriting(&mut server_reads, &mut client_writes, header);
                    let _ = tokio::try_join!(requests, answers);
                });
            }
        }));
    }

    /// Closes the port and every connection through it.
    pub fn down(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Opens the same port again.
    pub async fn up(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }
}

/// Copies an HTTP server's answers, the value of `header` (`"\r\nname:"`) rewritten in each
/// answer describing an object (one with `Last-Modified`: HEAD and GET); writes' answers (a
/// part's ETag, which completing a multipart upload names) pass as they are. A header block
/// cut between two reads is held back until the next read completes it (or a moment passes
/// with nothing more).
async fn copy_rewriting(
    from: &mut (impl AsyncReadExt + Unpin),
    to: &mut (impl AsyncWriteExt + Unpin),
    header: &[u8],
) -> std::io::Result<u64> {
    let mut pending: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut copied = 0u64;
    loop {
        let read = if pending.is_empty() {
            from.read(&mut chunk).await?
        } else {
            match tokio::time::timeout(Duration::from_millis(20), from.read(&mut chunk)).await {
                Ok(read) => read?,
                Err(_) => {
                    to.write_all(&pending).await?;
                    copied += pending.len() as u64;
                    pending.clear();
                    continue;
                }
            }
        };
        if read == 0 {
            to.write_all(&pending).await?;
            return Ok(copied + pending.len() as u64);
        }
        pending.extend_from_slice(&chunk[..read]);
        let keep = rewrite_header(&mut pending, header);
        let ready = pending.len() - keep;
        to.write_all(&pending[..ready]).await?;
        copied += ready as u64;
        pending.drain(..ready);
    }
}

/// Where `needle` first occurs in `haystack` at or after `from`, ignoring ASCII case.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|at| from + at)
}

/// Rewrites the value of `header` in every complete header block with `Last-Modified` in
/// `bytes` (an ETag's hex digits, a length's last digit); returns how many bytes at the end
/// must wait for more (a header block not yet complete, or what may start a status line).
fn rewrite_header(bytes: &mut [u8], header: &[u8]) -> usize {
    const STATUS: &[u8] = b"HTTP/1.";
    let mut at = 0;
    loop {
        let Some(start) = find(bytes, STATUS, at) else {
            // The end may be the beginning of a status line.
            let tail = (1..STATUS.len())
                .rev()
                .find(|n| bytes.len() >= at + n && bytes.ends_with(&STATUS[..*n]));
            return tail.unwrap_or(0);
        };
        let Some(end) = find(bytes, b"\r\n\r\n", start) else {
            return bytes.len() - start;
        };
        let block = start..end + 2;
        if find(&bytes[block.clone()], b"\r\nlast-modified:", 0).is_some()
            && let Some(line) = find(&bytes[block.clone()], header, 0)
        {
            let value = start + line + header.len();
            let value_end = find(bytes, b"\r\n", value).unwrap_or(end);
            if header.eq_ignore_ascii_case(b"\r\ncontent-length:") {
                if let Some(last) = bytes[value..value_end].last_mut() {
                    *last = if *last == b'9' { b'0' } else { *last + 1 };
                }
            } else {
                for byte in &mut bytes[value..value_end] {
                    *byte = next_hex_digit(*byte);
                }
            }
        }
        at = end + 4;
    }
}

/// The hex digit after `byte` (`f` → `0`); anything else as it is.
fn next_hex_digit(byte: u8) -> u8 {
    match byte {
        b'0'..=b'8' | b'a'..=b'e' | b'A'..=b'E' => byte + 1,
        b'9' => b'a',
        b'f' | b'F' => b'0',
        other => other,
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.down();
    }
}

#[cfg(test)]
mod tests {
    use super::rewrite_header;

    fn rewrite_etags(bytes: &mut [u8]) -> usize {
        rewrite_header(bytes, b"\r\netag:")
    }

    #[test]
    fn object_etags_are_rewritten_and_cut_blocks_wait() {
        let head = b"HTTP/1.1 200 OK\r\nLast-Modified: x\r\nETag: \"09af\"\r\n\r\n";
        let mut answer = head.to_vec();
        assert_eq!(rewrite_etags(&mut answer), 0);
        assert_eq!(
            answer,
            b"HTTP/1.1 200 OK\r\nLast-Modified: x\r\nETag: \"1ab0\"\r\n\r\n".to_vec()
        );
        // A write's ETag (no Last-Modified) is left alone.
        let put = b"HTTP/1.1 200 OK\r\netag: \"09af\"\r\ncontent-length: 0\r\n\r\n";
        let mut answer = put.to_vec();
        assert_eq!(rewrite_etags(&mut answer), 0);
        assert_eq!(answer, put.to_vec());
        // A block without its end waits; so does what may start a status line.
        let mut cut = b"body bytesHTTP/1.1 200 OK\r\netag: \"09".to_vec();
        assert_eq!(rewrite_etags(&mut cut), cut.len() - 10);
        let mut tail = b"body bytes HTT".to_vec();
        assert_eq!(rewrite_etags(&mut tail), 3);
        let mut head =
            b"HTTP/1.1 200 OK\r\nlast-modified: x\r\ncontent-length: 1209\r\n\r\n".to_vec();
        assert_eq!(rewrite_header(&mut head, b"\r\ncontent-length:"), 0);
        assert!(head.ends_with(b"content-length: 1200\r\n\r\n"));
    }
}
