//! Rows of several tables read in one statement: a `UNION ALL` of one
//! select per table (an *arm*), every arm's columns laid out in one wide
//! row, each in a place of its type (the texts, then the integers, the
//! floats and the booleans), the places an arm has no column for NULL.
//! The row's first column says which arm it came from, the second is that
//! arm's sort key (or NULL). A statement costs a round trip to the
//! database whatever it reads, so the few rows of several kinds that one
//! request needs are cheaper this way than as a statement each
//! (BENCHMARKS.md, "An order's children in one statement").
//!
//! A table's columns are read back by position ([`read`]): each of its
//! model's fields from the place [`Layout::columns`] gives it.

use sea_orm::sea_query::{Alias, Condition, Expr, Query, SelectStatement};
use sea_orm::{ColumnTrait, ColumnType, DbErr, EntityTrait, Iterable, QueryResult};

use super::rows::Positional;

/// The names of the wide row's first two columns.
pub const KIND: &str = "kind";
pub const SORT: &str = "sort";

/// What type a column of the wide row has: the types of the tables read
/// this way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Text,
    Int,
    Float,
    Bool,
}

impl Slot {
    const ALL: [Self; 4] = [Self::Text, Self::Int, Self::Float, Self::Bool];

    fn of(column_type: &ColumnType) -> Self {
        match column_type {
            ColumnType::String(_) | ColumnType::Text | ColumnType::Char(_) => Self::Text,
            ColumnType::BigInteger => Self::Int,
            ColumnType::Double => Self::Float,
            ColumnType::Boolean => Self::Bool,
            other => unreachable!("a column of type {other:?}, which no place of a wide row holds"),
        }
    }

    /// A NULL of its type: PostgreSQL types each column of a `UNION` from
    /// its arms, and a bare NULL in the first arm would be taken as text.
    pub fn null(self) -> Expr {
        Expr::cust(match self {
            Self::Text => "CAST(NULL AS TEXT)",
            Self::Int => "CAST(NULL AS BIGINT)",
            Self::Float => "CAST(NULL AS DOUBLE PRECISION)",
            Self::Bool => "CAST(NULL AS BOOLEAN)",
        })
    }

    /// Its places' names: `t0`, `i0`, `f0`, `b0` ...
    fn name(self, n: usize) -> String {
        let prefix = match self {
            Self::Text => 't',
            Self::Int => 'i',
            Self::Float => 'f',
            Self::Bool => 'b',
        };
        format!("{prefix}{n}")
    }
}

/// The types of `E`'s columns, in the order `E::find()` selects them.
pub fn slots<E: EntityTrait>() -> Vec<Slot> {
    E::Column::iter().map(|column| Slot::of(column.def().get_column_type())).collect()
}

/// How many places of each type the wide row has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Layout {
    text: usize,
    int: usize,
    float: usize,
    bool: usize,
}

impl Layout {
    /// Room for the columns of `slots`.
    pub fn of(slots: &[Slot]) -> Self {
        let mut layout = Self::default();
        for slot in slots {
            *layout.count_mut(*slot) += 1;
        }
        layout
    }

    /// Room for both.
    pub fn max(self, other: Self) -> Self {
        Self {
            text: self.text.max(other.text),
            int: self.int.max(other.int),
            float: self.float.max(other.float),
            bool: self.bool.max(other.bool),
        }
    }

    fn count(self, slot: Slot) -> usize {
        match slot {
            Slot::Text => self.text,
            Slot::Int => self.int,
            Slot::Float => self.float,
            Slot::Bool => self.bool,
        }
    }

    fn count_mut(&mut self, slot: Slot) -> &mut usize {
        match slot {
            Slot::Text => &mut self.text,
            Slot::Int => &mut self.int,
            Slot::Float => &mut self.float,
            Slot::Bool => &mut self.bool,
        }
    }

    /// The first place of `slot`'s type: after the kind and the sort key,
    /// the texts, then the integers, the floats and the booleans.
    pub fn first(self, slot: Slot) -> usize {
        2 + Slot::ALL.iter().take_while(|s| **s != slot).map(|s| self.count(*s)).sum::<usize>()
    }

