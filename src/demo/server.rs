//! The demo's web server: serves the current version of each bundled page
//! on 127.0.0.1, rendered with fresh site chrome on every request. One
//! request per connection; GET only.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::site;

/// Path → the Markdown of the version currently published there.
pub type Pages = Arc<Mutex<HashMap<String, &'static str>>>;

/// Starts serving `pages` on an ephemeral loopback port.
pub async fn start(pages: Pages) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, pages.clone()));
        }
    });
    Ok(addr)
}

async fn serve(mut stream: TcpStream, pages: Pages) {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 16 * 1024 {
            return;
        }
    }
    let request = String::from_utf8_lossy(&head);
    let path = request.split(' ').nth(1).unwrap_or("/").to_string();
    let page = pages
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&path)
        .copied();
    let (status, body) = match page {
        Some(markdown) => ("200 OK", site::render(markdown)),
        None => ("404 Not Found", "<h1>Not found</h1>".to_string()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}
