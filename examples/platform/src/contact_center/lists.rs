//! What `callcenter_config ... list` answers, read back into the state: after every
//! (re)connection the worker lists the node's agents (`agent list`) and each queue's members
//! (`queue list members <queue>`), so events missed while it was away (a member who left, an
//! agent who logged out) do not leave the state wrong until the next restart.
//!
//! ```
//! use platform::contact_center::{ContactCenter, ListTable};
//!
//! let listed = ListTable::parse(
//!     "name|instance_id|uuid|type|contact|status|state|calls_answered|talk_time\n\
//!      1001@acme|single_box||callback|loopback/7001/agents|On Break|Waiting|4|310\n+OK\n",
//! )?;
//! let mut center = ContactCenter::default();
//! center.resync_agents(&listed);
//! let agent = center.agent("1001@acme").unwrap();
//! assert_eq!((agent.status.as_str(), agent.calls_answered, agent.talk_seconds), ("On Break", 4, 310));
//! # Ok::<(), platform::contact_center::ListError>(())
//! ```

use super::{Change, ContactCenter, MAX_MEMBERS, MAX_NAMES, MAX_TEXT, Member};

/// Most rows read from one list (more are ignored).
const MAX_ROWS: usize = MAX_NAMES;

/// Most columns a list may have (mod_callcenter's have about twenty).
const MAX_COLUMNS: usize = 64;

/// A `callcenter_config ... list` answer: a header of column names, rows of `|`-separated
/// values, then `+OK`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListTable {
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// Why a list answer could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    /// FreeSWITCH refused the command (`-ERR ...`, `-USAGE ...`: mod_callcenter not loaded,
    /// an unknown queue).
    #[error("FreeSWITCH refused the list: {0}")]
    Refused(String),
    /// No header line, or no `+OK` at its end.
    #[error("not a callcenter_config list")]
    NotAList,
}

impl ListTable {
    /// Reads a list answer. An empty list is `+OK` alone (FreeSWITCH writes the header with
    /// the first row). A row with more or fewer cells than the header is dropped: a value
    /// with a `|` of its own (a caller's display name) would shift the columns after it.
    pub fn parse(body: &str) -> Result<Self, ListError> {
        let body = body.trim_end();
        if body.starts_with('-') {
            return Err(ListError::Refused(
                body.lines()
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .take(200)
                    .collect(),
            ));
        }
        if body == "+OK" {
            return Ok(ListTable {
                columns: Vec::new(),
                rows: Vec::new(),
            });
        }
        let mut lines = body.lines();
        let header = lines
            .next()
            .filter(|h| h.contains('|') && h.split('|').count() <= MAX_COLUMNS)
            .ok_or(ListError::NotAList)?;
        let columns: Vec<String> = header.split('|').map(str::to_owned).collect();
        let mut rows = Vec::new();
        let mut ended = false;
        for line in lines {
            if line == "+OK" {
                ended = true;
                break;
            }
            // At most one cell more than the header is split off: no row costs more.
            let cells: Vec<&str> = line.splitn(columns.len() + 1, '|').collect();
            if rows.len() < MAX_ROWS && cells.len() == columns.len() {
                rows.push(cells.into_iter().map(str::to_owned).collect());
            }
        }
        if !ended {
            return Err(ListError::NotAList);
        }
        Ok(ListTable { columns, rows })
    }

