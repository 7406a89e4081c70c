//! Errors that leave a task or a job, with a hint whether retrying can help.

use std::fmt;

/// Whether retrying the failed work can help (Arroyo's retry hints).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Retry {
    /// The same input will fail the same way (a bad record, a bug in a user function).
    Never,
    /// A transient condition (a peer went away, a resource was busy); a restart may succeed.
    May,
}

/// A failure inside a running task, naming the operator that raised it.
///
/// Boxed so that the per-record `Result<(), TaskError>` stays one machine word.
#[derive(Clone)]
pub struct TaskError(Box<TaskErrorInner>);

#[derive(Debug, Clone)]
struct TaskErrorInner {
    operator: Option<String>,
    message: String,
    retry: Retry,
}

impl TaskError {
    /// A failure with a message; the operator is filled in by [`TaskError::in_operator`].
    pub fn new(message: impl Into<String>, retry: Retry) -> Self {
        TaskError(Box::new(TaskErrorInner {
            operator: None,
            message: message.into(),
            retry,
        }))
    }

    /// A failure raised by a user function (never retried on its own).
    pub fn user(err: impl fmt::Display) -> Self {
        TaskError::new(err.to_string(), Retry::Never)
    }

    /// Names the operator, unless an inner operator was named already.
    pub fn in_operator(mut self, operator: &str) -> Self {
        if self.0.operator.is_none() {
            self.0.operator = Some(operator.to_string());
        }
        self
    }

    /// The operator that raised the failure, when known.
    pub fn operator(&self) -> Option<&str> {
        self.0.operator.as_deref()
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// Whether a retry can help.
    pub fn retry(&self) -> Retry {
        self.0.retry
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.operator {
            Some(op) => write!(f, "operator '{op}' failed: {}", self.0.message),
            None => write!(f, "{}", self.0.message),
        }
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for TaskError {}

/// Result of per-record and lifecycle calls inside a task.
pub type TaskResult<T = ()> = Result<T, TaskError>;
