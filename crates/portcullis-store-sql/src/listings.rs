//! The listing statements (count and page) of every paged listing, built once for both
//! engines. A builder returns the two [`QueryBuilder`]s ready to run, or `None` when the query
//! cannot match any row (a value its column cannot hold, an unknown order field), which the
//! backend answers with an empty page without asking the database.

use crate::filter::{Bind, Dialect, push_filter};
use crate::listing::{Cell, ColumnKind, push_match, push_order, push_order_and_page};
use crate::{DbTime, FieldTable};
use portcullis_store::activity::ActivityField;
use portcullis_store::filter::ValueKind;
use portcullis_store::{
    ActivityQuery, ApplicationField, ApplicationQuery, Page, ResourceQuery, TokenField,
    TokenKindFilter, TokenQuery, UserField, UserQuery,
};
use sqlx::{Database, Executor, FromRow, IntoArguments, Pool, QueryBuilder};

/// The two statements of one page of a listing.
pub struct Listing<DB: Database> {
    /// `SELECT COUNT(*) …` with the listing's `WHERE`.
    pub count: QueryBuilder<DB>,
    /// The page itself: columns, `WHERE`, `ORDER BY`, `LIMIT`, `OFFSET`.
    pub select: QueryBuilder<DB>,
}

impl<DB: Database> Listing<DB> {
    /// Runs both statements on `pool` and decodes the page's rows with `decode`.
    pub async fn fetch<T>(
        mut self,
        pool: &Pool<DB>,
        decode: impl Fn(&DB::Row) -> Result<T, sqlx::Error>,
    ) -> Result<Page<T>, sqlx::Error>
    where
        for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
        DB::Arguments: IntoArguments<DB>,
        (i64,): for<'r> FromRow<'r, DB::Row>,
    {
        let total: i64 = self.count.build_query_scalar().fetch_one(pool).await?;
        let rows = self.select.build().fetch_all(pool).await?;
        let items = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
        Ok(Page { total, items })
    }
}

/// Both statements of a listing: `count` and `select` start as given and get the same
/// `WHERE` from `push_where`; `select` then gets the order and page from `push_tail`.
fn listing<DB: Database>(
    count: &str,
    select: &str,
    push_where: impl Fn(&mut QueryBuilder<DB>),
    push_tail: impl FnOnce(&mut QueryBuilder<DB>),
) -> Listing<DB> {
    let mut count = QueryBuilder::new(count);
    push_where(&mut count);
    let mut select = QueryBuilder::new(select);
    push_where(&mut select);
    push_tail(&mut select);
    Listing { count, select }
}

