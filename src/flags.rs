//! The flags of one command as given: each flag's value and where it came from (the command
//! line, a `ZONESYNC_…` environment variable, or the default).
//!
//! Read from clap's matches over the command's own argument list, so a new flag appears here
//! without code of its own. `--check-config` prints it; error messages use it to name the
//! environment variable behind a flag they mention.

use std::fmt::Write as _;

use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, Command};
use serde::Serialize;

/// Flags whose values are secrets, by argument id, beyond those the naming rule in
/// [`is_secret`] catches. Their values are never printed.
pub const SECRET_FLAGS: &[&str] = &["rfc2136_tsig_secret"];

/// What `--check-config` prints instead of a secret value.
pub const REDACTED: &str = "(redacted)";

/// True when the flag with this id holds a secret: listed in [`SECRET_FLAGS`], or named like
/// one (`…-secret`, `…-key`, `…-password`, `…-token`).
pub fn is_secret(id: &str) -> bool {
    SECRET_FLAGS.contains(&id)
        || ["_secret", "_key", "_password", "_token"]
            .iter()
            .any(|suffix| id.ends_with(suffix))
}

/// clap's heading for flags declared without one.
const GENERAL_HEADING: &str = "Options";

/// Where a flag's value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Given on the command line.
    Flag,
    /// Read from its `ZONESYNC_…` environment variable.
    Environment,
    /// Not given: the default.
    Default,
}

/// One flag of the effective configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FlagValue {
    /// The flag as typed, `--source`.
    pub flag: String,
    /// Its values (one for single-valued flags); [`REDACTED`] for secrets.
    pub values: Vec<String>,
    /// Whether the flag takes a list.
    #[serde(skip)]
    pub list: bool,
    /// Where the value came from.
    pub origin: Origin,
    /// The environment variable that can set it.
    pub env: Option<String>,
    /// The `--help` section it is listed under.
    pub heading: String,
}

impl FlagValue {
    /// The values as typed on a command line: comma-separated, `""` for an empty string.
    pub fn display_value(&self) -> String {
        let joined = self.values.join(",");
        if joined.is_empty() {
            "\"\"".to_string()
        } else {
            joined
        }
    }

    /// Where the value came from, for people: `flag`, `environment (ZONESYNC_X)`, `default`.
    pub fn display_origin(&self) -> String {
        match (self.origin, &self.env) {
            (Origin::Flag, _) => "flag".into(),
            (Origin::Environment, Some(env)) => format!("environment ({env})"),
            (Origin::Environment, None) => "environment".into(),
            (Origin::Default, _) => "default".into(),
        }
    }
}

/// The flags of the command being run, as given.
#[derive(Clone, Debug, Default)]
pub struct GivenFlags {
    /// The subcommand's name (`plan`, `sync`, `run`).
    command: String,
    /// Every flag that has a value, in `--help` order.
    values: Vec<FlagValue>,
    /// `--long` name and environment variable of every flag set from the environment.
    from_environment: Vec<(String, String)>,
}

impl GivenFlags {
    /// Reads the subcommand's flags from `matches`, parsed with `command`.
    pub fn new(command: &Command, matches: &ArgMatches) -> Self {
        let Some((name, sub_matches)) = matches.subcommand() else {
            return Self::default();
        };
        let Some(sub_command) = command.find_subcommand(name) else {
            return Self::default();
        };
        let mut given = Self {
            command: name.to_string(),
            ..Self::default()
        };
        // `--help` order (an argument a command adjusted is stored last but keeps its place).
        let mut args: Vec<_> = sub_command.get_arguments().collect();
        args.sort_by_key(|arg| arg.get_display_order());
        for arg in args {
            let id = arg.get_id().as_str();
            let Some(long) = arg.get_long() else { continue };
            if matches!(arg.get_action(), ArgAction::Help | ArgAction::Version) {
                continue;
            }
            let origin = match sub_matches.value_source(id) {
                Some(ValueSource::CommandLine) => Origin::Flag,
                Some(ValueSource::EnvVariable) => Origin::Environment,
                Some(ValueSource::DefaultValue) => Origin::Default,
                _ => continue,
            };
            // Hidden flags (accepted for compatibility, without effect) only when given.
            if arg.is_hide_set() && origin == Origin::Default {
                continue;
            }
            let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
            if let (Origin::Environment, Some(env)) = (origin, &env) {
                given
                    .from_environment
                    .push((format!("--{long}"), env.clone()));
            }
            let raw: Vec<String> = sub_matches
                .try_get_raw(id)
                .ok()
                .flatten()
                .map(|values| values.map(|v| v.to_string_lossy().into_owned()).collect())
                .unwrap_or_default();
            let secret = is_secret(id) || arg.is_hide_env_values_set();
            given.values.push(FlagValue {
                flag: format!("--{long}"),
                values: if secret {
                    vec![REDACTED.to_string()]
                } else {
                    raw
                },
                list: matches!(arg.get_action(), ArgAction::Append),
                origin,
                env,
                heading: arg
                    .get_help_heading()
                    .unwrap_or(GENERAL_HEADING)
                    .to_string(),
            });
        }
        given
    }

