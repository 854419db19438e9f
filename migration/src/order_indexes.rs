//! Indexes on `orders` written as plain `CREATE INDEX` and `DROP INDEX`,
//! the same on SQLite and PostgreSQL, for the migrations that index the
//! order list's sort keys (5 to 8, and 12). Each index is a name and its
//! column list; an expression such as `COALESCE(due_at, ...)` must be
//! written exactly as `orders::list` writes it for the planner to use it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

/// An index's name and its column list.
pub type OrderIndex = (&'static str, &'static str);

pub async fn create(manager: &SchemaManager<'_>, indexes: &[OrderIndex]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for (name, columns) in indexes {
        db.execute_unprepared(&format!("CREATE INDEX {name} ON orders ({columns})")).await?;
    }
    Ok(())
}

pub async fn drop(manager: &SchemaManager<'_>, indexes: &[OrderIndex]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for (name, _) in indexes {
        db.execute_unprepared(&format!("DROP INDEX {name}")).await?;
    }
    Ok(())
}

/// Creates `indexes`, then drops `superseded`, indexes they make redundant
/// (their prefixes): the new exist before the old go. Its `down` is the
/// same call with the two swapped.
pub async fn replace(
    manager: &SchemaManager<'_>,
    indexes: &[OrderIndex],
    superseded: &[OrderIndex],
) -> Result<(), DbErr> {
    create(manager, indexes).await?;
    drop(manager, superseded).await
}
