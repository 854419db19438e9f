//! The principals and what each asks: issue 8's dashboard, detail and
//! mixed workloads. Each principal asks for what its application would
//! show it, so a correct answer has no errors: people see the order's
//! people and `viewerCan`; a TECHNICIAN's detail leaves out costs and
//! history (section 6 keeps those from them); a partner token asks for its
//! ten fields (section 6) and writes nothing, so in its mixed workload the
//! writes are the root ADMIN's, on the partner's orders.

use std::sync::Arc;

use anyhow::{Context, bail};
use serde::Serialize;
use serde_json::{Value, json};

use crate::drive::{Request, Workload};
use crate::http;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Principal {
    /// A TECHNICIAN bound to one site.
    Technician,
    /// A PLANNER of the root account: the whole organization.
    Planner,
    /// An ADMIN of a child account (a region).
    ChildAdmin,
    /// An API token bound to one vendor.
    Partner,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// `orders(first: 50, filter, sort)` with site, owner, assignees,
    /// vendor and `viewerCan`.
    Dashboard,
    /// One order with notes, time, costs, approval steps and history.
    Detail,
    /// 90% reads (dashboard and detail in turn), 10% writes (a PUBLIC note).
    Mixed,
    /// Subscribers of `orderChanged`, events at a fixed rate.
    Fanout,
}

/// The dashboard's page size.
pub const PAGE: i64 = 50;

const DASHBOARD: &str = "query Dashboard($first: Int!, $filter: OrderFilter, $sort: OrderSort) {
  orders(first: $first, filter: $filter, sort: $sort) {
    edges { cursor node {
      id number title kind status priority dueAt updatedAt
      site { id name } owner { id name } assignees { id name } vendor { id name }
      viewerCan { editDetails assign start submitForReview closeReview approve reject cancel addNote }
    } }
    pageInfo { hasNextPage endCursor }
  }
}";

const PARTNER_DASHBOARD: &str = "query PartnerDashboard($first: Int!, $filter: OrderFilter, $sort: OrderSort) {
  orders(first: $first, filter: $filter, sort: $sort) {
    edges { cursor node { id number title kind status priority dueAt site { name } vendor { id name } } }
    pageInfo { hasNextPage endCursor }
  }
}";

/// The detail fields every person may read.
const DETAIL_COMMON: &str = "id number title description kind status priority archived version dueAt createdAt
    updatedAt tags estimatedCost
    site { id name } asset { id name } creator { id name } owner { id name } assignees { id name }
    vendor { id name }
    notes { id author { id name } body visibility createdAt }
    viewerCan { view editDetails approve reject resubmit assign start submitForReview closeReview
      requestRework send resend markFulfilled cancel archive unarchive overrideVendor addNote
      addInternalNote logWork requestDeletion delete }";

const PARTNER_DETAIL: &str = "query PartnerDetail($id: ID!) {
  order(id: $id) { id number title description kind status priority dueAt site { name } vendor { id name } }
}";

const NOTE: &str = "mutation Note($id: ID!) {
  addNote(orderId: $id, body: \"Checked on site; parts on order.\", visibility: PUBLIC) { id }
}";

impl Principal {
    fn dashboard(self) -> &'static str {
        match self {
            Self::Partner => PARTNER_DASHBOARD,
            _ => DASHBOARD,
        }
    }

    fn detail(self) -> String {
        match self {
            Self::Partner => PARTNER_DETAIL.to_owned(),
            Self::Technician => format!(
                "query Detail($id: ID!) {{ order(id: $id) {{ {DETAIL_COMMON}
                    timeEntries {{ id user {{ id name }} hours note loggedAt }}
                    approvalSteps {{ position source decision decidedBy {{ id name }} decidedAt reason }} }} }}"
            ),
            Self::Planner | Self::ChildAdmin => format!(
                "query Detail($id: ID!) {{ order(id: $id) {{ {DETAIL_COMMON} actualCost
                    timeEntries {{ id user {{ id name }} hours note cost loggedAt }}
                    costLines {{ id category description amount addedBy {{ id name }} }}
                    approvalSteps {{ position source approvers {{ id name }} decision decidedBy {{ id name }}
                      decidedAt reason }}
                    history {{ id at action actor {{ id name }} viaToken changes reason }} }} }}"
            ),
        }
    }
}

/// The document `principal` sends in `scenario` (dashboard or detail).
pub fn document(scenario: Scenario, principal: Principal) -> anyhow::Result<String> {
    match scenario {
        Scenario::Dashboard => Ok(principal.dashboard().to_owned()),
        Scenario::Detail => Ok(principal.detail()),
        Scenario::Mixed | Scenario::Fanout => bail!("{scenario:?} has no one document"),
    }
}

/// How many of a principal's orders the detail's ceiling replays. Their
/// statements are captured through a gateway one request at a time, so
/// not all thousand; the rows any of them reads stay in the database's
/// cache either way.
pub const DETAIL_SAMPLE: usize = 200;

/// The dashboard's views: request `n` shows view `n % VIEWS`.
pub const VIEWS: u64 = 12;

/// The dashboard's variables for request `n`: four sorts and three filters
/// in turn, as people switch views.
pub fn dashboard_variables(n: u64, first: i64) -> Value {
    let sorts = ["UPDATED_DESC", "CREATED_DESC", "PRIORITY_DESC", "DUE_ASC"];
    let sort = sorts[(n % 4) as usize];
    let filter = match (n / 4) % 3 {
        0 => json!({}),
        1 => json!({ "status": ["OPEN", "IN_PROGRESS", "ACTION_NEEDED", "SENT"] }),
        _ => json!({ "status": ["PENDING_APPROVAL", "PENDING_REVIEW"] }),
    };
    json!({ "first": first, "filter": filter, "sort": sort })
}

