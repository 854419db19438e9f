//! The people, sites, assets, vendors and accounts that a page of orders
//! or one order names, read together ([`Part`]) rather than a statement
//! per kind: arms of a `UNION ALL` of wide rows (`db::wide`), each kind's
//! select by id within the caller's organization, as its loader's
//! (`by_id!`), in the statement that also reads one order's children
//! (`loaders::prime`). What is read is fed into those loaders' cache,
//! where the resolvers find it.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use entity::{accounts, assets, sites, users, vendors};
use sea_orm::sea_query::{Condition, SelectStatement};
use sea_orm::{ColumnTrait, DbBackend, EntityTrait, QueryResult, Value};

use super::{AccountById, AssetById, Db, LoadError, Loaders, SiteById, UserById, VendorById, fail};
use crate::db::rows::{AccountRow, AssetRow, Positional, SiteRow, UserRow, VendorRow};
use crate::db::wide::{self, Layout, slots};
use crate::db::{OneOf, one_of_bound, one_of_values};
use crate::ids::{ById, IdHasher};

/// The ids to read, as the keys their loaders cache them under.
#[derive(Debug, Default)]
pub struct Named {
    pub users: Vec<UserById>,
    pub sites: Vec<SiteById>,
    pub assets: Vec<AssetById>,
    pub vendors: Vec<VendorById>,
    pub accounts: Vec<AccountById>,
}

/// What [`super::prime`] found of the people, sites and vendors asked (from the
/// cache or read); assets and accounts are only cached.
#[derive(Debug, Default)]
pub struct Found {
    pub users: ById<UserById, Arc<users::Model>>,
    pub sites: ById<SiteById, Arc<sites::Model>>,
    pub vendors: ById<VendorById, Arc<vendors::Model>>,
}

/// The kinds of row (the row's first column), after the children's
/// (`children::Part`), with which they may share a statement.
const USERS: i32 = 8;
const SITES: i32 = 9;
const ASSETS: i32 = 10;
const VENDORS: i32 = 11;
const ACCOUNTS: i32 = 12;

/// The ids of `ids` not in the loaders' cache already, and what was: their
/// part of the statement that `loaders::prime` reads them with.
pub(super) struct Part {
    /// What the cache held of the people, sites and vendors asked.
    cached: Found,
    arms: Vec<Arm>,
    form: [Option<OneOf>; 5],
}

impl Part {
    /// Its part, and the values its arms bind, in order: each one's ids,
    /// then the organization.
    pub(super) fn new(loaders: &Loaders, ids: Named) -> (Self, Vec<Value>) {
        let (users, users_missing) = cached_and_missing(loaders, ids.users);
        let (sites, sites_missing) = cached_and_missing(loaders, ids.sites);
        let (_, assets_missing): (ById<_, _>, _) = cached_and_missing(loaders, ids.assets);
        let (vendors, vendors_missing) = cached_and_missing(loaders, ids.vendors);
        let (_, accounts_missing): (ById<_, _>, _) = cached_and_missing(loaders, ids.accounts);
        let db = loaders.loader();
        let backend = db.backend();
        let kinds = [
            Arm::new::<users::Entity>(backend, USERS, users_missing.iter().map(|k| &k.0)),
            Arm::new::<sites::Entity>(backend, SITES, sites_missing.iter().map(|k| &k.0)),
            Arm::new::<assets::Entity>(backend, ASSETS, assets_missing.iter().map(|k| &k.0)),
            Arm::new::<vendors::Entity>(backend, VENDORS, vendors_missing.iter().map(|k| &k.0)),
            Arm::new::<accounts::Entity>(backend, ACCOUNTS, accounts_missing.iter().map(|k| &k.0)),
        ];
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
        (Self { cached: Found { users, sites, vendors }, arms, form }, values)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.arms.is_empty()
    }

    /// Room for its arms' columns.
    pub(super) fn layout(&self) -> Layout {
        self.arms.iter().fold(Layout::default(), |layout, arm| layout.max(arm.layout))
    }

    /// Each kind's form, or its absence: its part of the statement's form.
    pub(super) fn form(&self) -> [Option<OneOf>; 5] {
        self.form
    }

    /// Its arms' selects, laid out as `layout`, binding `values` (as
    /// [`Self::new`] gave them).
    pub(super) fn selects(&self, layout: Layout, values: Vec<Value>) -> Vec<SelectStatement> {
        let mut values = values.into_iter();
        self.arms
            .iter()
            .map(|arm| {
                let ids = values.by_ref().take(arm.ids).collect();
                let organization = values.next().expect("each arm binds the organization");
                (arm.select)(arm.kind, layout, arm.form, ids, &organization)
            })
            .collect()
    }

