-- Bench data for scripts/explain-orders.sh: 10 child accounts, 200 sites,
-- 2,000 users, 100,000 orders with 1-2 assignees each, an approval step on
-- every PENDING_APPROVAL order (designated approvers on a quarter of them).
--
-- psql variables: org (organization id), root (its root account id), both
-- printed by `workgate bootstrap`. Ids are deterministic (prefix + 32 hex
-- digits, like the real ones) so the script knows the technician's:
--   user 42 (account child 9), TECHNICIAN at site 9 (an account 9 site).
-- Order ids grow with created_at, as UUIDv7 ids do.
\set ON_ERROR_STOP on

CREATE FUNCTION pg_temp.hid(prefix text, n bigint) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT prefix || '_' || lpad(to_hex(n), 32, '0') $$;

BEGIN;

-- Child accounts 1..10 (every account has settings, all switches off).
INSERT INTO accounts (id, organization_id, parent_id, name, created_at)
SELECT pg_temp.hid('acc', k), :'org', :'root', 'Child ' || k, 1700000000000000
FROM generate_series(1, 10) k;
INSERT INTO account_settings (account_id, requester_sees_asset_orders, non_admin_vendor_override, planner_may_delete, updated_at)
SELECT pg_temp.hid('acc', k), false, false, false, 1700000000000000
FROM generate_series(1, 10) k
ON CONFLICT DO NOTHING;

-- Sites 1..200: site i belongs to child account ((i - 1) % 10) + 1.
INSERT INTO sites (id, organization_id, account_id, name, tags, created_at)
SELECT pg_temp.hid('site', i), :'org', pg_temp.hid('acc', ((i - 1) % 10) + 1), 'Site ' || i, '[]', 1700000000000000
FROM generate_series(1, 200) i;

-- Users 1..2000: user j is in child account j % 11 (0: the root account).
INSERT INTO users (id, organization_id, account_id, name, email, active, can_login, hourly_rate_cents, created_at)
SELECT pg_temp.hid('usr', j), :'org',
       CASE WHEN j % 11 = 0 THEN :'root' ELSE pg_temp.hid('acc', j % 11) END,
       'User ' || j, 'u' || j || '@bench.example', true, true, NULL, 1700000000000000
FROM generate_series(1, 2000) j;

-- Role bindings: most users are site technicians or account requesters, a
-- few planners, approvers and admins.
INSERT INTO role_bindings (user_id, role, scope_kind, scope_target, created_at)
SELECT pg_temp.hid('usr', j),
       CASE WHEN j % 20 = 1 THEN 'ADMIN' WHEN j % 20 IN (2, 3) THEN 'PLANNER' WHEN j % 20 IN (4, 5) THEN 'APPROVER'
            WHEN j % 2 = 0 THEN 'TECHNICIAN' ELSE 'REQUESTER' END,
       CASE WHEN j % 20 BETWEEN 1 AND 5 OR j % 2 = 1 THEN 'ACCOUNT' ELSE 'SITE' END,
       CASE WHEN j % 20 BETWEEN 1 AND 5 OR j % 2 = 1 THEN ''
            -- a site of the user's own account (root users: any site)
            ELSE pg_temp.hid('site', ((j / 11) % 20) * 10 + CASE WHEN j % 11 = 0 THEN 1 ELSE j % 11 END) END,
       1700000000000000
FROM generate_series(1, 2000) j
WHERE j <> 42;
-- The technician under test.
INSERT INTO role_bindings (user_id, role, scope_kind, scope_target, created_at)
VALUES (pg_temp.hid('usr', 42), 'TECHNICIAN', 'SITE', pg_temp.hid('site', 9), 1700000000000000);

-- Five organization-wide vendors for purchase orders.
INSERT INTO vendors (id, organization_id, scope_account_id, name, contact_emails, enabled, requires_approval,
                     manual_send, conditions, created_at, updated_at, deleted_at)
SELECT pg_temp.hid('vnd', v), :'org', NULL, 'Vendor ' || v, '[]', true, false, false, '{}',
       1700000000000000, 1700000000000000, NULL
FROM generate_series(1, 5) v;

-- 100,000 orders, one every ~10 minutes over ~2 years; 2% have no site
-- (organization-wide, no scope); 1% are deleted; a fifth of the closed and
-- cancelled ones are archived.
INSERT INTO orders (id, organization_id, number, kind, title, description, priority, status, archived, version,
                    site_id, asset_id, scope_account_id, creator_id, owner_id, via_token_id, vendor_id,
                    estimated_cost_cents, resolution, due_at, created_at, updated_at, closed_at, deleted_at)
