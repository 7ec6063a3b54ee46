//! Printing a plan: text for people, JSON for tools, Markdown for pull-request comments.
//!
//! All three render the same [`Plan`] that `sync` applies.

use std::fmt::Write as _;

use serde::Serialize;
use zonesync_core::{Change, Endpoint, UpdateField};

use crate::plan::{Conflict, Counts, KeptRecord, Plan};
use crate::source::SkippedInput;

/// Output formats of `--output`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// One line per change, grouped by zone.
    #[default]
    Text,
    /// A stable JSON document (schema in the README).
    Json,
    /// A Markdown table.
    Markdown,
}

/// Version of the JSON document; bumped on any incompatible change.
pub const JSON_SCHEMA_VERSION: u32 = 1;

/// Renders `plan` in `format`; `color` adds ANSI colours to text output.
pub fn render(plan: &Plan, format: OutputFormat, color: bool) -> String {
    match format {
        OutputFormat::Text => text(plan, color),
        OutputFormat::Json => json(plan),
        OutputFormat::Markdown => markdown(plan),
    }
}

/// The summary line: `Plan: 3 to create, 1 to update, 0 to delete.`
pub fn summary(counts: Counts) -> String {
    format!(
        "Plan: {} to create, {} to update, {} to delete.",
        counts.create, counts.update, counts.delete
    )
}

struct Palette {
    green: &'static str,
    yellow: &'static str,
    red: &'static str,
    bold: &'static str,
    dim: &'static str,
    reset: &'static str,
}

const COLOR: Palette = Palette {
    green: "\x1b[32m",
    yellow: "\x1b[33m",
    red: "\x1b[31m",
    bold: "\x1b[1m",
    dim: "\x1b[2m",
    reset: "\x1b[0m",
};

const PLAIN: Palette = Palette {
    green: "",
    yellow: "",
    red: "",
    bold: "",
    dim: "",
    reset: "",
};

fn values(endpoint: &Endpoint) -> String {
    if endpoint.targets.is_empty() {
        return "(no value)".to_string();
    }
    endpoint.targets.as_slice().join(",")
}

fn heading(endpoint: &Endpoint) -> String {
    let mut text = format!("{} {}", endpoint.name, endpoint.record_type);
    if endpoint.is_alias() {
        text.push_str(" ALIAS");
    }
    if let Some(set_identifier) = &endpoint.set_identifier {
        let _ = write!(text, " [{set_identifier}]");
    }
    text
}

/// Provider properties other than the alias flag, as `{aws/weight=10}`.
fn properties(endpoint: &Endpoint) -> String {
    let shown: Vec<String> = endpoint
        .properties
        .iter()
        .filter(|(key, _)| key.as_str() != "alias")
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    if shown.is_empty() {
        String::new()
    } else {
        format!(" {{{}}}", shown.join(", "))
    }
}

fn ttl(endpoint: &Endpoint) -> String {
    endpoint
        .ttl
        .map(|t| format!("ttl {t}"))
        .unwrap_or_else(|| "ttl default".to_string())
}

fn nonempty(text: String) -> String {
    if text.is_empty() {
        " {}".to_string()
    } else {
        text
    }
}

/// The old → new description of an update, field by field.
fn update_detail(old: &Endpoint, new: &Endpoint) -> String {
    let fields = zonesync_core::differences(old, new);
    let mut parts = Vec::new();
    for field in fields {
        parts.push(match field {
            UpdateField::Targets => format!("{} → {}", values(old), values(new)),
            UpdateField::Ttl => format!(
                "ttl {} → {}",
                old.ttl.map_or("-".into(), |t| t.to_string()),
                new.ttl.map_or("-".into(), |t| t.to_string())
            ),
            UpdateField::Properties => format!(
                "properties{} →{}",
                nonempty(properties(old)),
                nonempty(properties(new))
            ),
            UpdateField::Resource => format!(
                "claimed by {} → {}",
                old.resource().unwrap_or("?"),
                new.resource().unwrap_or("?")
            ),
        });
    }
    parts.join(", ")
}

fn change_line(out: &mut String, change: &Change, p: &Palette) {
    let _ = match change {
        Change::Create { record } => writeln!(
            out,
            "  {}+ {} {} ({}){}{}  {}← {}{}",
            p.green,
            heading(record),
            values(record),
            ttl(record),
            properties(record),
            p.reset,
            p.dim,
            record.resource().unwrap_or("?"),
            p.reset
        ),
        Change::Update { old, new } => writeln!(
            out,
            "  {}~ {} {}{}  {}← {}{}",
            p.yellow,
            heading(new),
            update_detail(old, new),
            p.reset,
            p.dim,
            new.resource().unwrap_or("?"),
            p.reset
        ),
        Change::Delete { old, reason } => writeln!(
            out,
            "  {}- {} {}{}  {}({reason}){}",
            p.red,
            heading(old),
            values(old),
            p.reset,
            p.dim,
            p.reset
        ),
    };
}

