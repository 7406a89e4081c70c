//! A command line as the A/B runner takes it: `[NAME=VALUE ...] PROGRAM [ARG ...]`, split into
//! words as a POSIX shell would for quotes and backslashes (no expansions, pipes or globs).

/// A program with its arguments and extra environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandLine {
    /// Leading `NAME=VALUE` words, set in the child's environment.
    pub env: Vec<(String, String)>,
    pub program: String,
    pub args: Vec<String>,
    /// The text it was parsed from.
    pub text: String,
}

impl CommandLine {
    /// Splits `text` into words: `'…'` is literal, `"…"` takes `\"`, `\\`, `\$` and `` \` ``
    /// escapes, and outside quotes `\` escapes the next character.
    pub fn parse(text: &str) -> Result<Self, String> {
        let words = split_words(text)?;
        let mut env = Vec::new();
        let mut it = words.into_iter().peekable();
        while let Some(w) = it.peek() {
            match w.split_once('=') {
                Some((name, value)) if is_env_name(name) => {
                    env.push((name.to_owned(), value.to_owned()));
                    it.next();
                }
                _ => break,
            }
        }
        let program = it
            .next()
            .ok_or_else(|| format!("{text:?}: no program to run"))?;
        Ok(CommandLine {
            env,
            program,
            args: it.collect(),
            text: text.to_owned(),
        })
    }

    /// A [`std::process::Command`] for it, optionally wrapped: `wrapper[0] wrapper[1..]
    /// PROGRAM ARGS` (e.g. valgrind).
    pub fn command(&self, wrapper: &[String]) -> std::process::Command {
        let mut c = match wrapper.split_first() {
            Some((w, rest)) => {
                let mut c = std::process::Command::new(w);
                c.args(rest).arg(&self.program);
                c
            }
            None => std::process::Command::new(&self.program),
        };
        c.args(&self.args);
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }
}

fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err(format!("{text:?}: unterminated '")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => cur.push(c),
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => return Err(format!("{text:?}: unterminated \"")),
                        },
                        Some(c) => cur.push(c),
                        None => return Err(format!("{text:?}: unterminated \"")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => cur.push(c),
                    None => return Err(format!("{text:?}: ends with a lone \\")),
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_a_shell() {
        let c = CommandLine::parse(
            r#"FOO=1 _B=x=y ./strom_bench core --note 'a b' "c \"d\"" e\ f --x=1 G=2"#,
        )
        .unwrap();
        assert_eq!(
            c.env,
            vec![("FOO".into(), "1".into()), ("_B".into(), "x=y".into())]
        );
        assert_eq!(c.program, "./strom_bench");
        assert_eq!(
            c.args,
            vec!["core", "--note", "a b", "c \"d\"", "e f", "--x=1", "G=2"]
        );
        assert_eq!(CommandLine::parse("''").unwrap().program, "");
    }

    #[test]
    fn errors() {
        assert!(CommandLine::parse("  ").unwrap_err().contains("no program"));
        assert!(CommandLine::parse("X=1")
            .unwrap_err()
            .contains("no program"));
        assert!(CommandLine::parse("a 'b")
            .unwrap_err()
            .contains("unterminated '"));
        assert!(CommandLine::parse("a \"b")
            .unwrap_err()
            .contains("unterminated \""));
        assert!(CommandLine::parse("a \\").unwrap_err().contains("lone"));
    }
}