    /// The row's column of each of `slots` in turn: each type's columns
    /// fill its places in order.
    pub fn columns(self, slots: &[Slot]) -> Vec<usize> {
        let mut used = Self::default();
        slots
            .iter()
            .map(|&slot| {
                let n = used.count(slot);
                *used.count_mut(slot) += 1;
                self.first(slot) + n
            })
            .collect()
    }

    /// Selects `columns` (typed) in their places, NULL in the rest.
    pub fn place(self, select: &mut SelectStatement, columns: Vec<(Slot, Expr)>) {
        for slot in Slot::ALL {
            let mut of_type = columns.iter().filter(|(s, _)| *s == slot).map(|(_, expr)| expr.clone());
            for n in 0..self.count(slot) {
                select.expr_as(of_type.next().unwrap_or_else(|| slot.null()), Alias::new(slot.name(n)));
            }
        }
    }
}

/// An arm: every column of the rows of `E` that `filter` keeps, as
/// `kind`, sorted by `sort` (NULL without one).
pub fn arm<E: EntityTrait>(kind: i32, layout: Layout, sort: Option<E::Column>, filter: Condition) -> SelectStatement {
    let columns =
        E::Column::iter().map(|column| (Slot::of(column.def().get_column_type()), Expr::col((E::default(), column))));
    let sort = sort.map_or_else(|| Slot::Int.null(), |column| Expr::col((E::default(), column)));
    let mut select = Query::select();
    select.expr_as(Expr::cust(kind.to_string()), Alias::new(KIND)).expr_as(sort, Alias::new(SORT));
    layout.place(&mut select, columns.collect());
    select.from(E::default()).cond_where(filter);
    select
}

/// The row's kind (its first column).
pub fn kind(row: &QueryResult) -> Result<i32, DbErr> {
    super::rows::at(row, 0)
}

/// Where the columns of `E`'s arm are in `layout`'s row, for [`read`]:
/// worked out once a statement, not once a row.
pub fn places<E: EntityTrait>(layout: Layout) -> Vec<usize> {
    layout.columns(&slots::<E>())
}

/// A row of an arm, read as `R` from its `places` ([`places`]).
pub fn read<R: Positional>(row: &QueryResult, places: &[usize]) -> Result<R::Model, DbErr> {
    R::read_at(row, places.iter().copied())
}

#[cfg(test)]
mod tests {
    use entity::{
        accounts, assets, attachments, audit_events, cost_lines, notes, part_usages, sites, time_entries, users,
        vendors,
    };

    use super::*;

    #[test]
    fn each_type_fills_its_own_places() {
        let slots = [Slot::Text, Slot::Int, Slot::Bool, Slot::Text, Slot::Float, Slot::Int];
        let layout = Layout { text: 3, int: 2, float: 1, bool: 2 };
        assert_eq!(layout.columns(&slots), [2, 5, 8, 3, 7, 6]);
        assert_eq!(Layout::of(&slots), Layout { text: 2, int: 2, float: 1, bool: 1 });
    }

    #[test]
    fn every_table_read_this_way_has_room_in_the_row() {
        for slots in [
            slots::<notes::Entity>(),
            slots::<cost_lines::Entity>(),
            slots::<time_entries::Entity>(),
            slots::<audit_events::Entity>(),
            slots::<attachments::Entity>(),
            slots::<part_usages::Entity>(),
            slots::<users::Entity>(),
            slots::<sites::Entity>(),
            slots::<assets::Entity>(),
            slots::<vendors::Entity>(),
            slots::<accounts::Entity>(),
        ] {
            assert_eq!(slots[0], Slot::Text, "the id first: rows sorted by it end on it");
            let layout = Layout::of(&slots);
            let mut columns = layout.columns(&slots);
            columns.sort_unstable();
            assert_eq!(columns, (2..2 + slots.len()).collect::<Vec<_>>(), "each column its own place");
        }
    }
}
