//! Finding where a key is in a TOML text, and which key a byte offset belongs to, so every
//! scenario error can name the file, line and key (serde errors carry only a byte span).

use super::{Origin, Override, ScenarioError};
use toml_edit::{Document, Item, Table, Value};

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
}

/// Line and column of a byte offset.
pub(super) fn line_col(text: &str, offset: usize) -> LineCol {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
    LineCol { line, column }
}

/// The dotted key path whose key or value contains `offset` (deepest match), e.g.
/// `backend.delays.first_token`.
pub(super) fn key_path_at(text: &str, offset: usize) -> Option<String> {
    let doc = Document::parse(text).ok()?;
    let mut path = Vec::new();
    walk_table(doc.as_table(), offset, &mut path).then(|| path.join("."))
}

fn walk_table(table: &Table, offset: usize, path: &mut Vec<String>) -> bool {
    for (key, item) in table.iter() {
        let key_span = table.key(key).and_then(|k| k.span());
        path.push(quote_key(key));
        if let Some(span) = key_span
            && span.contains(&offset)
        {
            walk_item(item, offset, path);
            return true;
        }
        if walk_item(item, offset, path) {
            return true;
        }
        path.pop();
    }
    false
}

fn walk_item(item: &Item, offset: usize, path: &mut Vec<String>) -> bool {
    match item {
        Item::Table(table) => walk_table(table, offset, path),
        Item::Value(value) => walk_value(value, offset, path),
        Item::ArrayOfTables(array) => array.iter().any(|t| walk_table(t, offset, path)),
        Item::None => false,
    }
}

fn walk_value(value: &Value, offset: usize, path: &mut Vec<String>) -> bool {
    if let Value::InlineTable(inline) = value {
        for (key, v) in inline.iter() {
            path.push(quote_key(key));
            if walk_value(v, offset, path) {
                return true;
            }
            path.pop();
        }
    }
    value
        .span()
        .is_some_and(|span| span.contains(&offset) || span.end == offset)
}

fn quote_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        key.to_owned()
    } else {
        format!("{key:?}")
    }
}

/// Where `path` (dotted, as [`key_path_at`] writes it) is defined in `text`.
pub(super) fn position_of(text: &str, path: &str) -> Option<LineCol> {
    let doc = Document::parse(text).ok()?;
    let keys = split_path(path)?;
    let mut table = doc.as_table();
    let mut inline: Option<&toml_edit::InlineTable> = None;
    for (i, key) in keys.iter().enumerate() {
        let last = i + 1 == keys.len();
        let span = if let Some(it) = inline {
            let span = it.key(key).and_then(|k| k.span());
            if !last {
                inline = it.get(key).and_then(Value::as_inline_table);
                inline?;
            }
            span
        } else {
            let span = table
                .key(key)
                .and_then(|k| k.span())
                .or_else(|| table.get(key).and_then(Item::span));
            if !last {
                match table.get(key)? {
                    Item::Table(t) => table = t,
                    Item::Value(Value::InlineTable(t)) => inline = Some(t),
                    _ => return None,
                }
            }
            span
        };
        if last {
            return span.map(|s| line_col(text, s.start));
        }
    }
    None
}

fn split_path(path: &str) -> Option<Vec<String>> {
    toml_edit::Key::parse(path)
        .ok()
        .map(|keys| keys.iter().map(|k| k.get().to_owned()).collect())
}

/// Locates errors in a scenario text and its overrides.
pub(super) struct Locator<'a> {
    pub(super) text: &'a str,
    pub(super) source: &'a str,
    pub(super) overrides: &'a [Override],
}

impl Locator<'_> {
    fn file(&self, position: Option<LineCol>) -> Origin {
        Origin::File {
            path: self.source.to_owned(),
            position,
        }
    }

    /// The override that set `key` (or a table containing it), if any.
    fn override_for(&self, key: &str) -> Option<&Override> {
        self.overrides
            .iter()
            .rev()
            .find(|o| key == o.key || key.starts_with(&format!("{}.", o.key)))
    }

    /// An error about `key`: located at its override, or its line in the file.
    pub(super) fn error_for_key(&self, key: &str, message: String) -> ScenarioError {
        let origin = match self.override_for(key) {
            Some(o) => Origin::Override { spec: o.spec() },
            None => self.file(position_of(self.text, key)),
        };
        ScenarioError {
            origin,
            key: Some(key.to_owned()),
            message,
        }
    }

    /// An error at a byte offset of the merged text.
    pub(super) fn error_at(
        &self,
        merged: &str,
        offset: Option<usize>,
        message: String,
    ) -> ScenarioError {
        let key = offset.and_then(|o| key_path_at(merged, o));
        match (key, offset) {
            (Some(key), _) => self.error_for_key(&key, message),
            (None, Some(offset)) if self.overrides.is_empty() => ScenarioError {
                origin: self.file(Some(line_col(self.text, offset))),
                key: None,
                message,
            },
            _ => ScenarioError {
                origin: self.file(None),
                key: None,
                message,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "name = \"x\"\n\n[backend.delays]\nfirst_token = \"5ms\"\nwarmup = { uniform = [\"1ms\", \"2ms\"] }\n\n[gate]\n\"turn_ttft.p95\" = \"< 1s\"\n";

    #[test]
    fn finds_the_key_at_an_offset() {
        let offset = TEXT.find("\"5ms\"").unwrap() + 1;
        assert_eq!(
            key_path_at(TEXT, offset).as_deref(),
            Some("backend.delays.first_token")
        );
        let offset = TEXT.find("\"2ms\"").unwrap();
        assert_eq!(
            key_path_at(TEXT, offset).as_deref(),
            Some("backend.delays.warmup.uniform")
        );
        let offset = TEXT.find("< 1s").unwrap();
        assert_eq!(
            key_path_at(TEXT, offset).as_deref(),
            Some("gate.\"turn_ttft.p95\"")
        );
    }

    #[test]
    fn finds_the_line_of_a_key() {
        assert_eq!(
            position_of(TEXT, "backend.delays.first_token").map(|p| p.line),
            Some(4)
        );
        assert_eq!(
            position_of(TEXT, "gate.\"turn_ttft.p95\"").map(|p| p.line),
            Some(8)
        );
        assert_eq!(
            position_of(TEXT, "backend.delays.warmup.uniform").map(|p| p.line),
            Some(5)
        );
        assert_eq!(position_of(TEXT, "nope"), None);
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 4), LineCol { line: 2, column: 2 });
        assert_eq!(line_col("ab", 0), LineCol { line: 1, column: 1 });
    }
}