fn text(plan: &Plan, color: bool) -> String {
    let p = if color { &COLOR } else { &PLAIN };
    let mut out = String::new();
    for zone in &plan.zones {
        if zone.rows.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{}Zone {}{}", p.bold, zone.zone.name, p.reset);
        for row in &zone.rows {
            for change in &row.changes {
                change_line(&mut out, change, p);
            }
            if row.changes.is_empty() {
                for marker in &row.markers {
                    if let Change::Delete { old, reason } = marker {
                        let _ = writeln!(
                            out,
                            "  {}- {}{}  {}({reason}){}",
                            p.red,
                            heading(old),
                            p.reset,
                            p.dim,
                            p.reset
                        );
                    }
                }
            }
        }
        out.push('\n');
    }
    if !plan.refusals.is_empty() {
        let _ = writeln!(
            out,
            "{}Held back by the safety thresholds:{}",
            p.bold, p.reset
        );
        for refusal in &plan.refusals {
            let _ = writeln!(out, "  {}!{} {refusal}", p.red, p.reset);
        }
        for change in &plan.held_back {
            change_line(&mut out, change, p);
        }
        out.push('\n');
    }
    if !plan.conflicts.is_empty() {
        let _ = writeln!(out, "{}Conflicts:{}", p.bold, p.reset);
        for conflict in &plan.conflicts {
            let _ = writeln!(out, "  {}!{} {conflict}", p.yellow, p.reset);
        }
        out.push('\n');
    }
    if !plan.skipped.is_empty() {
        let _ = writeln!(out, "{}Skipped input:{}", p.bold, p.reset);
        for skipped in &plan.skipped {
            let _ = writeln!(out, "  {}?{} {skipped}", p.yellow, p.reset);
        }
        out.push('\n');
    }
    if !plan.kept.is_empty() {
        let _ = writeln!(
            out,
            "{}Kept (their object was skipped for bad input, or has no address yet):{}",
            p.bold, p.reset
        );
        for kept in &plan.kept {
            let _ = writeln!(out, "  = {} ({})", kept.record, kept.resource);
        }
        out.push('\n');
    }
    if !plan.has_changes() && plan.held_back.is_empty() {
        out.push_str("No changes. DNS is up to date.\n");
    } else {
        let _ = writeln!(out, "{}{}{}", p.bold, summary_of(plan), p.reset);
    }
    out
}

/// The summary line, with held-back changes when there are any.
fn summary_of(plan: &Plan) -> String {
    let line = summary(plan.counts());
    if plan.held_back.is_empty() {
        line
    } else {
        format!(
            "{} ({} held back by the safety thresholds.)",
            line.trim_end_matches('.'),
            plan.held_back.len()
        )
    }
}

/// One record in JSON.
#[derive(Serialize)]
struct JsonRecord<'a> {
    ttl: Option<u32>,
    targets: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<&'a str>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    properties: &'a zonesync_core::Properties,
}

impl<'a> From<&'a Endpoint> for JsonRecord<'a> {
    fn from(endpoint: &'a Endpoint) -> Self {
        Self {
            ttl: endpoint.ttl,
            targets: endpoint.targets.as_slice(),
            resource: endpoint.resource(),
            properties: &endpoint.properties,
        }
    }
}

#[derive(Serialize)]
struct JsonReason {
    #[serde(flatten)]
    reason: zonesync_core::DeleteReason,
    message: String,
}

#[derive(Serialize)]
struct JsonChange<'a> {
    action: &'static str,
    name: &'a str,
    #[serde(rename = "type")]
    record_type: &'a str,
    set_identifier: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    old: Option<JsonRecord<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new: Option<JsonRecord<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<UpdateField>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<JsonReason>,
}

impl<'a> From<&'a Change> for JsonChange<'a> {
    fn from(change: &'a Change) -> Self {
        let record = change.record();
        let (old, new, reason) = match change {
            Change::Create { record } => (None, Some(record.into()), None),
            Change::Update { old, new } => (Some(old.into()), Some(new.into()), None),
            Change::Delete { old, reason } => (
                Some(old.into()),
                None,
                Some(JsonReason {
                    reason: reason.clone(),
                    message: reason.to_string(),
                }),
            ),
        };
        Self {
            action: change.action(),
            name: record.name.as_str(),
            record_type: record.record_type.as_str(),
            set_identifier: record.set_identifier.as_deref(),
            old,
            new,
            fields: change.updated_fields(),
            reason,
        }
    }
}