SELECT pg_temp.hid('ord', n), :'org',
       CASE WHEN kind = 'WORK' THEN 'WO-' ELSE 'PO-' END || n,
       kind, 'Order ' || n, 'Generated order ' || n, (n * 5 + n / 7) % 4, status,
       status IN ('CLOSED', 'CANCELLED') AND n % 5 = 0, 1,
       CASE WHEN no_site THEN NULL ELSE pg_temp.hid('site', site) END, NULL,
       CASE WHEN no_site THEN NULL ELSE pg_temp.hid('acc', ((site - 1) % 10) + 1) END,
       pg_temp.hid('usr', (n * 131) % 2000 + 1), pg_temp.hid('usr', (n * 197 + 7) % 2000 + 1), NULL,
       CASE WHEN kind = 'WORK' THEN NULL ELSE pg_temp.hid('vnd', n % 5 + 1) END,
       CASE WHEN n % 3 = 0 THEN (n % 1000) * 1000 END, NULL,
       CASE WHEN n % 4 = 0 THEN created + 604800000000 END,
       created, created + ((n * 13) % 604800) * 1000000,
       CASE WHEN status = 'CLOSED' THEN created + 86400000000 END,
       CASE WHEN n % 100 = 0 THEN created + 172800000000 END
FROM (
    SELECT n,
           n % 50 = 0 AS no_site,
           (n * 7919) % 200 + 1 AS site,
           1700000000000000 + n * 600000000 + ((n * 7907) % 600) * 1000000 AS created,
           CASE WHEN (n * 11) % 20 < 14 THEN 'WORK' WHEN (n * 11) % 20 < 17 THEN 'PART'
                WHEN (n * 11) % 20 < 19 THEN 'SERVICE' ELSE 'CAPITAL' END AS kind,
           CASE WHEN (n * 37) % 100 < 40 THEN 'CLOSED' WHEN (n * 37) % 100 < 60 THEN 'OPEN'
                WHEN (n * 37) % 100 < 70 THEN 'IN_PROGRESS' WHEN (n * 37) % 100 < 78 THEN 'PENDING_APPROVAL'
                WHEN (n * 37) % 100 < 83 THEN 'PENDING_REVIEW' WHEN (n * 37) % 100 < 90 THEN 'CANCELLED'
                WHEN (n * 37) % 100 < 93 THEN 'REJECTED' WHEN (n * 37) % 100 < 97 THEN 'SENT'
                WHEN (n * 37) % 100 < 99 THEN 'ACTION_NEEDED' ELSE 'SEND_FAILED' END AS status
    FROM generate_series(1::bigint, 100000) n
) o;
UPDATE organizations SET work_order_seq = 100000, purchase_order_seq = 100000 WHERE id = :'org';

-- One assignee on every order, a second on every third (~133,000 rows).
INSERT INTO order_assignees (order_id, user_id, assigned_at)
SELECT pg_temp.hid('ord', n), pg_temp.hid('usr', (n * 271) % 2000 + 1), 1700000000000000 + n * 600000000
FROM generate_series(1::bigint, 100000) n;
INSERT INTO order_assignees (order_id, user_id, assigned_at)
SELECT pg_temp.hid('ord', n), pg_temp.hid('usr', (n * 389 + 11) % 2000 + 1), 1700000000000000 + n * 600000000
FROM generate_series(3::bigint, 100000, 3) n
ON CONFLICT DO NOTHING;

-- An approval step on every PENDING_APPROVAL order; a quarter of them are
-- a vendor's spend approval with two designated approvers.
-- (n below is the order's number again, from the last 8 hex digits of its id.)
INSERT INTO approval_steps (id, order_id, position, source, decision, decided_by, decided_at, reason)
SELECT 'apst_' || substr(id, 5), id, 0,
       CASE WHEN ('x' || right(id, 8))::bit(32)::int % 4 = 0
            THEN coalesce('vendor:' || vendor_id, 'rule:bench') ELSE 'intake' END,
       NULL, NULL, NULL, NULL
FROM orders WHERE status = 'PENDING_APPROVAL';
INSERT INTO approval_step_approvers (step_id, user_id, order_id)
SELECT s.id, pg_temp.hid('usr', (('x' || right(s.order_id, 8))::bit(32)::int::bigint * 613 + x.k * 997) % 2000 + 1),
       s.order_id
FROM approval_steps s CROSS JOIN (VALUES (1), (2)) x(k)
WHERE s.source <> 'intake'
ON CONFLICT DO NOTHING;

COMMIT;

ANALYZE;
