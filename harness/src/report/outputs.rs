//! The outputs a command was asked for, as one set (hyperfine's `ExportManager`): each
//! (format, destination) pair written after the work through its format's exporter, so no
//! output is special-cased at the call site. (Every destination is checked before anything
//! runs, with the command's others: `sys::output::check_all`.)

use super::{Document, Format, render};
use crate::sys::output::{Destination, OutputError};

/// Requested outputs, in the order they are written.
#[derive(Debug, Clone, Default)]
pub(crate) struct OutputSet {
    outputs: Vec<(Format, Destination)>,
}

impl OutputSet {
    /// Adds `format` to `to`, when asked for.
    pub(crate) fn with(mut self, format: Format, to: Option<&Destination>) -> Self {
        if let Some(to) = to {
            self.outputs.push((format, to.clone()));
        }
        self
    }

    /// Whether `format` was asked for.
    pub(crate) fn wants(&self, format: Format) -> bool {
        self.outputs.iter().any(|(f, _)| *f == format)
    }

    /// Writes `document` to every output; each format must show it.
    pub(crate) fn write(&self, document: Document<'_>) -> Result<(), OutputError> {
        for (format, to) in &self.outputs {
            to.write(&render(*format, document))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_was_asked_for_is_in_the_set() {
        let json: Destination = "out.json".parse().unwrap();
        let set = OutputSet::default()
            .with(Format::Json, Some(&json))
            .with(Format::Csv, None);
        assert!(set.wants(Format::Json));
        assert!(!set.wants(Format::Csv));
        assert_eq!(set.outputs.len(), 1);
    }
}
