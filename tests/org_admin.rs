//! Organization administration through GraphQL: every mutation guarded by
//! the policy, validated with the offending field named, audited, and
//! writing nothing when refused.

mod common;

use common::world::Bind;
use common::{Backend, TestApp, spawn_app};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use workgate::org::model::Role;

backend_tests!(
    an_admin_builds_the_organization_and_every_change_is_audited,
    non_admins_are_refused_and_nothing_is_written,
    bad_input_names_the_field_and_writes_nothing,
    child_account_admins_stay_in_their_account,
    api_token_secrets_are_shown_once_and_revocation_takes_effect,
    account_settings_are_admin_only_and_change_visibility,
    directory_queries_follow_scope_and_guard_private_fields,
    the_audit_log_refuses_update_and_delete,
);

struct Org {
    id: String,
    root: String,
    admin: String,
    admin_token: String,
}

async fn org(app: &TestApp, name: &str) -> Org {
    let boot = app.bootstrap(name).await;
    Org {
        admin_token: app.token_for(&boot.admin_user_id),
        id: boot.organization_id,
        root: boot.account_id,
        admin: boot.admin_user_id,
    }
}

async fn audit_actions(app: &TestApp, org: &str) -> Vec<String> {
    entity::audit_events::Entity::find()
        .filter(entity::audit_events::Column::OrganizationId.eq(org))
        .all(&app.db)
        .await
        .expect("audit rows")
        .into_iter()
        .map(|e| e.action)
        .collect()
}

async fn audit_count(app: &TestApp) -> u64 {
    entity::audit_events::Entity::find().count(&app.db).await.expect("count")
}

fn id(value: &Value) -> String {
    value.as_str().expect("an id").to_owned()
}

async fn an_admin_builds_the_organization_and_every_change_is_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = org(&app, "Acme").await;
    let t = Some(o.admin_token.as_str());

    let data = app
        .graphql(
            t,
            "mutation($p: ID!) { createAccount(name: \"North\", parentId: $p) { id name } }",
            json!({ "p": o.root }),
        )
        .await;
    let north = id(&data.assert_ok()["createAccount"]["id"]);

    let data = app
        .graphql(
            t,
            "mutation($a: ID!) { createSite(name: \"Plant 1\", accountId: $a, tags: [\"north\"]) { id name tags } }",
            json!({ "a": north }),
        )
        .await;
    let site = data.assert_ok()["createSite"].clone();
    assert_eq!(site["tags"], json!(["north"]));
    let site = id(&site["id"]);

    let data = app
        .graphql(
            t,
            "mutation($s: [ID!]!) { createSiteGroup(name: \"All plants\", siteIds: $s) { id } }",
            json!({ "s": [site] }),
        )
        .await;
    let group = id(&data.assert_ok()["createSiteGroup"]["id"]);

    let data = app
        .graphql(
            t,
            "mutation($s: ID!) { createAsset(name: \"Boiler 2\", siteId: $s, tags: [\"hvac\"]) { id site { id } } }",
            json!({ "s": site }),
        )
        .await;
    assert_eq!(data.assert_ok()["createAsset"]["site"]["id"], json!(site));

    let data = app
        .graphql(
            t,
            "mutation($a: ID!) { createUser(name: \"Tom Tech\", email: \"tom@acme.example\", accountId: $a) { id canLogin active } }",
            json!({ "a": north }),
        )
        .await;
    let created = data.assert_ok()["createUser"].clone();
    assert_eq!((created["canLogin"].clone(), created["active"].clone()), (json!(true), json!(true)));
    let tom = id(&created["id"]);

    let grant = "mutation($i: RoleBindingInput!) { grantRole(input: $i) { roleBindings { role scopeKind } } }";
    let data = app
        .graphql(t, grant, json!({ "i": { "userId": tom, "role": "TECHNICIAN", "scopeKind": "SITE", "siteId": site } }))
        .await;
    assert_eq!(data.assert_ok()["grantRole"]["roleBindings"], json!([{ "role": "TECHNICIAN", "scopeKind": "SITE" }]));
    app.graphql(
        t,
        grant,
        json!({ "i": { "userId": tom, "role": "APPROVER", "scopeKind": "SITE_GROUP", "siteGroupId": group } }),
    )
    .await
    .assert_ok();

    // Tom signs in with his roles; the sites he sees are his account's.
    let tom_token = app.token_for(&tom);
    let data = app.graphql(Some(&tom_token), "{ me { roleBindings { role } } sites { id } }", json!({})).await;
    let data = data.assert_ok();
    assert_eq!(data["me"]["roleBindings"].as_array().map(Vec::len), Some(2));
    assert_eq!(data["sites"], json!([{ "id": site }]));

    let data = app
        .graphql(
            t,
            "mutation($i: RoleBindingInput!) { revokeRole(input: $i) { roleBindings { role } } }",
            json!({ "i": { "userId": tom, "role": "APPROVER", "scopeKind": "SITE_GROUP", "siteGroupId": group } }),
        )
        .await;
    assert_eq!(data.assert_ok()["revokeRole"]["roleBindings"], json!([{ "role": "TECHNICIAN" }]));

    let actions = audit_actions(&app, &o.id).await;
    for expected in [
        "account.create",
        "site.create",
        "site_group.create",
        "asset.create",
        "user.create",
        "user.grant_role",
        "user.revoke_role",
    ] {
        assert!(actions.iter().any(|a| a == expected), "no {expected} in the audit log: {actions:?}");
    }
    let by_admin = entity::audit_events::Entity::find()
        .filter(entity::audit_events::Column::Action.eq("user.revoke_role"))
        .one(&app.db)
        .await
        .expect("query")
        .expect("revocation audited");
    assert_eq!(by_admin.actor_id.as_deref(), Some(o.admin.as_str()));
}

