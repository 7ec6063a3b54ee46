//! The ISC command-line tools as independent witnesses: `dig` for zone transfers, `nsupdate`
//! for changes made behind zonesync's back.

use std::io::Write;
use std::process::{Command, Stdio};

use super::TsigKey;

/// One record of a zone transfer, as dig prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneRecord {
    /// Owner name, lower-case, without trailing dot.
    pub name: String,
    /// TTL in seconds.
    pub ttl: u32,
    /// Type mnemonic, upper-case (`A`, `TXT`, …).
    pub record_type: String,
    /// The data in presentation format, as dig prints it (TXT strings keep their quotes).
    pub data: String,
}

impl ZoneRecord {
    /// For TXT records: the character-strings without quotes, concatenated (how zonesync reads
    /// a TXT value). For other types: the data as printed.
    pub fn text(&self) -> String {
        if self.record_type != "TXT" {
            return self.data.clone();
        }
        let mut out = String::new();
        let mut inside = false;
        let mut chars = self.data.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => inside = !inside,
                '\\' if inside => {
                    if let Some(next) = chars.next() {
                        out.push(next);
                    }
                }
                c if inside => out.push(c),
                _ => {}
            }
        }
        out
    }

    /// How many character-strings a TXT record holds (quoted strings dig printed).
    pub fn txt_strings(&self) -> usize {
        let mut count = 0;
        let mut inside = false;
        let mut escaped = false;
        for c in self.data.chars() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    if !inside {
                        count += 1;
                    }
                    inside = !inside;
                }
                _ => {}
            }
        }
        count
    }
}

/// The records of `records` with this owner `name` (no trailing dot, any case) and type.
pub fn find_records<'r>(
    records: &'r [ZoneRecord],
    name: &str,
    record_type: &str,
) -> Vec<&'r ZoneRecord> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    records
        .iter()
        .filter(|r| r.name == name && r.record_type.eq_ignore_ascii_case(record_type))
        .collect()
}

/// The values (RDATA text) of the records of `records` with this owner `name` and type, sorted.
pub fn sorted_values(records: &[ZoneRecord], name: &str, record_type: &str) -> Vec<String> {
    let mut values: Vec<String> = find_records(records, name, record_type)
        .into_iter()
        .map(ZoneRecord::text)
        .collect();
    values.sort();
    values
}

/// Transfers `zone` from `127.0.0.1:<port>` with `dig`, signed with `key` when given.
///
/// Returns every record, the closing SOA removed. Fails when dig cannot run, reports an error,
/// or the transfer is not framed by two SOA records.
pub fn dig_axfr(port: u16, zone: &str, key: Option<&TsigKey>) -> Result<Vec<ZoneRecord>, String> {
    let mut command = Command::new("dig");
    command
        .arg("-p")
        .arg(port.to_string())
        .arg("@127.0.0.1")
        .arg("AXFR")
        .arg(zone)
        .args(["+noall", "+answer", "+time=5", "+tries=1"]);
    if let Some(key) = key {
        command.arg("-y").arg(key.dig_spec());
    }
    let output = command
        .output()
        .map_err(|e| format!("cannot run dig: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() || stdout.contains("Transfer failed") {
        return Err(format!(
            "dig AXFR {zone} failed ({}): {stdout}{stderr}",
            output.status
        ));
    }
    let mut records = Vec::new();
    for line in stdout.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(';') {
            continue;
        }
        records.push(parse_line(line).ok_or_else(|| format!("cannot parse dig line {line:?}"))?);
    }
    let soa_count = records.iter().filter(|r| r.record_type == "SOA").count();
    if soa_count != 2 || records.last().map(|r| r.record_type.as_str()) != Some("SOA") {
        return Err(format!("incomplete transfer of {zone}: {stdout}{stderr}"));
    }
    records.pop();
    Ok(records)
}

fn parse_line(line: &str) -> Option<ZoneRecord> {
    let mut fields = line.split_whitespace();
    let name = fields.next()?.trim_end_matches('.').to_ascii_lowercase();
    let ttl = fields.next()?.parse().ok()?;
    let _class = fields.next()?;
    let record_type = fields.next()?.to_ascii_uppercase();
    let data = fields.collect::<Vec<_>>().join(" ");
    Some(ZoneRecord {
        name,
        ttl,
        record_type,
        data,
    })
}

/// Sends `commands` to `zone` at `127.0.0.1:<port>` as one update with `nsupdate`, signed with
/// `key` when given.
///
/// Fails when nsupdate cannot run or reports an error (the server's rcode is in the message).
pub fn nsupdate(
    port: u16,
    zone: &str,
    key: Option<&TsigKey>,
    commands: &[&str],
) -> Result<(), String> {
    let mut script = format!("server 127.0.0.1 {port}\nzone {zone}\n");
    for command in commands {
        script.push_str(command);
        script.push('\n');
    }
    script.push_str("send\n");
    let mut command = Command::new("nsupdate");
    command.arg("-v"); // TCP
    if let Some(key) = key {
        command.arg("-y").arg(key.dig_spec());
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run nsupdate: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("nsupdate has no stdin")?
        .write_all(script.as_bytes())
        .map_err(|e| format!("cannot write to nsupdate: {e}"))?;
    let output = child
        .wait_with_output()
        .map_err(|e| format!("nsupdate did not finish: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "nsupdate failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dig_lines_and_txt_strings() {
        let record =
            parse_line("a-www.Example.org.\t300\tIN\tTXT\t\"heri\\\"tage\" \"second\"").unwrap();
        assert_eq!(record.name, "a-www.example.org");
        assert_eq!(record.ttl, 300);
        assert_eq!(record.record_type, "TXT");
        assert_eq!(record.text(), "heri\"tagesecond");
        assert_eq!(record.txt_strings(), 2);
    }
}
