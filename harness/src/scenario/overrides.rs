//! `--set key=value` overrides: applied to the scenario's TOML text before it is read, so an
//! override is validated exactly like the file's own value and its errors name the override.

use super::locate;
use super::{Origin, ScenarioError};

/// A `--set key=value` override. The value is read as TOML when it parses as TOML
/// (`0.5`, `true`, `{ uniform = ["1ms", "2ms"] }`) and as a string otherwise (`50ms`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub key: String,
    pub value: String,
}

impl std::str::FromStr for Override {
    type Err = String;
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let (key, value) = spec.split_once('=').ok_or_else(|| {
            format!("`{spec}` is not key=value (e.g. backend.delays.first_token=50ms)")
        })?;
        let key = key.trim();
        toml_edit::Key::parse(key).map_err(|e| format!("`{key}` is not a key path: {e}"))?;
        Ok(Self {
            key: key.to_owned(),
            value: value.trim().to_owned(),
        })
    }
}

impl Override {
    pub(super) fn spec(&self) -> String {
        format!("{}={}", self.key, self.value)
    }
}

pub(super) fn apply_overrides(
    text: &str,
    source: &str,
    overrides: &[Override],
) -> Result<String, ScenarioError> {
    if overrides.is_empty() {
        return Ok(text.to_owned());
    }
    let mut doc: toml_edit::DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| ScenarioError {
                origin: Origin::File {
                    path: source.to_owned(),
                    position: e.span().map(|s| locate::line_col(text, s.start)),
                },
                key: None,
                message: e.message().to_owned(),
            })?;
    for o in overrides {
        let fail = |message: String| ScenarioError {
            origin: Origin::Override { spec: o.spec() },
            key: Some(o.key.clone()),
            message,
        };
        let keys = toml_edit::Key::parse(&o.key).map_err(|e| fail(e.to_string()))?;
        let value = o
            .value
            .parse::<toml_edit::Value>()
            .unwrap_or_else(|_| toml_edit::Value::from(o.value.as_str()));
        set_in(doc.as_table_mut(), false, &keys, value).map_err(fail)?;
    }
    Ok(doc.to_string())
}

/// Sets `keys` = `value` under `table` (an inline table when `inline`), creating the levels
/// that are missing: a table under a table, an inline table inside an inline one.
fn set_in(
    table: &mut dyn toml_edit::TableLike,
    inline: bool,
    keys: &[toml_edit::Key],
    value: toml_edit::Value,
) -> Result<(), String> {
    let Some((first, rest)) = keys.split_first() else {
        return Err("empty key".into());
    };
    if rest.is_empty() {
        table.insert(first.get(), toml_edit::Item::Value(value));
        return Ok(());
    }
    if table.get(first.get()).is_none() {
        let level = if inline {
            toml_edit::Item::Value(toml_edit::Value::InlineTable(toml_edit::InlineTable::new()))
        } else {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            toml_edit::Item::Table(t)
        };
        table.insert(first.get(), level);
    }
    match table.get_mut(first.get()) {
        Some(toml_edit::Item::Table(t)) => set_in(t, false, rest, value),
        Some(toml_edit::Item::Value(toml_edit::Value::InlineTable(t))) => {
            set_in(t, true, rest, value)
        }
        _ => Err(format!("`{}` is a value, not a table", first.get())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str, spec: &str) -> Result<String, ScenarioError> {
        let o: Override = spec.parse().unwrap();
        apply_overrides(text, "t.toml", &[o])
    }

    #[test]
    fn overrides_reach_into_tables_and_inline_tables_and_make_missing_levels() {
        let text = "[a]\nx = { y = { z = 1 } }\n";
        assert_eq!(
            set(text, "a.x.y.z=2").unwrap(),
            "[a]\nx = { y = { z = 2 } }\n"
        );
        // A missing level inside an inline table is an inline table; under a table, a table.
        let made = set(text, "a.x.w.v=3").unwrap();
        assert!(made.starts_with("[a]\nx = { y = { z = 1 }"), "{made}");
        let parsed: toml::Table = made.parse().unwrap();
        assert_eq!(parsed["a"]["x"]["w"]["v"].as_integer(), Some(3));
        let made = set(text, "b.c.d=\"s\"").unwrap();
        let parsed: toml::Table = made.parse().unwrap();
        assert_eq!(parsed["b"]["c"]["d"].as_str(), Some("s"));
        let e = set(text, "a.x.y.z.q=1").unwrap_err();
        assert!(e.message.contains("`z` is a value"), "{}", e.message);
    }
}
