//! A listener whose connections percent-encode the bytes in HTTP/1.1 request
//! targets that identity providers send raw but the `http` crate rejects.
//!
//! SCIM clients send filters such as `?filter=userName+eq+"a@example.com"`
//! with bare double quotes. hyper hands the request target to
//! `http::Uri`, which rejects `"`, `<`, `>` and `` ` `` in a query (http
//! 1.5), so those requests would fail with an empty 400 before any handler
//! runs. [`TolerantListener`] rewrites those bytes to `%22`, `%3C`, `%3E` and
//! `%60` inside the request line only; headers and bodies pass through
//! unchanged. It follows HTTP/1.1 message framing (`Content-Length` and
//! chunked bodies) to find where each request line starts on a keep-alive
//! connection, and passes everything through untouched once it reads
//! something it does not follow, such as an HTTP/2 preface or an oversized
//! line.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
};

/// Maximum length of a request line or header line the rewriter follows, in bytes.
const MAX_LINE_BYTES: usize = 64 * 1024;

/// Size of each read from the socket, in bytes.
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// A TCP listener for `axum::serve` whose connections are [`TolerantStream`]s.
pub struct TolerantListener {
    inner: TcpListener,
}

impl TolerantListener {
    pub fn new(inner: TcpListener) -> Self {
        Self { inner }
    }
}

impl axum::serve::Listener for TolerantListener {
    type Io = TolerantStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (TolerantStream::new(stream), addr);
                }
                Err(error) => {
                    // Running out of file descriptors is the usual cause;
                    // pausing lets connections close instead of spinning.
                    tracing::warn!(error = %error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// The peer address of a connection accepted by [`TolerantListener`], for
/// `into_make_service_with_connect_info::<ClientAddr>()`; handlers read it
/// as `ConnectInfo<ClientAddr>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TolerantListener>>
    for ClientAddr
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, TolerantListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

/// A stream that rewrites request targets on the read side and writes
/// through unchanged.
pub struct TolerantStream<S> {
    inner: S,
    framer: Framer,
    output: Vec<u8>,
    output_position: usize,
}

impl<S> TolerantStream<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            framer: Framer::default(),
            output: Vec::new(),
            output_position: 0,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TolerantStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.output_position < this.output.len() {
                let pending = &this.output[this.output_position..];
                let length = pending.len().min(buf.remaining());
                buf.put_slice(&pending[..length]);
                this.output_position += length;
                return Poll::Ready(Ok(()));
            }

            let mut chunk = [0u8; READ_CHUNK_BYTES];
            let mut chunk_buf = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut chunk_buf))?;
            let input = chunk_buf.filled();
            if input.is_empty() {
                return Poll::Ready(Ok(()));
            }
            this.output.clear();
            this.output_position = 0;
            this.framer.feed(input, &mut this.output);
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TolerantStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Position of the framer within the HTTP/1.1 byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    /// Before the first space of a request line: the method.
    #[default]
    Method,
    /// Between the first and second space of a request line.
    Target,
    /// After the request target, up to the end of the request line.
    Version,
    /// Header lines, until an empty line.
    Headers,
    /// A body of known length with this many bytes left.
    Body(u64),
    /// The size line of the next chunk.
    ChunkSize,
    /// Chunk data with this many bytes left, then CRLF.
    ChunkData(u64),
    /// The CRLF after chunk data.
    ChunkEnd,
    /// Trailer lines after the last chunk, until an empty line.
    Trailers,
    /// Everything passes through unchanged from here on.
    Passthrough,
}

/// Follows HTTP/1.1 framing and rewrites request-target bytes.
#[derive(Debug, Default)]
struct Framer {
    state: State,
    /// The current header, chunk-size or request line, for the states that
    /// need to read it whole.
    line: Vec<u8>,
    /// Bytes of the current request line seen so far.
    request_line_bytes: usize,
    content_length: Option<u64>,
    chunked: bool,
}

