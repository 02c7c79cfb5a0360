//! A registry that misbehaves on purpose, for the tests of what a hostile registry can and
//! cannot make a host do: a tiny HTTP/1.1 server on a loopback address (`127.0.0.1`, or
//! `127.0.0.2` for "another host" on the same machine), one thread per connection, one answer
//! per connection, each socket bounded in time.
//!
//! It records every request it receives (its target and `Authorization`), and for a streamed
//! answer how many body bytes it managed to write: a client that refuses an oversize body stops
//! reading and closes the connection, and the server sees its writes fail long before the end.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a connection may sit idle on either side.
const SOCKET_TIMEOUT: Duration = Duration::from_secs(10);

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The path and query.
    pub target: String,
    pub authorization: Option<String>,
}

/// An answer.
pub enum Reply {
    /// A whole body, with its length.
    Full { status: u16, headers: Vec<(String, String)>, body: Vec<u8> },
    /// `length` bytes streamed in 64 KiB writes: chunked when `declared` is `None`, else under
    /// that `Content-Length` (which may be a lie).
    Stream { status: u16, headers: Vec<(String, String)>, length: u64, declared: Option<u64> },
}

impl Reply {
    /// `200` with this body and content type.
    pub fn ok(content_type: &str, body: Vec<u8>) -> Reply {
        Reply::Full { status: 200, headers: vec![("Content-Type".into(), content_type.into())], body }
    }

    /// A status with no body.
    pub fn status(status: u16, headers: &[(&str, &str)]) -> Reply {
        let headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Reply::Full { status, headers, body: Vec::new() }
    }
}

/// What became of one streamed answer.
#[derive(Clone, Copy, Debug, Default)]
pub struct Streamed {
    /// Body bytes written before the end or the first failed write.
    pub written: u64,
    /// Whether the whole body was written.
    pub complete: bool,
    /// Whether the connection is done (finished or failed).
    pub done: bool,
}

type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

/// A running fake server.
pub struct Fake {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    streamed: Arc<Mutex<Vec<Streamed>>>,
}

impl Fake {
    /// Listens on `ip`, an ephemeral port, answering each request with `handler`.
    pub fn start(ip: &str, handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Fake {
        let ip: IpAddr = ip.parse().expect("an IP address");
        let listener = TcpListener::bind((ip, 0)).expect("a loopback port");
        let addr = listener.local_addr().expect("bound");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let streamed = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let (log, streams) = (Arc::clone(&seen), Arc::clone(&streamed));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (handler, log, streams) = (Arc::clone(&handler), Arc::clone(&log), Arc::clone(&streams));
                std::thread::spawn(move || serve(stream, &*handler, &log, &streams));
            }
        });
        Fake { addr, seen, streamed }
    }

    /// `http://IP:PORT`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `IP:PORT`, as a registry is named.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The requests seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The streamed answers, once every one of them is done (waits up to the socket timeout
    /// and a little more: a stalled stream fails its writes by then). It waits on the runtime,
    /// which meanwhile closes the connections the client dropped.
    pub async fn streamed(&self) -> Vec<Streamed> {
        let deadline = Instant::now() + SOCKET_TIMEOUT * 2;
        loop {
            let streamed = self.streamed.lock().unwrap().clone();
            if streamed.iter().all(|s| s.done) || Instant::now() > deadline {
                return streamed;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn serve(stream: TcpStream, handler: &Handler, log: &Mutex<Vec<Seen>>, streams: &Mutex<Vec<Streamed>>) {
    let _ = stream.set_read_timeout(Some(SOCKET_TIMEOUT));
    let _ = stream.set_write_timeout(Some(SOCKET_TIMEOUT));
    let mut reader = BufReader::new(stream.try_clone().expect("a socket clones"));
    let Some(seen) = read_request(&mut reader) else { return };
    log.lock().unwrap().push(seen.clone());
    let mut out = stream;
    match handler(&seen) {
        Reply::Full { status, headers, body } => {
            let head = head(status, &headers, &format!("Content-Length: {}", body.len()));
            let _ = out.write_all(head.as_bytes()).and_then(|()| out.write_all(&body));
        }
        Reply::Stream { status, headers, length, declared } => {
            let framing = match declared {
                Some(n) => format!("Content-Length: {n}"),
                None => "Transfer-Encoding: chunked".to_owned(),
            };
            let index = {
                let mut streams = streams.lock().unwrap();
                streams.push(Streamed::default());
                streams.len() - 1
            };
            let record = |update: &dyn Fn(&mut Streamed)| update(&mut streams.lock().unwrap()[index]);
            if out.write_all(head(status, &headers, &framing).as_bytes()).is_err() {
                record(&|s| s.done = true);
                return;
            }
            let block = vec![b' '; 64 << 10];
            let mut written = 0u64;
            let complete = loop {
                if written >= length {
                    break declared.is_some() || out.write_all(b"0\r\n\r\n").is_ok();
                }
                let n = block.len().min((length - written) as usize);
                let sent = match declared {
                    Some(_) => out.write_all(&block[..n]),
                    None => out
                        .write_all(format!("{n:x}\r\n").as_bytes())
                        .and_then(|()| out.write_all(&block[..n]))
                        .and_then(|()| out.write_all(b"\r\n")),
                };
                if sent.is_err() {
                    break false;
                }
                written += n as u64;
                record(&|s| s.written = written);
            };
            record(&|s| {
                s.complete = complete;
                s.done = true;
            });
        }
    }
    let _ = out.flush();
}

fn head(status: u16, headers: &[(String, String)], framing: &str) -> String {
    let mut head = format!("HTTP/1.1 {status} Fake\r\nConnection: close\r\n{framing}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head + "\r\n"
}

/// Reads a request's head (and skips its body); `None` if the client sent none.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Seen> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut words = line.split_whitespace();
    let target = words.nth(1)?.to_owned();
    let (mut authorization, mut length) = (None, 0u64);
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        match name.to_ascii_lowercase().as_str() {
            "authorization" => authorization = Some(value.trim().to_owned()),
            "content-length" => length = value.trim().parse().ok()?,
            _ => {}
        }
    }
    std::io::copy(&mut reader.by_ref().take(length), &mut std::io::sink()).ok()?;
    Some(Seen { target, authorization })
}
