//! Incremental server-sent-events parsing: bytes arrive in arbitrary chunks and complete
//! frames come out (`event:` and `data:` lines, blank-line terminated, LF or CRLF).

/// One parsed SSE frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

/// Accumulates bytes and yields complete frames.
#[derive(Debug, Default)]
pub struct SseParser {
    buffer: Vec<u8>,
}

impl SseParser {
    /// Adds a chunk and returns every frame it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        self.buffer.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some((end, sep_len)) = find_frame_end(&self.buffer) {
            let frame: Vec<u8> = self.buffer.drain(..end + sep_len).collect();
            if let Some(event) = parse_frame(&String::from_utf8_lossy(&frame[..end])) {
                events.push(event);
            }
        }
        events
    }

    /// Bytes received but not yet part of a complete frame.
    pub fn pending(&self) -> usize {
        self.buffer.len()
    }
}

fn find_frame_end(buffer: &[u8]) -> Option<(usize, usize)> {
    let lf = buffer.windows(2).position(|w| w == b"\n\n").map(|p| (p, 2));
    let crlf = buffer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| (p, 4));
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

fn parse_frame(frame: &str) -> Option<SseEvent> {
    let mut event = None;
    let mut data: Option<String> = None;
    for line in frame.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event = Some(value.to_owned()),
            "data" => match &mut data {
                Some(existing) => {
                    existing.push('\n');
                    existing.push_str(value);
                }
                None => data = Some(value.to_owned()),
            },
            _ => {}
        }
    }
    data.map(|data| SseEvent { event, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_across_chunks() {
        let mut parser = SseParser::default();
        assert!(parser.push(b"event: response.created\nda").is_empty());
        let events = parser.push(b"ta: {\"a\":1}\n\nevent: x\ndata: 2\n\n");
        assert_eq!(
            events,
            vec![
                SseEvent {
                    event: Some("response.created".into()),
                    data: "{\"a\":1}".into()
                },
                SseEvent {
                    event: Some("x".into()),
                    data: "2".into()
                },
            ]
        );
        assert_eq!(parser.pending(), 0);
    }

    #[test]
    fn crlf_comments_and_multiline_data() {
        let mut parser = SseParser::default();
        let events = parser.push(b": keepalive\r\n\r\ndata: a\r\ndata: b\r\n\r\n");
        assert_eq!(
            events,
            vec![SseEvent {
                event: None,
                data: "a\nb".into()
            }]
        );
    }
}