    /// The subcommand's name.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Every flag that has a value, in `--help` order.
    pub fn values(&self) -> &[FlagValue] {
        &self.values
    }

    /// One line per flag named in `message` whose value came from the environment, saying
    /// which variable set it: the message names flags, the operator may have set variables.
    pub fn environment_notes(&self, message: &str) -> Vec<String> {
        self.from_environment
            .iter()
            .filter(|(flag, _)| mentions(message, flag))
            .map(|(flag, env)| format!("{flag} was set by the environment variable {env}"))
            .collect()
    }

    /// The effective configuration for people: one line per flag (flag, value, origin),
    /// grouped under the `--help` headings.
    pub fn render_text(&self) -> String {
        let flag_width = self.values.iter().map(|v| v.flag.len()).max().unwrap_or(0);
        // Long values (paths, lists) push their own origin out rather than every other one.
        let value_width = self
            .values
            .iter()
            .map(|v| v.display_value().chars().count())
            .max()
            .unwrap_or(0)
            .min(24);
        let mut out = format!(
            "The configuration is valid. zonesync {} would run with:\n",
            self.command
        );
        for heading in self.headings() {
            let mut values = self
                .values
                .iter()
                .filter(|v| v.heading == heading)
                .peekable();
            if values.peek().is_none() {
                continue;
            }
            let _ = write!(out, "\n{heading}\n");
            for value in values {
                let shown = value.display_value();
                let padding = value_width.saturating_sub(shown.chars().count());
                let _ = writeln!(
                    out,
                    "  {:<flag_width$}  {shown}{:padding$}  {}",
                    value.flag,
                    "",
                    value.display_origin(),
                );
            }
        }
        out
    }

    /// The effective configuration as JSON: `{"valid", "command", "flags": [{"flag", "value",
    /// "origin", "env", "heading"}]}`; `value` is a list for list flags.
    pub fn render_json(&self) -> String {
        let flags: Vec<serde_json::Value> = self
            .values
            .iter()
            .map(|v| {
                let value = if v.list {
                    serde_json::json!(v.values)
                } else {
                    serde_json::json!(v.values.join(","))
                };
                serde_json::json!({
                    "flag": v.flag,
                    "value": value,
                    "origin": v.origin,
                    "env": v.env,
                    "heading": v.heading,
                })
            })
            .collect();
        let document = serde_json::json!({
            "valid": true,
            "command": self.command,
            "flags": flags,
        });
        let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The headings in `--help` order: the general one first, then as declared.
    fn headings(&self) -> Vec<&str> {
        let mut headings: Vec<&str> = vec![GENERAL_HEADING];
        for value in &self.values {
            if !headings.contains(&value.heading.as_str()) {
                headings.push(&value.heading);
            }
        }
        headings
    }
}

/// True when `message` holds `flag` as a whole word (`--source`, not `--source-x`).
fn mentions(message: &str, flag: &str) -> bool {
    message.match_indices(flag).any(|(at, _)| {
        message[at + flag.len()..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-'))
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;
    use crate::cli::Cli;

    fn given(args: &[&str]) -> GivenFlags {
        let mut command = Cli::command();
        let matches = command
            .try_get_matches_from_mut(args)
            .expect("valid arguments");
        GivenFlags::new(&command, &matches)
    }

    #[test]
    fn every_flag_with_a_value_is_listed_with_its_origin() {
        let given = given(&[
            "zonesync",
            "plan",
            "--source",
            "manifest",
            "--manifest",
            "a,b",
            "--provider",
            "rfc2136",
            "--rfc2136-tsig-secret",
            "c2VjcmV0",
        ]);
        let find = |flag: &str| given.values().iter().find(|v| v.flag == flag).cloned();
        let manifest = find("--manifest").expect("--manifest listed");
        assert_eq!(manifest.values, ["a", "b"]);
        assert!(manifest.list);
        assert_eq!(manifest.origin, Origin::Flag);
        let policy = find("--policy").expect("defaults are listed");
        assert_eq!(
            (policy.values.as_slice(), policy.origin),
            (&["sync".to_string()][..], Origin::Default)
        );
        assert_eq!(find("--rfc2136-tsig-secret").unwrap().values, [REDACTED]);
        assert!(find("--namespace").is_none(), "unset flags are left out");
        assert!(find("--help").is_none());
    }

    #[test]
    fn secrets_are_recognised_by_list_and_name() {
        for id in [
            "rfc2136_tsig_secret",
            "txt_encrypt_aes_key",
            "webhook_token",
        ] {
            assert!(is_secret(id), "{id}");
        }
        for id in [
            "rfc2136_tsig_secret_file",
            "rfc2136_tsig_keyname",
            "txt_owner_id",
        ] {
            assert!(!is_secret(id), "{id}");
        }
    }

    #[test]
    fn flags_are_mentioned_as_whole_words() {
        assert!(mentions("--source manifest needs", "--source"));
        assert!(mentions("bad --source", "--source"));
        assert!(!mentions("--source-x", "--source"));
    }
}
