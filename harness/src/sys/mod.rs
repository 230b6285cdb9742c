//! What every stage may use and that is about the process, not about latency: where outputs
//! go ([`output`]) and how a stop request travels ([`shutdown`]). Depends on nothing else in
//! the crate.

pub mod output;
pub mod shutdown;

/// `text` as one file name component: letters, digits and dots kept, anything else (path
/// separators included) becomes `_`, and a name of dots only (`.`, `..`) becomes underscores.
pub fn path_safe(text: &str) -> String {
    let safe: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.chars().all(|c| c == '.') {
        "_".repeat(safe.len().max(1))
    } else {
        safe
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_lose_their_separators() {
        assert_eq!(super::path_safe("0.169.0"), "0.169.0");
        assert_eq!(super::path_safe("../a b/c"), ".._a_b_c");
        assert_eq!(super::path_safe(".."), "__");
        assert_eq!(super::path_safe(""), "_");
    }
}
