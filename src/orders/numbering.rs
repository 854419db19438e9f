//! Human order numbers (`WO-1042`, `PO-17`): per organization and per number
//! prefix, consecutive, assigned inside the creating transaction. The
//! increment is one `UPDATE ... RETURNING` on the organization's row, which
//! PostgreSQL row-locks and SQLite serialises, so concurrent creators never
//! share or skip a number: a rolled-back transaction rolls its number back.

use entity::organizations;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction, Iden};

use super::model::OrderKind;
use crate::error::{AppError, AppResult};

pub async fn next_number(txn: &DatabaseTransaction, organization_id: &str, kind: OrderKind) -> AppResult<String> {
    let column = match kind {
        OrderKind::Work => organizations::Column::WorkOrderSeq,
        OrderKind::Part | OrderKind::Service | OrderKind::Capital => organizations::Column::PurchaseOrderSeq,
    };
    let stmt = Query::update()
        .table(organizations::Entity)
        .value(column, Expr::col(column).add(1))
        .and_where(Expr::col(organizations::Column::Id).eq(organization_id))
        .returning_col(column)
        .to_owned();
    let row = txn
        .query_one(&stmt)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("organization {organization_id} is missing")))?;
    let seq: i64 = row.try_get("", &column.to_string())?;
    Ok(format!("{}-{seq}", kind.number_prefix()))
}
