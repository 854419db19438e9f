//! The people, sites, assets, vendors and accounts that a page of orders
//! or one order names, in one statement ([`prime`]) rather than one per
//! kind: a `UNION ALL` of wide rows (`db::wide`), each kind's select by id
//! within the caller's organization, as its loader's (`by_id!`). What is
//! read is fed into those loaders' cache, where the resolvers find it.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use entity::{accounts, assets, sites, users, vendors};
use sea_orm::sea_query::{Condition, SelectStatement, UnionType};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryResult, Value};

use super::{AccountById, AssetById, Db, LoadError, Loaders, SiteById, UserById, VendorById, fail};
use crate::db::rows::{AccountRow, AssetRow, Positional, SiteRow, UserRow, VendorRow};
use crate::db::texts::Texts;
use crate::db::wide::{self, Layout, slots};
use crate::db::{OneOf, one_of_bound, one_of_values};

/// The ids to read, as the keys their loaders cache them under.
#[derive(Debug, Default)]
pub struct Named {
    pub users: Vec<UserById>,
    pub sites: Vec<SiteById>,
    pub assets: Vec<AssetById>,
    pub vendors: Vec<VendorById>,
    pub accounts: Vec<AccountById>,
}

/// What [`prime`] found of the people, sites and vendors asked (from the
/// cache or read); assets and accounts are only cached.
#[derive(Debug, Default)]
pub struct Found {
    pub users: HashMap<UserById, Arc<users::Model>>,
    pub sites: HashMap<SiteById, Arc<sites::Model>>,
    pub vendors: HashMap<VendorById, Arc<vendors::Model>>,
}

/// The kinds of row (the row's first column).
const USERS: i32 = 0;
const SITES: i32 = 1;
const ASSETS: i32 = 2;
const VENDORS: i32 = 3;
const ACCOUNTS: i32 = 4;

/// Reads `ids`, those not in the loaders' cache already, in one statement
/// (none when all are), and feeds them into the cache.
pub async fn prime(loaders: &Loaders, ids: Named) -> Result<Found, LoadError> {
    let (mut users, users_missing) = cached_and_missing(loaders, ids.users);
    let (mut sites, sites_missing) = cached_and_missing(loaders, ids.sites);
    let (_, assets_missing) = cached_and_missing(loaders, ids.assets);
    let (mut vendors, vendors_missing) = cached_and_missing(loaders, ids.vendors);
    let (_, accounts_missing) = cached_and_missing(loaders, ids.accounts);
    let db = loaders.loader();
    let backend = db.backend();
    let kinds = [
        Arm::new::<users::Entity>(backend, USERS, users_missing.iter().map(|k| &k.0)),
        Arm::new::<sites::Entity>(backend, SITES, sites_missing.iter().map(|k| &k.0)),
        Arm::new::<assets::Entity>(backend, ASSETS, assets_missing.iter().map(|k| &k.0)),
        Arm::new::<vendors::Entity>(backend, VENDORS, vendors_missing.iter().map(|k| &k.0)),
        Arm::new::<accounts::Entity>(backend, ACCOUNTS, accounts_missing.iter().map(|k| &k.0)),
    ];
    // The statement's text is kept (`Texts`), by each kind's form, or its
    // absence; it binds each arm's ids, then the organization.
    static TEXTS: Texts<[Option<OneOf>; 5]> = Texts::new();
    let organization = Value::from(db.organization_id.as_str());
    let (mut form, mut arms, mut values) = ([None; 5], Vec::new(), Vec::new());
    for (n, kind) in kinds.into_iter().enumerate() {
        if let Some((arm, ids)) = kind {
            form[n] = Some(arm.form);
            values.extend(ids);
            values.push(organization.clone());
            arms.push(arm);
        }
    }
    if arms.is_empty() {
        return Ok(Found { users, sites, vendors });
    }
    let layout = arms.iter().fold(Layout::default(), |layout, arm| layout.max(arm.layout));
    let statement = TEXTS.statement(backend, form, values, |values| {
        let mut values = values.into_iter();
        let mut selects = arms.iter().map(|arm| {
            let ids = values.by_ref().take(arm.ids).collect();
            let organization = values.next().expect("each arm binds the organization");
            (arm.select)(arm.kind, layout, arm.form, ids, &organization)
        });
        let mut union = selects.next().expect("at least one arm");
        for select in selects {
            union.union(UnionType::All, select);
        }
        backend.build(&union)
    });

    let (mut users_read, mut sites_read, mut assets_read, mut vendors_read, mut accounts_read) =
        (HashMap::new(), HashMap::new(), HashMap::new(), HashMap::new(), HashMap::new());
    let places = [
        wide::places::<users::Entity>(layout),
        wide::places::<sites::Entity>(layout),
        wide::places::<assets::Entity>(layout),
        wide::places::<vendors::Entity>(layout),
        wide::places::<accounts::Entity>(layout),
    ];
    for row in db.conn.query_all_raw(statement).await.map_err(fail)? {
        let kind = wide::kind(&row).map_err(fail)?;
        match (kind, usize::try_from(kind).ok().and_then(|kind| places.get(kind))) {
            (USERS, Some(at)) => read_into::<UserRow, _>(&row, at, &mut users_read, |m| UserById(m.id.clone()))?,
            (SITES, Some(at)) => read_into::<SiteRow, _>(&row, at, &mut sites_read, |m| SiteById(m.id.clone()))?,
            (ASSETS, Some(at)) => read_into::<AssetRow, _>(&row, at, &mut assets_read, |m| AssetById(m.id.clone()))?,
            (VENDORS, Some(at)) => {
                read_into::<VendorRow, _>(&row, at, &mut vendors_read, |m| VendorById(m.id.clone()))?;
            }
            (ACCOUNTS, Some(at)) => {
                read_into::<AccountRow, _>(&row, at, &mut accounts_read, |m| AccountById(m.id.clone()))?;
            }
            (other, _) => return Err(fail(sea_orm::DbErr::Type(format!("no kind of row is {other}")))),
        }
    }
    feed(loaders, &users_read).await;
    feed(loaders, &sites_read).await;
    feed(loaders, &assets_read).await;
    feed(loaders, &vendors_read).await;
    feed(loaders, &accounts_read).await;
    users.extend(users_read);
    sites.extend(sites_read);
    vendors.extend(vendors_read);
    Ok(Found { users, sites, vendors })
}

