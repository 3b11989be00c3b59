//! The model's labels file: `index,label,category`, so the label→category map is data.

use std::path::Path;

use super::{ClassifyError, Result};

/// One model output: its label and the cityfix category it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// Model label, e.g. `cluttered_sidewalk`.
    pub label: String,
    /// cityfix category slug; `None` (empty in the file) means "no problem visible".
    pub category: Option<String>,
}

/// Reads a labels file; indexes must be 0, 1, 2… in order so they match the logits.
pub fn read_labels(path: &Path) -> Result<Vec<Label>> {
    let error = |message: String| ClassifyError::Labels {
        path: path.display().to_string(),
        message,
    };
    let mut reader = csv::Reader::from_path(path).map_err(|e| error(e.to_string()))?;
    let mut labels = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let record = record.map_err(|e| error(e.to_string()))?;
        let field = |i: usize| record.get(i).map(str::trim).unwrap_or("");
        let index: usize = field(0)
            .parse()
            .map_err(|_| error(format!("row {}: bad index {:?}", row + 1, field(0))))?;
        if index != row {
            return Err(error(format!(
                "row {}: index {index}, expected {row}",
                row + 1
            )));
        }
        if field(1).is_empty() {
            return Err(error(format!("row {}: empty label", row + 1)));
        }
        let category = Some(field(2).to_owned()).filter(|c| !c.is_empty());
        labels.push(Label {
            label: field(1).to_owned(),
            category,
        });
    }
    if labels.is_empty() {
        return Err(error("no labels".into()));
    }
    Ok(labels)
}