async fn non_admins_are_refused_and_nothing_is_written(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = org(&app, "Acme").await;
    let site = app.site(&o.id, &o.root, "HQ").await;
    let planner = app.user(&o.id, &o.root, "Pat Planner").await;
    app.grant(&o.id, &planner, Role::Planner, &Bind::Account).await;
    let tech = app.user(&o.id, &o.root, "Tess Tech").await;
    app.grant(&o.id, &tech, Role::Technician, &Bind::Account).await;
    let (planner_token, tech_token) = (app.token_for(&planner), app.token_for(&tech));
    let before = audit_count(&app).await;

    let refused: [(&str, &str, Value); 7] = [
        (
            &planner_token,
            "mutation($p: ID!) { createAccount(name: \"X\", parentId: $p) { id } }",
            json!({ "p": o.root }),
        ),
        (
            &planner_token,
            "mutation($a: ID!) { createUser(name: \"X\", email: \"x@acme.example\", accountId: $a) { id } }",
            json!({ "a": o.root }),
        ),
        (
            &planner_token,
            "mutation($i: RoleBindingInput!) { grantRole(input: $i) { id } }",
            json!({ "i": { "userId": tech, "role": "ADMIN", "scopeKind": "ACCOUNT" } }),
        ),
        (&planner_token, "mutation($u: ID!) { setUserActive(id: $u, active: false) { id } }", json!({ "u": tech })),
        (
            &planner_token,
            "mutation { createApiToken(name: \"erp\", capabilities: [\"orders:read\"]) { secret } }",
            json!({}),
        ),
        (&tech_token, "mutation($a: ID!) { createSite(name: \"X\", accountId: $a) { id } }", json!({ "a": o.root })),
        (&tech_token, "mutation($s: ID!) { createAsset(name: \"X\", siteId: $s) { id } }", json!({ "s": site })),
    ];
    for (token, query, variables) in refused {
        let response = app.graphql(Some(token), query, variables).await;
        assert_eq!(response.code(), Some("FORBIDDEN"), "{query}: {}", response.body);
        assert!(response.body["errors"][0]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert_eq!(audit_count(&app).await, before, "a refused mutation wrote an audit event");

    // A PLANNER manages locations: sites and assets.
    app.graphql(
        Some(&planner_token),
        "mutation($a: ID!) { createSite(name: \"Depot\", accountId: $a) { id } }",
        json!({ "a": o.root }),
    )
    .await
    .assert_ok();
    // Anonymous callers are not let in at all.
    let anonymous = app
        .graphql(None, "mutation($p: ID!) { createAccount(name: \"X\", parentId: $p) { id } }", json!({ "p": o.root }))
        .await;
    assert_eq!(anonymous.code(), Some("UNAUTHENTICATED"));
}

async fn bad_input_names_the_field_and_writes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = org(&app, "Acme").await;
    let other = org(&app, "Other").await;
    let foreign_site = app.site(&other.id, &other.root, "Theirs").await;
    let t = Some(o.admin_token.as_str());
    let before = audit_count(&app).await;

    let cases: [(&str, Value, &str); 7] = [
        ("mutation($p: ID!) { createAccount(name: \"  \", parentId: $p) { id } }", json!({ "p": o.root }), "name"),
        (
            "mutation($a: ID!) { createUser(name: \"X\", email: \"not-an-address\", accountId: $a) { id } }",
            json!({ "a": o.root }),
            "email",
        ),
        (
            "mutation($a: ID!) { createSite(name: \"X\", accountId: $a) { id } }",
            json!({ "a": other.root }),
            "accountId",
        ),
        ("mutation($s: ID!) { createAsset(name: \"X\", siteId: $s) { id } }", json!({ "s": foreign_site }), "siteId"),
        (
            "mutation($a: ID!) { createSite(name: \"X\", accountId: $a, tags: [\"has space\"]) { id } }",
            json!({ "a": o.root }),
            "tags",
        ),
        (
            "mutation { createApiToken(name: \"erp\", capabilities: [\"orders:destroy\"]) { secret } }",
            json!({}),
            "capabilities[0]",
        ),
        (
            "mutation($i: RoleBindingInput!) { grantRole(input: $i) { id } }",
            json!({ "i": { "userId": o.admin, "role": "PLANNER", "scopeKind": "SITE" } }),
            "input.siteId",
        ),
    ];
    for (query, variables, field) in cases {
        let response = app.graphql(t, query, variables).await;
        assert_eq!(response.code(), Some("BAD_USER_INPUT"), "{query}: {}", response.body);
        assert_eq!(response.body["errors"][0]["extensions"]["field"], json!(field), "{query}: {}", response.body);
    }
    // A taken e-mail address is refused too.
    let create = "mutation($a: ID!, $e: String!) { createUser(name: \"X\", email: $e, accountId: $a) { id } }";
    app.graphql(t, create, json!({ "a": o.root, "e": "dup@acme.example" })).await.assert_ok();
    let again = app.graphql(t, create, json!({ "a": o.root, "e": "dup@acme.example" })).await;
    assert_eq!(again.body["errors"][0]["extensions"]["field"], json!("email"));
    assert_eq!(audit_count(&app).await, before + 1, "only the one valid mutation is audited");
}

async fn child_account_admins_stay_in_their_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = org(&app, "Acme").await;
    let north = app.account(&o.id, &o.root, "North").await;
    let south = app.account(&o.id, &o.root, "South").await;
    let north_admin = app.user(&o.id, &north, "Nora Admin").await;
    app.grant(&o.id, &north_admin, Role::Admin, &Bind::Account).await;
    let south_user = app.user(&o.id, &south, "Sam South").await;
    let north_user = app.user(&o.id, &north, "Ned North").await;
    let token = app.token_for(&north_admin);

    // Users of another child account do not exist for this admin.
    let data = app.graphql(Some(&token), "{ users { id } }", json!({})).await;
    let ids: Vec<String> = data.assert_ok()["users"].as_array().expect("list").iter().map(|u| id(&u["id"])).collect();
    assert!(ids.contains(&north_user) && !ids.contains(&south_user), "{ids:?}");
    let response = app
        .graphql(
            Some(&token),
            "mutation($u: ID!) { setUserActive(id: $u, active: false) { id } }",
            json!({ "u": south_user }),
        )
        .await;
    assert_eq!(response.code(), Some("BAD_USER_INPUT"), "{}", response.body);
    // Their own account's users they administer; child admins do not create accounts.
    app.graphql(
        Some(&token),
        "mutation($u: ID!) { setUserActive(id: $u, active: false) { active } }",
        json!({ "u": north_user }),
    )
    .await
    .assert_ok();
    let response = app
        .graphql(
            Some(&token),
            "mutation($p: ID!) { createAccount(name: \"X\", parentId: $p) { id } }",
            json!({ "p": north }),
        )
        .await;
    assert_eq!(response.code(), Some("FORBIDDEN"));
    // Nobody deactivates themself (an organization must keep an admin).
    let response = app
        .graphql(
            Some(&token),
            "mutation($u: ID!) { setUserActive(id: $u, active: false) { id } }",
            json!({ "u": north_admin }),
        )
        .await;
    assert!(response.code().is_some(), "self-deactivation accepted: {}", response.body);
}

