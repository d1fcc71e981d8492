//! Shared by the malformed-input tests: a scripted WebSocket server on loopback that sends a
//! given sequence of frames (good, bad, binary, broken UTF-8) to the first client as fast as it
//! reads, then closes the connection the way tickrail's replay server ends a capture.

use std::net::{SocketAddr, TcpListener};
use std::thread::{self, JoinHandle};

use tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::CloseFrame;
use tungstenite::Message;

/// One frame the server sends.
#[derive(Debug, Clone)]
pub enum ScriptFrame {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
    /// A text frame whose payload is sent as it is, valid UTF-8 or not.
    BadUtf8(Vec<u8>),
}

impl ScriptFrame {
    fn into_message(self) -> Message {
        match self {
            Self::Text(t) => Message::text(t),
            Self::Binary(b) => Message::binary(b),
            Self::BadUtf8(b) => Message::Frame(Frame::message(b, OpCode::Data(Data::Text), true)),
        }
    }
}

/// A server thread sending one script to one client.
#[derive(Debug)]
pub struct ScriptServer {
    addr: SocketAddr,
    handle: JoinHandle<u64>,
}

impl ScriptServer {
    /// Listens on a free loopback port and, on the first connection, sends every frame of
    /// `frames` (produced on the server thread, so a long script is never held in memory), then
    /// closes with the end-of-capture reason and waits for the client's close.
    pub fn start<I>(frames: I) -> Self
    where
        I: IntoIterator<Item = ScriptFrame>,
        I::IntoIter: Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("a bound address");
        let frames = frames.into_iter();
        let handle = thread::Builder::new()
            .name("script-server".into())
            .spawn(move || {
                let (sock, _) = listener.accept().expect("the feed connects");
                sock.set_nodelay(true).expect("TCP_NODELAY");
                let mut ws = tungstenite::accept(sock).expect("WebSocket handshake");
                let mut sent = 0u64;
                // `write` queues and writes out whenever the buffer passes its target size: the
                // socket's back-pressure paces the script to the client's reading speed.
                for f in frames {
                    ws.write(f.into_message()).expect("send a frame");
                    sent += 1;
                }
                ws.flush().expect("flush the script");
                ws.close(Some(CloseFrame {
                    code: CloseCode::Normal,
                    reason: tickrail_engine::feed::END_OF_CAPTURE.into(),
                }))
                .expect("close");
                // Drain until the client's close arrives.
                while ws.read().is_ok() {}
                sent
            })
            .expect("spawn the script server");
        Self { addr, handle }
    }

    /// The base URL to give the feed (`ws://127.0.0.1:<port>`).
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Waits for the server to finish; returns the frames sent.
    pub fn join(self) -> u64 {
        self.handle.join().expect("the script server thread panicked")
    }
}