    /// Each row's values of the `wanted` columns, in that order (`None` for a column the
    /// list lacks or a short row).
    pub(crate) fn records<'a>(
        &'a self,
        wanted: &'a [&'a str],
    ) -> impl Iterator<Item = Vec<Option<&'a str>>> + 'a {
        let at: Vec<Option<usize>> = wanted
            .iter()
            .map(|w| self.columns.iter().position(|c| c == w))
            .collect();
        self.rows.iter().map(move |row| {
            at.iter()
                .map(|i| i.and_then(|i| row.get(i)).map(String::as_str))
                .collect()
        })
    }

    /// The distinct values of `column` that are call-center names (`queue` of `tier list`).
    pub fn names(&self, column: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .records(&[column])
            .filter_map(|v| {
                v[0].filter(|n| esl::api::is_call_center_name(n))
                    .map(str::to_owned)
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

fn cut(text: Option<&str>) -> String {
    text.unwrap_or_default().chars().take(MAX_TEXT).collect()
}

fn number(text: Option<&str>) -> u64 {
    text.and_then(|t| t.parse().ok()).unwrap_or(0)
}

fn epoch(text: Option<&str>) -> Option<i64> {
    text.and_then(|t| t.parse::<i64>().ok())
        .filter(|t| (1..=super::MAX_SECONDS).contains(t))
}

impl ContactCenter {
    /// Replaces what the state knows of agents with `agent list`'s answer: status, state,
    /// calls answered and talk time as the node counts them; agents it no longer lists are
    /// dropped (their call with them). What changed.
    pub fn resync_agents(&mut self, listed: &ListTable) -> Vec<Change> {
        let mut seen = std::collections::HashSet::new();
        let mut changes = Vec::new();
        let columns = ["name", "status", "state", "calls_answered", "talk_time"];
        for row in listed.records(&columns) {
            let Some(name) = row[0].filter(|n| esl::api::is_call_center_name(n)) else {
                continue;
            };
            seen.insert(name.to_owned());
            let before = self.agents.get(name).cloned();
            let Some(agent) = self.agent_mut(name) else {
                continue;
            };
            agent.status = cut(row[1]);
            agent.state = cut(row[2]);
            agent.calls_answered = number(row[3]);
            agent.talk_seconds = number(row[4]);
            // A call that ended while away ends here (the list has no call).
            if !matches!(agent.state.as_str(), "Receiving" | "In a queue call") {
                agent.call = None;
            }
            if before.as_ref() != Some(agent) {
                changes.push(Change::Agent(name.to_owned()));
            }
        }
        let gone: Vec<String> = self
            .agents
            .keys()
            .filter(|name| !seen.contains(*name))
            .cloned()
            .collect();
        for name in gone {
            self.agents.remove(&name);
            changes.push(Change::Agent(name));
        }
        changes
    }

    /// Replaces `queue`'s members with `queue list members`'s answer (a member answered by
    /// an agent keeps its agent and answer time). What changed.
    pub fn resync_members(&mut self, queue: &str, listed: &ListTable) -> Vec<Change> {
        if !esl::api::is_call_center_name(queue) {
            return Vec::new();
        }
        let columns = [
            "uuid",
            "session_uuid",
            "cid_number",
            "joined_epoch",
            "bridge_epoch",
            "serving_agent",
            "state",
            "queue",
        ];
        let mut members = Vec::new();
        for row in listed.records(&columns) {
            let (Some(uuid), Some(joined_at)) = (row[0].filter(|u| !u.is_empty()), epoch(row[3]))
            else {
                continue;
            };
            // Members still in the queue: mod_callcenter keeps the abandoned ones a while.
            let answered = match row[6] {
                Some("Waiting" | "Trying") => false,
                Some("Answered") => true,
                _ => continue,
            };
            if row[7] != Some(queue) || members.len() >= MAX_MEMBERS {
                continue;
            }
            members.push(Member {
                uuid: cut(Some(uuid)),
                session_uuid: cut(row[1]),
                caller_number: cut(row[2]),
                joined_at,
                // An agent of the queue's own tenant only.
                agent: row[5]
                    .filter(|a| {
                        esl::api::is_call_center_name(a)
                            && super::tenant_of(a) == super::tenant_of(queue)
                    })
                    .map(str::to_owned),
                answered_at: if answered {
                    epoch(row[4]).or(Some(joined_at))
                } else {
                    None
                },
            });
        }
        let before = self.queues.get(queue).map(|q| q.members.clone());
        if before.as_ref() == Some(&members) || (before.is_none() && members.is_empty()) {
            return Vec::new();
        }
        match self.queue_mut(queue) {
            Some(state) => {
                state.members = members;
                vec![Change::Queue(queue.to_owned())]
            }
            None => Vec::new(),
        }
    }

    /// The queues the state knows, by name.
    pub fn queue_names(&self) -> Vec<String> {
        self.queues.keys().cloned().collect()
    }
}
