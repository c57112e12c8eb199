//! A TCP relay to a real server (PostgreSQL, S3) on a port of its own, which a test can take
//! down and bring back: the dependency going away, for real, at the socket.

use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// The relay; dropping it closes the port and every connection through it.
pub struct Relay {
    /// The relay's port on 127.0.0.1.
    pub port: u16,
    target: String,
    task: Option<JoinHandle<()>>,
}

impl Relay {
    /// Relays a new port on 127.0.0.1 to `target` (`host:port`).
    pub async fn start(target: &str) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut relay = Relay {
            port,
            target: target.to_owned(),
            task: None,
        };
        relay.serve(listener);
        relay
    }

    fn serve(&mut self, listener: TcpListener) {
        let target = self.target.clone();
        self.task = Some(tokio::spawn(async move {
            // Connections live in the set, so aborting this task drops (closes) them all.
            let mut connections = JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                connections.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
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

impl Drop for Relay {
    fn drop(&mut self) {
        self.down();
    }
}