async fn api_token_secrets_are_shown_once_and_revocation_takes_effect(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = org(&app, "Acme").await;
    let t = Some(o.admin_token.as_str());
    let data = app
        .graphql(t, "mutation { createApiToken(name: \"erp\", capabilities: [\"orders:read\"]) { secret token { id name revoked } } }", json!({}))
        .await;
    let created = data.assert_ok()["createApiToken"].clone();
    let secret = created["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("wg_"));
    let token_id = id(&created["token"]["id"]);

    // The secret is nowhere else: not in the list, not in the database.
    let data = app.graphql(t, "{ apiTokens { id name capabilities revoked } }", json!({})).await;
    let listed = data.assert_ok()["apiTokens"].to_string();
    assert!(listed.contains(&token_id) && !listed.contains(&secret));
    let row = entity::api_tokens::Entity::find_by_id(token_id.clone()).one(&app.db).await.expect("query").expect("row");
    assert_ne!(row.secret_hash, secret);
    assert!(!row.secret_hash.contains(&secret[3..]));

    // The token reads orders (an empty list) until revoked.
    let orders = "{ orders(first: 5) { totalCount } }";
    assert_eq!(app.graphql(Some(&secret), orders, json!({})).await.assert_ok()["orders"]["totalCount"], json!(0));
    app.graphql(t, "mutation($i: ID!) { revokeApiToken(id: $i) { revoked } }", json!({ "i": token_id }))
        .await
        .assert_ok();
    assert_eq!(app.graphql(Some(&secret), orders, json!({})).await.code(), Some("UNAUTHENTICATED"));

    // Expiry must lie in the future.
    let response = app
        .graphql(t, "mutation { createApiToken(name: \"old\", capabilities: [\"orders:read\"], expiresAt: \"2001-01-01T00:00:00Z\") { secret } }", json!({}))
        .await;
    assert_eq!(response.body["errors"][0]["extensions"]["field"], json!("expiresAt"), "{}", response.body);
}

async fn account_settings_are_admin_only_and_change_visibility(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = org(&app, "Acme").await;
    let site = app.site(&o.id, &o.root, "HQ").await;
    let asset = app.asset(&o.id, &site, "Chiller", &["hvac"]).await;
    let requester = app.user(&o.id, &o.root, "Rene Requester").await;
    app.grant(&o.id, &requester, Role::Requester, &Bind::Site(site.clone())).await;
    let planner = app.user(&o.id, &o.root, "Pat Planner").await;
    app.grant(&o.id, &planner, Role::Planner, &Bind::Account).await;
    let mut spec = common::world::OrderSpec::new(&o.id, &planner);
    spec.site = Some(site.clone());
    spec.asset = Some(asset);
    let asset_order = app.order(&spec).await;
    spec.asset = None;
    app.order(&spec).await;

    let list = "{ orders { edges { node { id } } } }";
    let requester_token = app.token_for(&requester);
    let visible = |body: &Value| body["orders"]["edges"].as_array().expect("edges").len();
    assert_eq!(visible(app.graphql(Some(&requester_token), list, json!({})).await.assert_ok()), 0);

    let update = "mutation($a: ID!) { updateAccountSettings(accountId: $a, input: { requesterSeesAssetOrders: true }) { settings { requesterSeesAssetOrders plannerMayDelete } } }";
    let refused = app.graphql(Some(&app.token_for(&planner)), update, json!({ "a": o.root })).await;
    assert_eq!(refused.code(), Some("FORBIDDEN"));
    let data = app.graphql(Some(&o.admin_token), update, json!({ "a": o.root })).await;
    assert_eq!(
        data.assert_ok()["updateAccountSettings"]["settings"],
        json!({ "requesterSeesAssetOrders": true, "plannerMayDelete": false })
    );
    // The requester's next request sees the asset's order, and only it.
    let data = app.graphql(Some(&requester_token), list, json!({})).await;
    assert_eq!(data.assert_ok()["orders"]["edges"], json!([{ "node": { "id": asset_order } }]));
    let actions = audit_actions(&app, &o.id).await;
    assert!(actions.iter().any(|a| a.starts_with("account.") && a.contains("settings")), "{actions:?}");
}

async fn directory_queries_follow_scope_and_guard_private_fields(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = org(&app, "Acme").await;
    let north = app.account(&o.id, &o.root, "North").await;
    let south = app.account(&o.id, &o.root, "South").await;
    let hq = app.site(&o.id, &o.root, "HQ").await;
    let plant = app.site(&o.id, &north, "North plant").await;
    let depot = app.site(&o.id, &south, "South depot").await;
    let hq_asset = app.asset(&o.id, &hq, "Lift", &[]).await;
    let plant_asset = app.asset(&o.id, &plant, "Press", &[]).await;
    app.asset(&o.id, &depot, "Truck", &[]).await;
    let tech = app.user(&o.id, &north, "Tom Tech").await;
    app.grant(&o.id, &tech, Role::Technician, &Bind::Account).await;
    let southerner = app.user(&o.id, &south, "Sam South").await;
    let token = app.token_for(&tech);
    let ids = |list: &Value| -> std::collections::BTreeSet<String> {
        list.as_array().expect("list").iter().map(|v| id(&v["id"])).collect()
    };

    // A child account sees its own and the organization-wide root's records.
    let data = app.graphql(Some(&token), "{ sites { id } assets { id } users { id } }", json!({})).await;
    let data = data.assert_ok();
    assert_eq!(ids(&data["sites"]), [hq.clone(), plant.clone()].into());
    assert_eq!(ids(&data["assets"]), [hq_asset.clone(), plant_asset.clone()].into());
    assert!(!ids(&data["users"]).contains(&southerner));
    let data = app.graphql(Some(&token), "query($s: ID) { assets(siteId: $s) { id } }", json!({ "s": plant })).await;
    assert_eq!(ids(&data.assert_ok()["assets"]), [plant_asset].into());

    // Private fields: yours, or ADMIN's; others get null and FORBIDDEN.
    let data = app.graphql(Some(&token), "{ me { email roleBindings { role } } }", json!({})).await;
    assert_eq!(data.assert_ok()["me"]["roleBindings"], json!([{ "role": "TECHNICIAN" }]));
    let response = app
        .graphql(
            Some(&token),
            "query($u: ID!) { node(id: $u) { ... on User { name email } } }",
            json!({ "u": o.admin }),
        )
        .await;
    assert_eq!(response.body["data"]["node"], json!({ "name": "First Admin", "email": null }), "{}", response.body);
    assert_eq!(response.code(), Some("FORBIDDEN"));
    assert_eq!(response.body["errors"][0]["path"], json!(["node", "email"]));
    // Another child account's user does not exist for this caller.
    let response =
        app.graphql(Some(&token), "query($u: ID!) { node(id: $u) { id } }", json!({ "u": southerner })).await;
    assert_eq!(response.body["data"]["node"], Value::Null, "{}", response.body);
    // API tokens are listed for admins only.
    let response = app.graphql(Some(&token), "{ apiTokens { id } }", json!({})).await;
    assert_eq!(response.assert_ok()["apiTokens"], json!([]));
    // A site group is the organization's; a child account reads only the
    // sites of it that it sees, and only the child accounts it sees.
    let group = app.site_group(&o.id, "Everywhere", &[hq.clone(), plant.clone(), depot.clone()]).await;
    let query = "query($g: ID!, $r: ID!) {
        group: node(id: $g) { ... on SiteGroup { sites { id } } }
        root: node(id: $r) { ... on Account { children { id } } } }";
    let vars = json!({ "g": group, "r": o.root });
    let data = app.graphql(Some(&token), query, vars.clone()).await;
    let data = data.assert_ok();
    assert_eq!(ids(&data["group"]["sites"]), [hq.clone(), plant.clone()].into());
    assert_eq!(ids(&data["root"]["children"]), [north.clone()].into());
    let data = app.graphql(Some(&o.admin_token), query, vars).await;
    let data = data.assert_ok();
    assert_eq!(ids(&data["group"]["sites"]), [hq, plant, depot].into(), "the root sees them all");
    assert_eq!(ids(&data["root"]["children"]), [north, south].into());
}

async fn the_audit_log_refuses_update_and_delete(backend: Backend) {
    let app = spawn_app(backend).await;
    org(&app, "Acme").await;
    let before = audit_count(&app).await;
    assert!(before > 0);
    for sql in ["UPDATE audit_events SET action = 'forged'", "DELETE FROM audit_events"] {
        let refused = app.db.execute_unprepared(sql).await;
        assert!(refused.is_err(), "{sql} was accepted");
    }
    assert_eq!(audit_count(&app).await, before);
    assert!(!audit_actions(&app, &org_id(&app).await).await.iter().any(|a| a == "forged"));
}

async fn org_id(app: &TestApp) -> String {
    entity::organizations::Entity::find().one(&app.db).await.expect("query").expect("an organization").id
}
