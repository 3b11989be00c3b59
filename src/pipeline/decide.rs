//! Which category an incident is filed under: the model's when it is sure,
//! the citizen's otherwise, and a triage mark whenever the two disagree or
//! nobody is sure.

use crate::classify::Classification;
use crate::reports::ReportError;
use crate::setup::{CitySetup, OTHER_CATEGORY};

/// The category chosen and why the report needs a supervisor's look, if it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryDecision {
    pub category: String,
    pub triage_reason: Option<String>,
}

/// Decides the category of a report.
///
/// - The citizen's category must be one the city knows.
/// - A confident model label that maps to a known category wins; when the
///   citizen chose another one, both are kept and the report goes to triage.
/// - A confident "no problem visible" keeps the citizen's category, in triage.
/// - An unsure model keeps the citizen's category, in triage.
/// - No category at all: the confident model's, else `other` in triage.
pub fn decide_category(
    setup: &CitySetup,
    citizen: Option<&str>,
    model: Option<&Classification>,
    threshold: f32,
) -> Result<CategoryDecision, ReportError> {
    if let Some(given) = citizen
        && setup.category(given).is_none()
    {
        return Err(ReportError::UnknownCategory {
            given: given.to_string(),
            known: known_categories(setup),
        });
    }

    let Some(model) = model else {
        return match citizen {
            Some(given) => Ok(CategoryDecision {
                category: given.to_string(),
                triage_reason: None,
            }),
            None => Err(ReportError::MissingCategory {
                known: known_categories(setup),
            }),
        };
    };

    let confident = model.is_confident(threshold);
    let model_category = model
        .category
        .as_deref()
        .filter(|slug| setup.category(slug).is_some());
    let fallback = citizen.unwrap_or(OTHER_CATEGORY).to_string();
    let decision = match (confident, model_category, citizen) {
        (true, Some(slug), Some(given)) if slug != given => CategoryDecision {
            category: slug.to_string(),
            triage_reason: Some(format!(
                "the photo looks like {slug} ({:.0} %), the citizen chose {given}",
                model.confidence * 100.0
            )),
        },
        (true, Some(slug), _) => CategoryDecision {
            category: slug.to_string(),
            triage_reason: None,
        },
        (true, None, _) if model.category.is_none() => CategoryDecision {
            category: fallback,
            triage_reason: Some(format!(
                "the photo shows no problem the model knows ({} at {:.0} %)",
                model.label,
                model.confidence * 100.0
            )),
        },
        _ => CategoryDecision {
            category: fallback,
            triage_reason: Some(format!(
                "the model is unsure ({} at {:.0} %)",
                model.label,
                model.confidence * 100.0
            )),
        },
    };
    Ok(decision)
}

fn known_categories(setup: &CitySetup) -> String {
    setup
        .categories
        .iter()
        .map(|category| category.slug.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
