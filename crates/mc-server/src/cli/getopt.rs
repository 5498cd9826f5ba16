//! A `getopt_long` that behaves as glibc's does for memcached's option string: short options
//! may be clustered (`-vvd`) and take their value attached or as the next word (`-p11211`,
//! `-p 11211`), long options take `--name=value` or `--name value` and may be abbreviated to
//! any unambiguous prefix, words that are not options are set aside (memcached ignores them),
//! and `--` ends the options. Errors read as glibc's, followed by memcached's own line.

use super::CliError;

/// Whether an option takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arg {
    No,
    Required,
    /// Only as `--name=value` (memcached's `--verbose`).
    Optional,
}

/// One option of the command line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Opt {
    pub(crate) short: char,
    pub(crate) long: &'static str,
    pub(crate) arg: Arg,
}

/// An option met on the command line, with its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) short: char,
    pub(crate) value: Option<String>,
}

/// What memcached prints after any of getopt's complaints, and its exit status.
fn illegal(program: &str, complaint: String) -> CliError {
    CliError::new(format!("{program}: {complaint}\nIllegal argument \"?\""), 1)
}

/// A command line split up.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// The options before the first error, in order.
    pub(crate) found: Vec<Found>,
    /// Words that are not options.
    pub(crate) operands: Vec<String>,
    /// getopt's complaint, if any. memcached acts on every option before it (a `-h` or `-V`
    /// earlier on the line still prints and exits 0), so the caller reports it only after
    /// handling `found`.
    pub(crate) error: Option<CliError>,
}

/// Split `args` (without the program name) into options, in order, and the other words.
pub(crate) fn scan(options: &[Opt], program: &str, args: &[String]) -> Scan {
    let mut found = Vec::new();
    let mut operands = Vec::new();
    match scan_into(options, program, args, &mut found, &mut operands) {
        Ok(()) => Scan {
            found,
            operands,
            error: None,
        },
        Err(error) => Scan {
            found,
            operands,
            error: Some(error),
        },
    }
}

fn scan_into(
    options: &[Opt],
    program: &str,
    args: &[String],
    found: &mut Vec<Found>,
    operands: &mut Vec<String>,
) -> Result<(), CliError> {
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            operands.extend(args[i..].iter().cloned());
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            // `-D` has no long name: an empty name must match nothing, not everything.
            let named = options.iter().filter(|o| !o.long.is_empty());
            let exact = named.clone().find(|o| o.long == name);
            let opt = match exact {
                Some(opt) => *opt,
                None => {
                    let candidates: Vec<&Opt> =
                        named.filter(|o| o.long.starts_with(name)).collect();
                    match candidates.as_slice() {
                        [one] => **one,
                        [] => return Err(illegal(program, format!("unrecognized option '{arg}'"))),
                        many => {
                            let names: Vec<String> =
                                many.iter().map(|o| format!("'--{}'", o.long)).collect();
                            return Err(illegal(
                                program,
                                format!(
                                    "option '--{name}' is ambiguous; possibilities: {}",
                                    names.join(" ")
                                ),
                            ));
                        }
                    }
                }
            };
            let value = match (opt.arg, attached) {
                (Arg::No, Some(_)) => {
                    return Err(illegal(
                        program,
                        format!("option '--{}' doesn't allow an argument", opt.long),
                    ))
                }
                (Arg::No, None) => None,
                (Arg::Optional, v) => v,
                (Arg::Required, Some(v)) => Some(v),
                (Arg::Required, None) => match args.get(i) {
                    Some(v) => {
                        i += 1;
                        Some(v.clone())
                    }
                    None => {
                        return Err(illegal(
                            program,
                            format!("option '--{}' requires an argument", opt.long),
                        ))
                    }
                },
            };
            found.push(Found {
                short: opt.short,
                value,
            });
            continue;
        }
        let Some(cluster) = arg.strip_prefix('-').filter(|c| !c.is_empty()) else {
            operands.push(arg.clone());
            continue;
        };
        let chars = cluster.char_indices();
        for (at, c) in chars {
            let Some(opt) = options.iter().find(|o| o.short == c) else {
                return Err(illegal(program, format!("invalid option -- '{c}'")));
            };
            match opt.arg {
                Arg::No | Arg::Optional => found.push(Found {
                    short: c,
                    value: None,
                }),
                Arg::Required => {
                    let rest = &cluster[at + c.len_utf8()..];
                    let value = if !rest.is_empty() {
                        rest.to_string()
                    } else if let Some(v) = args.get(i) {
                        i += 1;
                        v.clone()
                    } else {
                        return Err(illegal(
                            program,
                            format!("option requires an argument -- '{c}'"),
                        ));
                    };
                    found.push(Found {
                        short: c,
                        value: Some(value),
                    });
                    break;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTS: &[Opt] = &[
        Opt {
            short: 'p',
            long: "port",
            arg: Arg::Required,
        },
        Opt {
            short: 'v',
            long: "verbose",
            arg: Arg::Optional,
        },
        Opt {
            short: 'd',
            long: "daemon",
            arg: Arg::No,
        },
        Opt {
            short: 'm',
            long: "memory-limit",
            arg: Arg::Required,
        },
        Opt {
            short: 'M',
            long: "disable-evictions",
            arg: Arg::No,
        },
    ];

    fn run(words: &[&str]) -> Result<(Vec<Found>, Vec<String>), CliError> {
        let args: Vec<String> = words.iter().map(|s| s.to_string()).collect();
        let scan = scan(OPTS, "mc-server", &args);
        match scan.error {
            Some(error) => Err(error),
            None => Ok((scan.found, scan.operands)),
        }
    }

    fn f(short: char, value: Option<&str>) -> Found {
        Found {
            short,
            value: value.map(str::to_string),
        }
    }

    #[test]
    fn forms_glibc_accepts() {
        let (found, operands) =
            run(&["-vvd", "-p11211", "--mem=64", "--port", "1", "x"]).expect("ok");
        assert_eq!(
            found,
            vec![
                f('v', None),
                f('v', None),
                f('d', None),
                f('p', Some("11211")),
                f('m', Some("64")),
                f('p', Some("1"))
            ]
        );
        assert_eq!(operands, vec!["x"]);
        let (found, _) = run(&["--verbose", "--verbose=2"]).expect("ok");
        assert_eq!(found, vec![f('v', None), f('v', Some("2"))]);
    }

    #[test]
    fn complaints_read_as_glibcs() {
        let message = |words: &[&str]| run(words).expect_err("an error").message;
        assert_eq!(
            message(&["-x"]),
            "mc-server: invalid option -- 'x'\nIllegal argument \"?\""
        );
        assert_eq!(
            message(&["-p"]),
            "mc-server: option requires an argument -- 'p'\nIllegal argument \"?\""
        );
        assert_eq!(
            message(&["--bogus"]),
            "mc-server: unrecognized option '--bogus'\nIllegal argument \"?\""
        );
        assert_eq!(
            message(&["--daemon=1"]),
            "mc-server: option '--daemon' doesn't allow an argument\nIllegal argument \"?\""
        );
        assert!(message(&["--d"]).contains("is ambiguous"));
        assert_eq!(run(&["-x"]).expect_err("error").code, 1);
    }

    #[test]
    fn options_before_an_error_are_kept() {
        let args: Vec<String> = ["-d", "-x", "-M"].iter().map(|s| s.to_string()).collect();
        let scan = scan(OPTS, "mc-server", &args);
        assert_eq!(scan.found, vec![f('d', None)]);
        assert!(scan.error.is_some());
        // An empty prefix matches no option with an empty long name.
        assert!(run(&["--"]).is_ok());
    }
}