/// What a principal's workloads are made of.
pub struct Subject {
    pub principal: Principal,
    pub token: Arc<str>,
    /// Who writes in the mixed workload: the principal, or for a partner
    /// token the root ADMIN.
    pub writer: Arc<str>,
    /// Orders the principal sees (up to 1,000, newest updated first).
    pub orders: Arc<Vec<String>>,
    /// Of them, those the writer may add a note to.
    pub writable: Arc<Vec<String>>,
}

impl Subject {
    /// Finds the principal's orders and checks each request shape once.
    pub async fn prepare(host: &str, principal: Principal, token: &str, admin: &str) -> anyhow::Result<Self> {
        let mut orders = Vec::new();
        let mut after = Value::Null;
        let page = "query($after: Cursor) { orders(first: 100, after: $after, sort: UPDATED_DESC) {
            edges { node { id } } pageInfo { hasNextPage endCursor } } }";
        while orders.len() < 1000 {
            let data = http::call(host, token, page, &json!({ "after": after })).await?;
            let connection = &data["orders"];
            let edges = connection["edges"].as_array().context("edges")?;
            orders.extend(edges.iter().filter_map(|e| e["node"]["id"].as_str().map(str::to_owned)));
            if connection["pageInfo"]["hasNextPage"] != json!(true) {
                break;
            }
            after = connection["pageInfo"]["endCursor"].clone();
        }
        if orders.is_empty() {
            bail!("{principal:?} sees no orders");
        }
        let writer: Arc<str> = if principal == Principal::Partner { admin.into() } else { token.into() };
        let can = "query($id: ID!) { order(id: $id) { viewerCan { addNote } } }";
        let mut writable = Vec::new();
        for id in orders.iter().take(200) {
            let data = http::call(host, &writer, can, &json!({ "id": id })).await?;
            if data["order"]["viewerCan"]["addNote"] == json!(true) {
                writable.push(id.clone());
            }
        }
        if writable.is_empty() {
            bail!("{principal:?}: no order to write to");
        }
        let subject =
            Self { principal, token: token.into(), writer, orders: Arc::new(orders), writable: Arc::new(writable) };
        // Every shape once, so that a wrong one fails here, not as errors
        // counted under load.
        for n in 0..12 {
            http::call(host, token, principal.dashboard(), &dashboard_variables(n, PAGE)).await?;
        }
        http::call(host, token, &principal.detail(), &json!({ "id": subject.orders[0] })).await?;
        Ok(subject)
    }

    /// The document `scenario` sends and the variables of the requests it
    /// cycles through: each of the dashboard's views, or up to
    /// [`DETAIL_SAMPLE`] of the orders the detail asks for, spread evenly
    /// over them.
    pub fn requests(&self, scenario: Scenario) -> anyhow::Result<(String, Vec<Value>)> {
        Ok(match scenario {
            Scenario::Dashboard => {
                (self.principal.dashboard().to_owned(), (0..VIEWS).map(|n| dashboard_variables(n, PAGE)).collect())
            }
            Scenario::Detail => {
                let step = self.orders.len().div_ceil(DETAIL_SAMPLE);
                (self.principal.detail(), self.orders.iter().step_by(step).map(|id| json!({ "id": id })).collect())
            }
            Scenario::Mixed | Scenario::Fanout => bail!("{scenario:?} has no one document"),
        })
    }

    /// The closed-loop workload of `scenario` (dashboard or detail).
    pub fn workload(&self, scenario: Scenario) -> anyhow::Result<Workload> {
        match scenario {
            Scenario::Dashboard => Ok(self.dashboard(PAGE)),
            Scenario::Detail => Ok(self.detail()),
            Scenario::Mixed | Scenario::Fanout => bail!("{scenario:?} is not one document"),
        }
    }

    /// The dashboard at page size `first`.
    pub fn dashboard(&self, first: i64) -> Workload {
        let (token, query) = (self.token.clone(), self.principal.dashboard());
        Arc::new(move |_, n| (token.clone(), http::body(query, &dashboard_variables(n, first))))
    }

    /// One order's detail, a different order each time.
    pub fn detail(&self) -> Workload {
        let (token, query, orders) = (self.token.clone(), self.principal.detail(), self.orders.clone());
        Arc::new(move |worker, n| (token.clone(), detail_request(&query, &orders, worker, n)))
    }

    /// Nine reads (dashboard and detail in turn) to one write.
    pub fn mixed(&self) -> Workload {
        let (token, writer) = (self.token.clone(), self.writer.clone());
        let (dashboard, detail) = (self.principal.dashboard(), self.principal.detail());
        let (orders, writable) = (self.orders.clone(), self.writable.clone());
        Arc::new(move |worker, n| -> Request {
            match n % 10 {
                9 => {
                    let id = pick(&writable, worker, n);
                    (writer.clone(), http::body(NOTE, &json!({ "id": id })))
                }
                k if k % 2 == 0 => (token.clone(), http::body(dashboard, &dashboard_variables(n, PAGE))),
                _ => (token.clone(), detail_request(&detail, &orders, worker, n)),
            }
        })
    }
}

fn detail_request(query: &str, orders: &[String], worker: usize, n: u64) -> bytes::Bytes {
    http::body(query, &json!({ "id": pick(orders, worker, n) }))
}

/// Spreads the connections over the list: connection `worker`'s request
/// `n`.
fn pick(list: &[String], worker: usize, n: u64) -> &str {
    let i = (worker as u64).wrapping_mul(7919).wrapping_add(n.wrapping_mul(104_729)) % list.len() as u64;
    &list[i as usize]
}
