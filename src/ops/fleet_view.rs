//! The fleet view (docs/fleets.md#the-fleet-view): `list`, `outdated` and `status`
//! over several clusters as a matrix, one row per installation name and one column
//! per cluster, each cell the installed version, the update its constraint allows and
//! the files changed by hand, in a compact ASCII notation ([`cell_text`]).
use crate::tracking::{Drift, UpdateInfo, UpdateState};
use serde::Serialize;
use std::collections::BTreeMap;

/// What the table's notation means, printed on stderr under it.
pub const LEGEND: &str = "legend: VERSION [->WANTED: update its constraint allows] [^LATEST: newer outside the constraint] [?: upstream not readable] [*N: N file(s) changed by hand]; -: not in that cluster";

/// One installation in one cluster.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cell {
    /// The installed version (or branch/short commit).
    pub version: String,
    /// The newest version the constraint allows, when newer than `version`.
    pub update: Option<String>,
    /// The newest version in the channels, whatever the constraint.
    pub latest: Option<String>,
    /// `up to date`, `update available`, `newer outside constraint`, `not versioned`
    /// or `unknown`.
    pub state: String,
    /// Files added, removed or edited by hand since pctl wrote them.
    pub drift: Drift,
    pub profile: String,
    pub path: String,
}

impl Cell {
    pub fn new(
        version: String,
        info: &UpdateInfo,
        drift: Drift,
        profile: String,
        path: String,
    ) -> Cell {
        Cell {
            version,
            update: info.behind().then(|| info.wanted.clone()).flatten(),
            latest: info.latest.clone(),
            state: info.state.as_str().to_string(),
            drift,
            profile,
            path,
        }
    }
}

/// One installation name and its cells, by cluster (a cluster without it has no key).
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub name: String,
    pub clusters: BTreeMap<String, Cell>,
}

/// The fleet view: the chosen clusters (columns) and the installations (rows).
#[derive(Debug, Clone, Serialize)]
pub struct Matrix {
    pub clusters: Vec<String>,
    pub installations: Vec<Row>,
}

impl Matrix {
    /// Rows from (cluster, installation name, cell), sorted by name; `clusters` are
    /// the columns in the order given (every chosen cluster, even an empty one).
    pub fn build(clusters: Vec<String>, entries: Vec<(String, String, Cell)>) -> Matrix {
        let mut rows: BTreeMap<String, BTreeMap<String, Cell>> = BTreeMap::new();
        for (cluster, name, cell) in entries {
            rows.entry(name).or_default().insert(cluster, cell);
        }
        Matrix {
            clusters,
            installations: rows
                .into_iter()
                .map(|(name, clusters)| Row { name, clusters })
                .collect(),
        }
    }

    /// The table: `NAME` then one column per cluster (upper case headers are the
    /// cluster names as they are: they are the user's own).
    pub fn table(&self) -> String {
        let mut headers = vec!["NAME"];
        headers.extend(self.clusters.iter().map(String::as_str));
        let rows: Vec<Vec<String>> = self
            .installations
            .iter()
            .map(|r| {
                std::iter::once(r.name.clone())
                    .chain(
                        self.clusters
                            .iter()
                            .map(|c| r.clusters.get(c).map_or_else(|| "-".into(), cell_text)),
                    )
                    .collect()
            })
            .collect();
        crate::printer::format_table(&headers, &rows)
    }
}

/// The clusters a command chose, in the config's order: the matrix's columns.
pub fn columns(
    config: &crate::gitops::Config,
    sel: &crate::gitops::clusters::Selection,
    repo: &str,
) -> anyhow::Result<Vec<String>> {
    Ok(crate::gitops::clusters::select(config, sel, repo)?
        .into_iter()
        .map(|c| c.name)
        .collect())
}

/// A cell in the table: `1.2.0`, `1.2.0 ->1.3.0`, `1.2.0 ^2.0.0` (newer only outside
/// the constraint), `1.2.0 ?` (upstream not readable), each followed by ` *N` when N
/// files were changed by hand.
pub fn cell_text(c: &Cell) -> String {
    let mut out = c.version.clone();
    if let Some(u) = &c.update {
        out.push_str(&format!(" ->{u}"));
    } else if c.state == UpdateState::NewerOutsideConstraint.as_str() {
        if let Some(l) = &c.latest {
            out.push_str(&format!(" ^{l}"));
        }
    } else if c.state == UpdateState::Unknown.as_str() {
        out.push_str(" ?");
    }
    if !c.drift.is_empty() {
        out.push_str(&format!(" *{}", c.drift.count()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(state: UpdateState, wanted: Option<&str>, latest: Option<&str>) -> UpdateInfo {
        UpdateInfo {
            current: "1.2.0".into(),
            constraint: "^1.0".into(),
            wanted: wanted.map(str::to_string),
            latest: latest.map(str::to_string),
            state,
            error: None,
        }
    }

    fn cell(i: &UpdateInfo, edited: usize) -> Cell {
        let drift = Drift {
            modified: (0..edited).map(|n| format!("f{n}.yaml")).collect(),
            ..Default::default()
        };
        Cell::new("1.2.0".into(), i, drift, "nginx".into(), "p".into())
    }

    #[test]
    fn cells_say_version_update_and_drift() {
        let up = info(UpdateState::UpToDate, Some("1.2.0"), Some("1.2.0"));
        assert_eq!(cell_text(&cell(&up, 0)), "1.2.0");
        let behind = info(UpdateState::UpdateAvailable, Some("1.3.0"), Some("2.0.0"));
        assert_eq!(cell_text(&cell(&behind, 2)), "1.2.0 ->1.3.0 *2");
        assert_eq!(cell(&behind, 0).update.as_deref(), Some("1.3.0"));
        let outside = info(UpdateState::NewerOutsideConstraint, None, Some("2.0.0"));
        assert_eq!(cell_text(&cell(&outside, 1)), "1.2.0 ^2.0.0 *1");
        assert_eq!(cell(&outside, 0).update, None);
        let unknown = info(UpdateState::Unknown, None, None);
        assert_eq!(cell_text(&cell(&unknown, 0)), "1.2.0 ?");
        assert!(cell_text(&cell(&behind, 3)).is_ascii());
    }

    #[test]
    fn matrix_has_a_row_per_name_and_a_column_per_cluster() {
        let up = info(UpdateState::UpToDate, None, None);
        let behind = info(UpdateState::UpdateAvailable, Some("1.3.0"), None);
        let m = Matrix::build(
            vec!["production".into(), "staging".into(), "qa".into()],
            vec![
                ("staging".into(), "web".into(), cell(&behind, 1)),
                ("production".into(), "web".into(), cell(&up, 0)),
                ("production".into(), "edge".into(), cell(&up, 0)),
            ],
        );
        let names: Vec<&str> = m.installations.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["edge", "web"]);
        let table = m.table();
        let lines: Vec<Vec<&str>> = table
            .lines()
            .map(|l| {
                l.split("  ")
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .collect();
        assert_eq!(lines[0], ["NAME", "production", "staging", "qa"]);
        assert_eq!(lines[1], ["edge", "1.2.0", "-", "-"]);
        assert_eq!(lines[2], ["web", "1.2.0", "1.2.0 ->1.3.0 *1", "-"]);
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["clusters"][2], "qa");
        assert_eq!(
            json["installations"][1]["clusters"]["staging"]["update"],
            "1.3.0"
        );
        assert_eq!(
            json["installations"][1]["clusters"]["staging"]["drift"]["modified"][0],
            "f0.yaml"
        );
        assert!(
            json["installations"][0]["clusters"]
                .get("staging")
                .is_none()
        );
    }
}