impl Framer {
    fn feed(&mut self, mut input: &[u8], output: &mut Vec<u8>) {
        while !input.is_empty() {
            match self.state {
                State::Passthrough => {
                    output.extend_from_slice(input);
                    return;
                }
                State::Body(remaining) => {
                    let length = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(input.len());
                    output.extend_from_slice(&input[..length]);
                    input = &input[length..];
                    let left = remaining - length as u64;
                    self.state = if left == 0 {
                        State::Method
                    } else {
                        State::Body(left)
                    };
                }
                State::ChunkData(remaining) => {
                    let length = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(input.len());
                    output.extend_from_slice(&input[..length]);
                    input = &input[length..];
                    let left = remaining - length as u64;
                    self.state = if left == 0 {
                        State::ChunkEnd
                    } else {
                        State::ChunkData(left)
                    };
                }
                _ => {
                    let (byte, rest) = (input[0], &input[1..]);
                    input = rest;
                    self.feed_byte(byte, output);
                }
            }
        }
    }

    fn feed_byte(&mut self, byte: u8, output: &mut Vec<u8>) {
        match self.state {
            State::Method | State::Target | State::Version => self.feed_request_line(byte, output),
            State::Headers | State::ChunkSize | State::Trailers | State::ChunkEnd => {
                output.push(byte);
                self.feed_line(byte);
            }
            State::Body(_) | State::ChunkData(_) | State::Passthrough => output.push(byte),
        }
    }

    fn feed_request_line(&mut self, byte: u8, output: &mut Vec<u8>) {
        self.request_line_bytes += 1;
        if self.request_line_bytes > MAX_LINE_BYTES {
            output.push(byte);
            self.state = State::Passthrough;
            return;
        }

        match (self.state, byte) {
            // Blank lines before a request line are allowed (RFC 9112 section 2.2).
            (State::Method, b'\r' | b'\n')
                if self.request_line_bytes == 1 || self.line.is_empty() =>
            {
                self.request_line_bytes = 0;
                output.push(byte);
            }
            (State::Method, b' ') => {
                // The HTTP/2 connection preface starts with "PRI * HTTP/2.0".
                if self.line == b"PRI" {
                    self.state = State::Passthrough;
                } else {
                    self.state = State::Target;
                }
                self.line.clear();
                output.push(byte);
            }
            (State::Method, _) => {
                self.line.push(byte);
                output.push(byte);
            }
            (State::Target, b' ') => {
                self.state = State::Version;
                output.push(byte);
            }
            (State::Target, b'\n') => {
                // An HTTP/0.9-style line without a version; hyper rejects it.
                self.state = State::Passthrough;
                output.push(byte);
            }
            (State::Target, _) => push_target_byte(byte, output),
            (State::Version, b'\n') => {
                output.push(byte);
                self.start_headers();
            }
            (_, _) => output.push(byte),
        }
    }

    fn start_headers(&mut self) {
        self.state = State::Headers;
        self.line.clear();
        self.request_line_bytes = 0;
        self.content_length = None;
        self.chunked = false;
    }

    /// Collects one line of a header, chunk-size or trailer section and acts
    /// on it when it ends.
    fn feed_line(&mut self, byte: u8) {
        if byte != b'\n' {
            self.line.push(byte);
            if self.line.len() > MAX_LINE_BYTES {
                self.state = State::Passthrough;
            }
            return;
        }

        let line = std::mem::take(&mut self.line);
        let text = line.strip_suffix(b"\r").unwrap_or(&line);
        match self.state {
            State::Headers if text.is_empty() => self.finish_headers(),
            State::Headers => self.read_header(text),
            State::ChunkEnd => self.state = State::ChunkSize,
            State::ChunkSize => self.read_chunk_size(text),
            State::Trailers if text.is_empty() => self.state = State::Method,
            _ => {}
        }
    }