    /// Whether a row of `kind` is one of its arms'.
    pub(super) fn reads(kind: i32) -> bool {
        (USERS..=ACCOUNTS).contains(&kind)
    }

    /// What the cache held of the people, sites and vendors asked, for a
    /// part with no arms: all of them.
    pub(super) fn found(self) -> Found {
        self.cached
    }

    /// Feeds what `read` read into the loaders' cache; what was asked of
    /// the people, sites and vendors, cached before or read now.
    pub(super) async fn feed(self, loaders: &Loaders, read: Read) -> Found {
        let Found { users, sites, vendors } = self.cached;
        feed(loaders, &read.users).await;
        feed(loaders, &read.sites).await;
        feed(loaders, &read.assets).await;
        feed(loaders, &read.vendors).await;
        feed(loaders, &read.accounts).await;
        Found {
            users: merged(users, read.users),
            sites: merged(sites, read.sites),
            vendors: merged(vendors, read.vendors),
        }
    }
}

/// What a statement read of the kinds [`Part`] asks, by id.
pub(super) struct Read {
    /// Where each kind's columns are in the row (`wide::places`), from
    /// [`USERS`] on.
    places: [Vec<usize>; 5],
    users: ById<UserById, Arc<users::Model>>,
    sites: ById<SiteById, Arc<sites::Model>>,
    assets: ById<AssetById, Arc<assets::Model>>,
    vendors: ById<VendorById, Arc<vendors::Model>>,
    accounts: ById<AccountById, Arc<accounts::Model>>,
}

impl Read {
    /// Reads rows laid out as `layout`.
    pub(super) fn new(layout: Layout) -> Self {
        Self {
            places: [
                wide::places::<users::Entity>(layout),
                wide::places::<sites::Entity>(layout),
                wide::places::<assets::Entity>(layout),
                wide::places::<vendors::Entity>(layout),
                wide::places::<accounts::Entity>(layout),
            ],
            users: ById::default(),
            sites: ById::default(),
            assets: ById::default(),
            vendors: ById::default(),
            accounts: ById::default(),
        }
    }

    /// Reads `row`, whose kind is `kind` (one of [`Part::reads`]').
    pub(super) fn add(&mut self, row: &QueryResult, kind: i32) -> Result<(), LoadError> {
        let at = usize::try_from(kind - USERS).ok().and_then(|n| self.places.get(n)).map_or(&[][..], Vec::as_slice);
        match kind {
            USERS => read_into::<UserRow, _>(row, at, &mut self.users, |m| UserById(m.id.clone())),
            SITES => read_into::<SiteRow, _>(row, at, &mut self.sites, |m| SiteById(m.id.clone())),
            ASSETS => read_into::<AssetRow, _>(row, at, &mut self.assets, |m| AssetById(m.id.clone())),
            VENDORS => read_into::<VendorRow, _>(row, at, &mut self.vendors, |m| VendorById(m.id.clone())),
            ACCOUNTS => read_into::<AccountRow, _>(row, at, &mut self.accounts, |m| AccountById(m.id.clone())),
            other => Err(fail(sea_orm::DbErr::Type(format!("no kind of row is {other}")))),
        }
    }
}

/// `row`, read as `R` from its places `at`, into `read` under its key.
fn read_into<R: Positional, K: Hash + Eq>(
    row: &QueryResult,
    at: &[usize],
    read: &mut ById<K, Arc<R::Model>>,
    key: impl Fn(&R::Model) -> K,
) -> Result<(), LoadError> {
    let model = wide::read::<R>(row, at).map_err(fail)?;
    read.insert(key(&model), Arc::new(model));
    Ok(())
}

/// `keys` (once each) found in the loaders' cache, and those not (all of
/// them unless this request loaded keys of this kind before, as when a
/// page is primed: then nothing is looked up).
pub fn cached_and_missing<K, V, S>(loaders: &Loaders, keys: Vec<K>) -> (HashMap<K, V, S>, Vec<K>)
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    Db: Loader<K, Value = V>,
    S: BuildHasher + Default,
{
    if keys.is_empty() {
        return (HashMap::default(), Vec::new());
    }
    let keys: HashSet<K, IdHasher> = keys.into_iter().collect();
    let mut cached = loaders.get_cached_values::<K>();
    if cached.is_empty() {
        return (HashMap::default(), keys.into_iter().collect());
    }
    let mut found = HashMap::default();
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

/// What the cache held and what was read, in one map (the read one as it
/// is when the cache held none).
fn merged<K: Hash + Eq, V>(mut cached: ById<K, V>, read: ById<K, V>) -> ById<K, V> {
    if cached.is_empty() {
        return read;
    }
    cached.extend(read);
    cached
}

async fn feed<K>(loaders: &Loaders, read: &ById<K, <Db as Loader<K>>::Value>)
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
