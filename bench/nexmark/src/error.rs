//! Configuration errors. Every error names the offending field, so a bad configuration is
//! reported clearly instead of panicking (or silently wrapping) deep inside the generator.

/// A generator configuration that the generator cannot run, or that would not behave like the
/// Java generator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A field lies outside its allowed range.
    #[error(
        "invalid nexmark config: `{field}` = {value} is outside the allowed range {min}..={max}"
    )]
    OutOfRange {
        /// The field, as named in [`NexmarkConfig`](crate::NexmarkConfig) or
        /// [`GeneratorConfig`](crate::GeneratorConfig).
        field: &'static str,
        /// The value given.
        value: i128,
        /// The smallest allowed value.
        min: i128,
        /// The largest allowed value.
        max: i128,
    },
    /// Fields that are fine one by one but not together.
    #[error("invalid nexmark config: `{field}`: {reason}")]
    Inconsistent {
        /// The field (or combination of fields) at fault.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl ConfigError {
    /// The name of the offending field.
    pub fn field(&self) -> &'static str {
        match self {
            ConfigError::OutOfRange { field, .. } | ConfigError::Inconsistent { field, .. } => {
                field
            }
        }
    }
}

/// Checks `min <= value <= max`, naming `field` in the error.
pub(crate) fn check_range(
    field: &'static str,
    value: impl Into<i128>,
    min: impl Into<i128>,
    max: impl Into<i128>,
) -> Result<(), ConfigError> {
    let (value, min, max) = (value.into(), min.into(), max.into());
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::OutOfRange {
            field,
            value,
            min,
            max,
        })
    }
}