/// `row`, read as `R` from its places `at`, into `read` under its key.
fn read_into<R: Positional, K: Hash + Eq>(
    row: &QueryResult,
    at: &[usize],
    read: &mut HashMap<K, Arc<R::Model>>,
    key: impl Fn(&R::Model) -> K,
) -> Result<(), LoadError> {
    let model = wide::read::<R>(row, at).map_err(fail)?;
    read.insert(key(&model), Arc::new(model));
    Ok(())
}

/// `keys` (once each) found in the loaders' cache, and those not (all of
/// them unless this request loaded keys of this kind before).
pub fn cached_and_missing<K, V>(loaders: &Loaders, keys: Vec<K>) -> (HashMap<K, V>, Vec<K>)
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    Db: Loader<K, Value = V>,
{
    if keys.is_empty() {
        return (HashMap::new(), Vec::new());
    }
    let keys: HashSet<K, foldhash::fast::RandomState> = keys.into_iter().collect();
    let mut cached = loaders.get_cached_values::<K>();
    let mut found = HashMap::new();
    let mut missing = Vec::new();
    for key in keys {
        match cached.remove(&key) {
            Some(value) => {
                found.insert(key, value);
            }
            None => missing.push(key),
        }
    }
    (found, missing)
}

async fn feed<K>(loaders: &Loaders, read: &HashMap<K, <Db as Loader<K>>::Value>)
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    Db: Loader<K>,
{
    if !read.is_empty() {
        loaders.feed_many(read.iter().map(|(key, value)| (key.clone(), value.clone()))).await;
    }
}

/// One kind's select: its rows by id, within the organization.
struct Arm {
    kind: i32,
    form: OneOf,
    /// How many values its ids bind.
    ids: usize,
    layout: Layout,
    select: fn(i32, Layout, OneOf, Vec<Value>, &Value) -> SelectStatement,
}

impl Arm {
    /// `E`'s arm for `ids` with the values they bind, or none without any.
    fn new<'a, E: Identified>(
        backend: DbBackend,
        kind: i32,
        ids: impl Iterator<Item = &'a String>,
    ) -> Option<(Self, Vec<Value>)> {
        let ids: Vec<String> = ids.cloned().collect();
        if ids.is_empty() {
            return None;
        }
        let (form, values) = one_of_values(backend, ids);
        let arm = Self { kind, form, ids: values.len(), layout: Layout::of(&slots::<E>()), select: select::<E> };
        Some((arm, values))
    }
}

/// An entity read by id within an organization.
trait Identified: EntityTrait {
    const ID: Self::Column;
    const ORGANIZATION: Self::Column;
}

macro_rules! by_id {
    ($($entity:ident),+) => {$(
        impl Identified for $entity::Entity {
            const ID: Self::Column = $entity::Column::Id;
            const ORGANIZATION: Self::Column = $entity::Column::OrganizationId;
        }
    )+};
}
by_id!(users, sites, assets, vendors, accounts);

fn select<E: Identified>(
    kind: i32,
    layout: Layout,
    form: OneOf,
    ids: Vec<Value>,
    organization: &Value,
) -> SelectStatement {
    let filter = Condition::all()
        .add(one_of_bound((E::default(), E::ID), form, ids))
        .add(E::ORGANIZATION.eq(organization.clone()));
    wide::arm::<E>(kind, layout, None, filter)
}
