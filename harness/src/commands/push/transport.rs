//! One push on the wire: a `PUT` on an HTTP/1.1 connection of its own (hyper) over TCP or
//! TLS (rustls with ring, Mozilla roots plus the gateway's extra CAs). Nothing else: no
//! redirects, no proxies, no pooling; the caller's deadline bounds the whole exchange.

use std::sync::Arc;

use base64::Engine;

use super::{CONNECT_DEADLINE, Pushgateway};

impl Pushgateway {
    /// The TLS settings of a push: the Mozilla roots, the extra CAs, HTTP/1.1.
    fn tls(&self) -> Result<rustls::ClientConfig, String> {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for cert in &self.extra_roots {
            roots
                .add(cert.clone())
                .map_err(|e| format!("a --push-ca certificate is unusable: {e}"))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// One `PUT` of `body` to `url` on a connection of its own: (status, the start of the answer's
/// body), or why not (the innermost cause: "Connection refused", "invalid peer certificate:
/// UnknownIssuer").
pub(super) async fn put(
    gateway: &Pushgateway,
    url: &reqwest::Url,
    body: Vec<u8>,
) -> Result<(u16, Vec<u8>), String> {
    use http_body_util::BodyExt;

    let host = url.host_str().ok_or("no host")?;
    let port = url.port_or_known_default().ok_or("no port")?;
    let connect = tokio::net::TcpStream::connect(format!("{host}:{port}"));
    let tcp = tokio::time::timeout(CONNECT_DEADLINE, connect)
        .await
        .map_err(|_| format!("no connection within {}s", CONNECT_DEADLINE.as_secs()))?
        .map_err(|e| innermost(&e))?;
    let _ = tcp.set_nodelay(true);
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let mut request = hyper::Request::put(url.path())
        .header(hyper::header::HOST, authority)
        .header(
            hyper::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        );
    if let Some(auth) = &gateway.auth {
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", auth.user, auth.password));
        request = request.header(hyper::header::AUTHORIZATION, format!("Basic {token}"));
    }
    let request = request
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let (response, _connection) = if url.scheme() == "https" {
        // An IPv6 literal is named without its brackets.
        let bare = host.trim_matches(|c| c == '[' || c == ']').to_owned();
        let name = rustls::pki_types::ServerName::try_from(bare).map_err(|e| e.to_string())?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(gateway.tls()?));
        let tls = connector.connect(name, tcp).await.map_err(|e| {
            format!(
                "TLS handshake failed: {} (is the gateway serving plain http on this port? then \
                 use http://)",
                innermost(&e)
            )
        })?;
        send(hyper_util::rt::TokioIo::new(tls), request).await?
    } else {
        send(hyper_util::rt::TokioIo::new(tcp), request).await?
    };
    let status = response.status().as_u16();
    // The start of the answer is enough to say why a push was refused.
    let limited = http_body_util::Limited::new(response.into_body(), 64 * 1024);
    let body = limited
        .collect()
        .await
        .map(|c| c.to_bytes().to_vec())
        .unwrap_or_default();
    Ok((status, body))
}

/// The task driving a connection, stopped when dropped (done, failed or past the deadline).
struct Connection(tokio::task::JoinHandle<Result<(), hyper::Error>>);

impl Drop for Connection {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Sends `request` on a fresh HTTP/1.1 connection over `io`; the connection lives as long as
/// the returned guard (keep it until the answer's body is read).
async fn send<T>(
    io: T,
    request: hyper::Request<http_body_util::Full<bytes::Bytes>>,
) -> Result<(hyper::Response<hyper::body::Incoming>, Connection), String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| innermost(&e))?;
    let connection = Connection(tokio::spawn(connection));
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| innermost(&e))?;
    Ok((response, connection))
}

/// The innermost cause of an error ("Connection refused", "invalid peer certificate: …").
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut source = error;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}