/// Parses every `(field, value)` filter through its column table; `None` when a value cannot
/// fit its column, so the listing matches no row.
fn parse_filters<F: Copy>(
    filters: &[(F, String)],
    column: impl Fn(F) -> (&'static str, ColumnKind, bool),
) -> Option<Vec<(&'static str, Cell)>> {
    filters
        .iter()
        .map(|(field, value)| {
            let (column, kind, _) = column(*field);
            kind.parse(value).map(|cell| (column, cell))
        })
        .collect()
}

/// The user listing ([`portcullis_store::UserStore::list_users`]).
pub fn users<D: Dialect>(query: &UserQuery) -> Listing<D::DB>
where
    i64: Bind<D::DB>,
    String: Bind<D::DB>,
    bool: Bind<D::DB>,
    DbTime: Bind<D::DB>,
{
    let push_where = |qb: &mut QueryBuilder<D::DB>| {
        qb.push(" WHERE TRUE");
        if let Some(only) = query.only {
            qb.push(" AND id = ").push_bind(only.0);
        }
        if let Some(organization) = query.member_of {
            qb.push(
                " AND id IN (SELECT user_id FROM organization_members WHERE organization_id = ",
            )
            .push_bind(organization)
            .push(")");
        }
        let table = |f: &UserField| Some((f.column(), f.kind()));
        let search = UserField::SEARCH.map(UserField::column);
        push_filter::<D, UserField>(qb, &query.filter, &table, &search);
    };
    let select = concat!("SELECT ", crate::user_columns!(), " FROM users");
    listing("SELECT COUNT(*) FROM users", select, push_where, |qb| {
        let field = query.order.field;
        // Never-logged-in users sort as if later than everyone (PostgreSQL's default),
        // spelled out so both backends page identically.
        let nullable = field == UserField::LastLogin;
        let order = Some((field.column(), query.order.descending, nullable));
        push_order_and_page(qb, order, UserField::Id.column(), query.limit, query.offset);
    })
}

/// The column of an activity order field (a fixed table: names are never interpolated from
/// input), and whether it holds text (sorted byte by byte on both engines).
fn activity_column(field: ActivityField) -> (&'static str, bool) {
    match field {
        ActivityField::Id => ("id", false),
        ActivityField::Timestamp => ("timestamp", false),
        ActivityField::Operation => ("operation", true),
        ActivityField::Object1 => ("object1", true),
        ActivityField::Actor => ("actor_id", false),
    }
}

/// The activity-stream listing ([`portcullis_store::ActivityStore::list_activity`]): its
/// order with the id tie-break, or newest first.
pub fn activity<D: Dialect>(query: &ActivityQuery) -> Listing<D::DB>
where
    i64: Bind<D::DB>,
    String: Bind<D::DB>,
    DbTime: Bind<D::DB>,
{
    let push_where = |qb: &mut QueryBuilder<D::DB>| {
        qb.push(" WHERE TRUE");
        if let Some(object1) = &query.object1 {
            qb.push(" AND object1 = ").push_bind(object1.clone());
        }
        if let Some(id) = query.object1_id {
            qb.push(" AND object1_id = ").push_bind(id);
        }
        if let Some(actor) = query.actor {
            qb.push(" AND actor_id = ").push_bind(actor.0);
        }
        if let Some(id) = query.id {
            qb.push(" AND id = ").push_bind(id);
        }
        if let Some(operation) = &query.operation {
            qb.push(" AND operation = ").push_bind(operation.clone());
        }
        if let Some(ts) = query.timestamp {
            qb.push(" AND timestamp = ").push_bind(DbTime(ts));
        }
        if let Some(since) = query.since {
            qb.push(" AND timestamp >= ").push_bind(DbTime(since));
        }
        if let Some(until) = query.until {
            qb.push(" AND timestamp < ").push_bind(DbTime(until));
        }
        if let Some(user) = query.involving {
            qb.push(" AND (actor_id = ")
                .push_bind(user.0)
                .push(" OR (object1 = 'user' AND object1_id = ")
                .push_bind(user.0)
                .push("))");
        }
    };
    let select = concat!(
        "SELECT ",
        crate::activity_columns!(),
        " FROM activity_stream"
    );
    listing(
        "SELECT COUNT(*) FROM activity_stream",
        select,
        push_where,
        |qb| {
            match query.order {
                None => {
                    qb.push(" ORDER BY id DESC");
                }
                Some(order) => {
                    let (column, text) = activity_column(order.field);
                    qb.push(" ORDER BY ").push(column);
                    if text {
                        qb.push(D::BYTE_ORDER);
                    }
                    qb.push(if order.descending { " DESC" } else { " ASC" });
                    if order.field == ActivityField::Actor {
                        qb.push(if order.descending {
                            " NULLS FIRST"
                        } else {
                            " NULLS LAST"
                        });
                    }
                    if order.field != ActivityField::Id {
                        qb.push(", id ASC");
                    }
                }
            }
            qb.push(" LIMIT ")
                .push_bind(query.limit.max(0))
                .push(" OFFSET ")
                .push_bind(query.offset.max(0));
        },
    )
}

/// Fixed column, filter kind and nullability of each token field (never caller text in SQL).
fn token_column(field: TokenField) -> (&'static str, ColumnKind, bool) {
    match field {
        TokenField::Id => ("t.id", ColumnKind::Int, false),
        TokenField::Description => ("t.description", ColumnKind::Text, false),
        TokenField::User => ("t.user_id", ColumnKind::Related, false),
        TokenField::Application => ("t.application_id", ColumnKind::Related, true),
        TokenField::Expires => ("t.expires_at", ColumnKind::Instant, false),
        TokenField::Scope => ("t.scope", ColumnKind::Text, false),
        TokenField::Created => ("t.created_at", ColumnKind::Instant, false),
        TokenField::Modified => ("t.modified_at", ColumnKind::Instant, false),
    }
}

/// The live-token listing ([`portcullis_store::TokenStore::list_tokens`]); `None` when a
/// filter value cannot fit its column.
pub fn tokens<DB: Database>(query: &TokenQuery) -> Option<Listing<DB>>
where
    i64: Bind<DB>,
    String: Bind<DB>,
    bool: Bind<DB>,
    DbTime: Bind<DB>,
{
    let filters = parse_filters(&query.filters, token_column)?;
    let push_where = |qb: &mut QueryBuilder<DB>| {
        qb.push(concat!(" WHERE ", crate::live_token!()));
        if let Some(user) = query.user {
            qb.push(" AND t.user_id = ").push_bind(user.0);
        }
        if let Some(app) = query.application {
            qb.push(" AND t.application_id = ").push_bind(app.0);
        }
        match query.kind {
            TokenKindFilter::All => {}
            TokenKindFilter::Personal => {
                qb.push(" AND t.application_id IS NULL");
            }
            TokenKindFilter::Application => {
                qb.push(" AND t.application_id IS NOT NULL");
            }
        }
        for (column, cell) in &filters {
            push_match(qb, column, cell);
        }
    };
    // The page's ids are chosen from the token table alone, then joined: the rows an OFFSET
    // skips are never joined to their owner and application, which keeps a deep page of
    // 100 000 tokens as cheap as the count (`bench/console.sh`).
    let select = concat!(
        "SELECT ",
        crate::token_columns!(),
        ", ",
        crate::owner_columns!(),
        crate::token_from!(),
        " WHERE t.id IN (SELECT t.id FROM oauth_access_tokens t"
    );
    let order = query.order.map(|(field, descending)| {
        let (column, _, nullable) = token_column(field);
        (column, descending, nullable)
    });
    Some(listing(
        "SELECT COUNT(*) FROM oauth_access_tokens t",
        select,
        push_where,
        |qb| {
            push_order_and_page(qb, order, "t.id", query.limit, query.offset);
            qb.push(")");
            push_order(qb, order, "t.id");
        },
    ))
}

/// Fixed column, filter kind and nullability of each application field (never caller text
/// in SQL).
fn app_column(field: ApplicationField) -> (&'static str, ColumnKind, bool) {
    match field {
        ApplicationField::Id => ("id", ColumnKind::Int, false),
        ApplicationField::Name => ("name", ColumnKind::Text, false),
        ApplicationField::Description => ("description", ColumnKind::Text, false),
        ApplicationField::ClientId => ("client_id", ColumnKind::Text, false),
        ApplicationField::ClientType => ("client_type", ColumnKind::Text, false),
        ApplicationField::RedirectUris => ("redirect_uris", ColumnKind::Text, false),
        ApplicationField::AuthorizationGrantType => {
            ("authorization_grant_type", ColumnKind::Text, false)
        }
        ApplicationField::SkipAuthorization => ("skip_authorization", ColumnKind::Bool, false),
        ApplicationField::Organization => ("organization", ColumnKind::Related, true),
        ApplicationField::Created => ("created_at", ColumnKind::Instant, false),
        ApplicationField::Modified => ("modified_at", ColumnKind::Instant, false),
    }
}

/// The application listing ([`portcullis_store::AppStore::list_applications`]); `None` when
/// a filter value cannot fit its column.
pub fn applications<DB: Database>(query: &ApplicationQuery) -> Option<Listing<DB>>
where
    i64: Bind<DB>,
    String: Bind<DB>,
    bool: Bind<DB>,
    DbTime: Bind<DB>,
{
    let filters = parse_filters(&query.filters, app_column)?;
    let push_where = |qb: &mut QueryBuilder<DB>| {
        qb.push(" WHERE TRUE");
        for (column, cell) in &filters {
            push_match(qb, column, cell);
        }
    };
    let select = concat!("SELECT ", crate::app_columns!(), " FROM oauth_applications");
    Some(listing(
        "SELECT COUNT(*) FROM oauth_applications",
        select,
        push_where,
        |qb| {
            let order = query.order.map(|(field, descending)| {
                let (column, _, nullable) = app_column(field);
                (column, descending, nullable)
            });
            push_order_and_page(qb, order, "id", query.limit, query.offset);
        },
    ))
}

/// An orderable resource column: SQL, and whether it holds NULLs.
type OrderColumn = (&'static str, bool);

/// The host count of inventory `i`, as a fixed SQL expression (for ordering).
const TOTAL_HOSTS: &str = "(SELECT COUNT(*) FROM hosts h WHERE h.inventory_id = i.id)";

/// Filterable inventory fields: API name → column and kind.
fn inventory_filter(field: &str) -> Option<(&'static str, ColumnKind)> {
    Some(match field {
        "id" => ("i.id", ColumnKind::Int),
        "name" => ("i.name", ColumnKind::Text),
        "description" => ("i.description", ColumnKind::Text),
        "organization" => ("i.organization", ColumnKind::Related),
        "kind" => ("i.kind", ColumnKind::Text),
        "variables" => ("i.variables", ColumnKind::Text),
        "created" => ("i.created_at", ColumnKind::Instant),
        "modified" => ("i.modified_at", ColumnKind::Instant),
        _ => return None,
    })
}

/// Orderable inventory fields: the filterable ones plus `total_hosts`.
fn inventory_order(field: &str) -> Option<OrderColumn> {
    if field == "total_hosts" {
        return Some((TOTAL_HOSTS, false));
    }
    inventory_filter(field).map(|(column, _)| (column, field == "organization"))
}

/// Filterable (and orderable) host fields: API name → column and kind.
fn host_filter(field: &str) -> Option<(&'static str, ColumnKind)> {
    Some(match field {
        "id" => ("id", ColumnKind::Int),
        "name" => ("name", ColumnKind::Text),
        "description" => ("description", ColumnKind::Text),
        "inventory" => ("inventory_id", ColumnKind::Related),
        "enabled" => ("enabled", ColumnKind::Bool),
        "instance_id" => ("instance_id", ColumnKind::Text),
        "created" => ("created_at", ColumnKind::Instant),
        "modified" => ("modified_at", ColumnKind::Instant),
        _ => return None,
    })
}

/// Orderable host fields: the filterable ones (none of them holds NULLs).
fn host_order(field: &str) -> Option<OrderColumn> {
    host_filter(field).map(|(column, _)| (column, false))
}

/// A resource listing: `None` when the order names a field outside `order_table`, which
/// matches nothing.
fn resources<D: Dialect>(
    query: &ResourceQuery,
    filter_table: fn(&str) -> Option<(&'static str, ColumnKind)>,
    order_table: fn(&str) -> Option<OrderColumn>,
    search: &[&'static str],
    inventory: Option<i64>,
    (count, select, id_column): (&str, &str, &'static str),
) -> Option<Listing<D::DB>>
where
    i64: Bind<D::DB>,
    String: Bind<D::DB>,
    bool: Bind<D::DB>,
    DbTime: Bind<D::DB>,
{
    let order = match &query.order {
        None => None,
        Some((field, descending)) => {
            let (column, nullable) = order_table(field)?;
            Some((column, *descending, nullable))
        }
    };
    let table = move |field: &String| -> Option<(&'static str, ValueKind)> {
        filter_table(field).map(|(column, kind)| (column, kind.value_kind()))
    };
    let table: FieldTable<'_, String> = &table;
    let push_where = |qb: &mut QueryBuilder<D::DB>| {
        qb.push(" WHERE TRUE");
        if let Some(inventory) = inventory {
            qb.push(" AND inventory_id = ").push_bind(inventory);
        }
        push_filter::<D, String>(qb, &query.filter, table, search);
    };
    Some(listing(count, select, push_where, |qb| {
        push_order_and_page(qb, order, id_column, query.limit, query.offset);
    }))
}

/// The inventory listing ([`portcullis_store::ResourceStore::list_inventories`]); `None` for
/// an unknown order field. `inventory` restricts hosts only; inventories ignore it.
pub fn inventories<D: Dialect>(query: &ResourceQuery) -> Option<Listing<D::DB>>
where
    i64: Bind<D::DB>,
    String: Bind<D::DB>,
    bool: Bind<D::DB>,
    DbTime: Bind<D::DB>,
{
    let select = concat!(
        "SELECT ",
        crate::inventory_columns!(),
        " FROM inventories i"
    );
    resources::<D>(
        query,
        inventory_filter,
        inventory_order,
        &["i.name", "i.description"],
        None,
        ("SELECT COUNT(*) FROM inventories i", select, "i.id"),
    )
}

/// The host listing ([`portcullis_store::ResourceStore::list_hosts`]); `None` for an unknown
/// order field.
pub fn hosts<D: Dialect>(query: &ResourceQuery) -> Option<Listing<D::DB>>
where
    i64: Bind<D::DB>,
    String: Bind<D::DB>,
    bool: Bind<D::DB>,
    DbTime: Bind<D::DB>,
{
    let select = concat!("SELECT ", crate::host_columns!(), " FROM hosts");
    resources::<D>(
        query,
        host_filter,
        host_order,
        &["name", "description"],
        query.inventory,
        ("SELECT COUNT(*) FROM hosts", select, "id"),
    )
}