    fn read_header(&mut self, line: &[u8]) {
        let Some(colon) = line.iter().position(|&byte| byte == b':') else {
            return;
        };
        let name = &line[..colon];
        let value = String::from_utf8_lossy(&line[colon + 1..])
            .trim()
            .to_ascii_lowercase();
        if name.eq_ignore_ascii_case(b"content-length") {
            match value.parse::<u64>() {
                Ok(length) => self.content_length = Some(length),
                // hyper rejects the request; nothing after it can be framed.
                Err(_) => self.state = State::Passthrough,
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            self.chunked = value.split(',').any(|coding| coding.trim() == "chunked");
            if !self.chunked {
                self.state = State::Passthrough;
            }
        } else if name.eq_ignore_ascii_case(b"upgrade") {
            // After a protocol upgrade the bytes are no longer HTTP/1.1.
            self.state = State::Passthrough;
        }
    }

    fn finish_headers(&mut self) {
        self.state = if self.chunked {
            State::ChunkSize
        } else {
            match self.content_length {
                Some(length) if length > 0 => State::Body(length),
                _ => State::Method,
            }
        };
    }

    fn read_chunk_size(&mut self, line: &[u8]) {
        let digits: Vec<u8> = line
            .iter()
            .copied()
            .take_while(|byte| byte.is_ascii_hexdigit())
            .collect();
        let size = std::str::from_utf8(&digits)
            .ok()
            .and_then(|text| u64::from_str_radix(text, 16).ok());
        self.state = match size {
            Some(0) => State::Trailers,
            Some(size) => State::ChunkData(size),
            None => State::Passthrough,
        };
    }
}

/// Writes one request-target byte, percent-encoding the bytes that the
/// `http` crate rejects in a query although clients send them.
fn push_target_byte(byte: u8, output: &mut Vec<u8>) {
    match byte {
        b'"' | b'<' | b'>' | b'`' => {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            output.push(b'%');
            output.push(HEX[usize::from(byte >> 4)]);
            output.push(HEX[usize::from(byte & 0x0f)]);
        }
        _ => output.push(byte),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(chunks: &[&[u8]]) -> Vec<u8> {
        let mut framer = Framer::default();
        let mut output = Vec::new();
        for chunk in chunks {
            framer.feed(chunk, &mut output);
        }
        output
    }

    #[test]
    fn quotes_in_query_are_encoded() {
        let output = rewrite(&[b"GET /Users?filter=userName+eq+\"a\" HTTP/1.1\r\nHost: x\r\n\r\n"]);

        assert_eq!(
            output,
            b"GET /Users?filter=userName+eq+%22a%22 HTTP/1.1\r\nHost: x\r\n\r\n"
        );
    }

    #[test]
    fn quotes_in_body_are_kept() {
        let body = b"{\"a\":\"b\"}";
        let request = [
            b"POST /Users HTTP/1.1\r\nContent-Length: 9\r\n\r\n".as_slice(),
            body.as_slice(),
        ]
        .concat();

        let output = rewrite(&[&request]);

        assert!(output.ends_with(body));
    }

    #[test]
    fn second_request_on_connection_is_rewritten() {
        let first = b"POST /Users HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}".as_slice();
        let second = b"GET /Users?f=\"x\" HTTP/1.1\r\n\r\n".as_slice();

        let output = rewrite(&[first, second]);

        assert!(output.ends_with(b"GET /Users?f=%22x%22 HTTP/1.1\r\n\r\n"));
    }

    #[test]
    fn chunked_body_is_framed() {
        let request = b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n\"\"\"\"\r\n0\r\n\r\nGET /b?q=\"y\" HTTP/1.1\r\n\r\n";

        let output = rewrite(&[request.as_slice()]);

        assert!(output.starts_with(
            b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n\"\"\"\"\r\n0\r\n\r\n"
        ));
        assert!(output.ends_with(b"GET /b?q=%22y%22 HTTP/1.1\r\n\r\n"));
    }

    #[test]
    fn request_split_across_reads_is_rewritten() {
        let output = rewrite(&[b"GET /U?f=\"", b"x\" HTTP/1.1\r\n", b"\r\n"]);

        assert_eq!(output, b"GET /U?f=%22x%22 HTTP/1.1\r\n\r\n");
    }

    #[test]
    fn http2_preface_passes_through() {
        let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\"";

        let output = rewrite(&[preface.as_slice()]);

        assert_eq!(output, preface);
    }

    #[test]
    fn invalid_content_length_passes_through() {
        let request =
            b"POST /a HTTP/1.1\r\nContent-Length: x\r\n\r\nGET /b?q=\"y\" HTTP/1.1\r\n\r\n";

        let output = rewrite(&[request.as_slice()]);

        assert_eq!(output, request);
    }

    #[tokio::test]
    async fn axum_serves_a_raw_quote_filter() {
        use axum::{Router, extract::RawQuery, routing::get};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().route(
            "/q",
            get(|RawQuery(query): RawQuery| async move { query.unwrap_or_default() }),
        );
        tokio::spawn(async move { axum::serve(TolerantListener::new(listener), app).await });

        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /q?filter=a+eq+\"b\" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();

        assert!(response.starts_with("HTTP/1.1 200"));
        assert!(response.ends_with("filter=a+eq+%22b%22"));
    }
}
