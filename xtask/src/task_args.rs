//! The options xtask's benchmarks and runs take (`--rounds N`, `--seconds S`, `--threads
//! 1,2`), parsed in one place; each task says which it accepts and its defaults.

use crate::Result;

/// Parsed task options.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TaskArgs {
    /// `--rounds N`: how many times each measurement is repeated.
    pub(crate) rounds: usize,
    /// `--seconds S`: how long each measurement (or run) lasts.
    pub(crate) seconds: f64,
    /// `--threads 1,2`: the server thread counts to measure.
    pub(crate) threads: Vec<usize>,
    /// Words that are not options (fuzz target names).
    pub(crate) rest: Vec<String>,
}

impl TaskArgs {
    /// Defaults for a task.
    pub(crate) fn defaults(rounds: usize, seconds: f64) -> TaskArgs {
        TaskArgs {
            rounds,
            seconds,
            threads: vec![1, 2],
            rest: Vec::new(),
        }
    }

    /// Parse `args`, accepting only the options named in `accepted` (and plain words when
    /// `words` is true).
    pub(crate) fn parse(
        mut self,
        args: &[String],
        accepted: &[&str],
        words: bool,
    ) -> Result<TaskArgs> {
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            let option = arg.as_str();
            if !option.starts_with("--") && words {
                self.rest.push(arg.clone());
                continue;
            }
            if !accepted.contains(&option) {
                return Err(format!(
                    "unknown option {option}; this task takes {}",
                    accepted.join(", ")
                ));
            }
            let value = iter
                .next()
                .ok_or_else(|| format!("{option} needs a value"))?;
            let bad = || format!("{option} {value}: not a valid value");
            match option {
                "--rounds" => self.rounds = value.parse().map_err(|_| bad())?,
                "--seconds" => self.seconds = value.parse().map_err(|_| bad())?,
                "--threads" => {
                    self.threads = value
                        .split(',')
                        .map(|t| t.parse())
                        .collect::<std::result::Result<_, _>>()
                        .map_err(|_| bad())?;
                    if self.threads.is_empty() {
                        return Err(bad());
                    }
                }
                _ => return Err(bad()),
            }
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_and_refusals() {
        let parsed = TaskArgs::defaults(3, 2.0)
            .parse(
                &args(&["--rounds", "5", "--threads", "1,4"]),
                &["--rounds", "--threads"],
                false,
            )
            .expect("valid");
        assert_eq!(
            (parsed.rounds, parsed.seconds, parsed.threads),
            (5, 2.0, vec![1, 4])
        );
        assert!(TaskArgs::defaults(3, 2.0)
            .parse(&args(&["--seconds", "1"]), &["--rounds"], false)
            .is_err());
        assert!(TaskArgs::defaults(3, 2.0)
            .parse(&args(&["--rounds", "x"]), &["--rounds"], false)
            .is_err());
        let fuzz = TaskArgs::defaults(1, 60.0)
            .parse(
                &args(&["connection", "--seconds", "9"]),
                &["--seconds"],
                true,
            )
            .expect("valid");
        assert_eq!(
            (fuzz.rest, fuzz.seconds),
            (vec!["connection".to_string()], 9.0)
        );
    }
}
