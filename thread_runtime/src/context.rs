//! The turn context: model information resolved from the runtime's model catalog plus the
//! settings a turn runs with. Codex resolves this at the start of the prewarm
//! (`startup_prewarm_create_turn_context`); here it is real parsing and lookup work.

use serde::Deserialize;

/// A small catalog in the shape of codex's model presets.
const MODEL_CATALOG: &str = r#"{"models":[
 {"slug":"gpt-6.1-sol","context_window":400000,"max_output_tokens":128000,"reasoning_efforts":["low","medium","high"],"supports_parallel_tool_calls":false,"truncation":"auto"},
 {"slug":"gpt-6.1-sol-mini","context_window":200000,"max_output_tokens":64000,"reasoning_efforts":["low","medium"],"supports_parallel_tool_calls":true,"truncation":"auto"},
 {"slug":"gpt-5.5-codex","context_window":272000,"max_output_tokens":128000,"reasoning_efforts":["minimal","low","medium","high"],"supports_parallel_tool_calls":false,"truncation":"auto"},
 {"slug":"gpt-5.5","context_window":272000,"max_output_tokens":128000,"reasoning_efforts":["minimal","low","medium","high"],"supports_parallel_tool_calls":true,"truncation":"disabled"},
 {"slug":"o4-mini","context_window":200000,"max_output_tokens":100000,"reasoning_efforts":["low","medium","high"],"supports_parallel_tool_calls":false,"truncation":"disabled"}
]}"#;

#[derive(Debug, Clone, Deserialize)]
pub struct ModelInfo {
    pub slug: String,
    pub context_window: u64,
    pub max_output_tokens: u64,
    pub reasoning_efforts: Vec<String>,
    pub supports_parallel_tool_calls: bool,
    pub truncation: String,
}

#[derive(Deserialize)]
struct Catalog {
    models: Vec<ModelInfo>,
}

/// What a turn needs to know about its model and settings.
#[derive(Debug, Clone)]
pub struct TurnContext {
    pub model: ModelInfo,
    pub reasoning_effort: String,
    pub cwd: String,
}

/// The model is not in the catalog.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown model {0:?}: the runtime's catalog has {1}")]
pub struct UnknownModel(pub String, pub String);

impl TurnContext {
    /// Parses the catalog and resolves `model`.
    pub fn resolve(model: &str, cwd: &str) -> Result<Self, UnknownModel> {
        let catalog: Catalog =
            serde_json::from_str(MODEL_CATALOG).expect("the embedded model catalog is valid JSON");
        let known = || {
            catalog
                .models
                .iter()
                .map(|m| m.slug.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let Some(info) = catalog.models.iter().find(|m| m.slug == model) else {
            return Err(UnknownModel(model.to_owned(), known()));
        };
        let reasoning_effort = if info.reasoning_efforts.iter().any(|e| e == "low") {
            "low".to_owned()
        } else {
            info.reasoning_efforts.first().cloned().unwrap_or_default()
        };
        Ok(Self {
            model: info.clone(),
            reasoning_effort,
            cwd: cwd.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_known_and_rejects_unknown_models() {
        let ctx = TurnContext::resolve("gpt-6.1-sol", "/w").unwrap();
        assert_eq!(ctx.model.context_window, 400_000);
        assert_eq!(ctx.reasoning_effort, "low");
        let err = TurnContext::resolve("nope", "/w").unwrap_err();
        assert!(err.to_string().contains("gpt-6.1-sol"));
    }
}