#[derive(Serialize)]
struct JsonZone<'a> {
    zone: &'a str,
    id: &'a str,
    changes: Vec<JsonChange<'a>>,
    markers: Vec<JsonChange<'a>>,
}

#[derive(Serialize)]
struct JsonConflict<'a> {
    #[serde(flatten)]
    conflict: &'a Conflict,
    message: String,
}

#[derive(Serialize)]
struct JsonRefusal<'a> {
    #[serde(flatten)]
    refusal: &'a crate::safety::Refusal,
    message: String,
}

#[derive(Serialize)]
struct JsonPlan<'a> {
    version: u32,
    has_changes: bool,
    summary: Counts,
    zones: Vec<JsonZone<'a>>,
    conflicts: Vec<JsonConflict<'a>>,
    skipped: &'a [SkippedInput],
    kept: &'a [KeptRecord],
    refused: Vec<JsonRefusal<'a>>,
    held_back: Vec<JsonChange<'a>>,
}

fn json(plan: &Plan) -> String {
    let document = JsonPlan {
        version: JSON_SCHEMA_VERSION,
        has_changes: plan.has_changes(),
        summary: plan.counts(),
        zones: plan
            .zones
            .iter()
            .map(|zone| JsonZone {
                zone: zone.zone.name.as_str(),
                id: &zone.zone.id,
                changes: zone.changes().map(JsonChange::from).collect(),
                markers: zone
                    .rows
                    .iter()
                    .flat_map(|r| r.markers.iter())
                    .map(JsonChange::from)
                    .collect(),
            })
            .collect(),
        conflicts: plan
            .conflicts
            .iter()
            .map(|conflict| JsonConflict {
                conflict,
                message: conflict.to_string(),
            })
            .collect(),
        skipped: &plan.skipped,
        kept: &plan.kept,
        refused: plan
            .refusals
            .iter()
            .map(|refusal| JsonRefusal {
                refusal,
                message: refusal.to_string(),
            })
            .collect(),
        held_back: plan.held_back.iter().map(JsonChange::from).collect(),
    };
    let mut text = serde_json::to_string_pretty(&document)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise plan: {e}\"}}"));
    text.push('\n');
    text
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### zonesync plan\n");
    if plan.has_changes() {
        let _ = writeln!(out, "| | Zone | Record | Change | Why |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        for zone in &plan.zones {
            for row in &zone.rows {
                let orphan_markers = row.changes.is_empty().then_some(&row.markers);
                for change in row
                    .changes
                    .iter()
                    .chain(orphan_markers.into_iter().flatten())
                {
                    let record = change.record();
                    let (symbol, detail, why) = match change {
                        Change::Create { record } => (
                            "➕",
                            format!("{} ({})", values(record), ttl(record)),
                            format!("wanted by `{}`", record.resource().unwrap_or("?")),
                        ),
                        Change::Update { old, new } => (
                            "✏️",
                            update_detail(old, new),
                            format!("wanted by `{}`", new.resource().unwrap_or("?")),
                        ),
                        Change::Delete { old, reason } => ("➖", values(old), reason.to_string()),
                    };
                    let _ = writeln!(
                        out,
                        "| {symbol} | {} | `{}` | {} | {} |",
                        cell(zone.zone.name.as_str()),
                        cell(&heading(record)),
                        cell(&detail),
                        cell(&why)
                    );
                }
            }
        }
        out.push('\n');
    } else {
        out.push_str("No changes. DNS is up to date.\n\n");
    }
    if !plan.refusals.is_empty() {
        out.push_str("**Held back by the safety thresholds**\n\n");
        for refusal in &plan.refusals {
            let _ = writeln!(out, "- {}", cell(&refusal.to_string()));
        }
        for change in &plan.held_back {
            let _ = writeln!(
                out,
                "- `{}` {}",
                change.action(),
                cell(&change.key().to_string())
            );
        }
        out.push('\n');
    }
    if !plan.conflicts.is_empty() {
        out.push_str("**Conflicts**\n\n");
        for conflict in &plan.conflicts {
            let _ = writeln!(out, "- {}", cell(&conflict.to_string()));
        }
        out.push('\n');
    }
    if !plan.skipped.is_empty() {
        out.push_str("**Skipped input**\n\n");
        for skipped in &plan.skipped {
            let _ = writeln!(out, "- {}", cell(&skipped.to_string()));
        }
        out.push('\n');
    }
    if !plan.kept.is_empty() {
        out.push_str(
            "**Kept (their object was skipped for bad input, or has no address yet)**\n\n",
        );
        for kept in &plan.kept {
            let _ = writeln!(out, "- `{}` ({})", kept.record, kept.resource);
        }
        out.push('\n');
    }
    let _ = writeln!(out, "**{}**", summary_of(plan));
    out
}
