//! Portal accounts, managed by the administrator: pages (`/admin/users`) and the API
//! (`/api/v1/users`, used by `onewindow user …`). An account acts as a subject exactly like an
//! API credential: an enterprise code (filed), `regulator:<department>` or `admin`. Passwords are
//! hashed with argon2id off the async workers, a bounded number at once (`PasswordHashing`);
//! disabling an account ends its sessions at once.

use axum::body::Bytes;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use store::UserRow;

use super::i18n::{self, M};
use super::page::{Cell, Field, Form as PageForm, Section, Table};
use super::session::{hash_password, valid_password, valid_username};
use super::{Ctx, encode, form_value};
use crate::api::{AppState, authenticate, blocking};
use crate::app::now_ms;
use crate::auth::Principal;
use crate::problem::Problem;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users_page).post(add_user_form))
        .route("/admin/users/{name}/{step}", post(user_step_form))
        .route("/api/v1/users", get(list_users).post(add_user))
        .route("/api/v1/users/{name}/disable", post(disable_user))
        .route("/api/v1/users/{name}/enable", post(enable_user))
}

/// Why an account cannot be created.
#[derive(Debug, PartialEq, Eq)]
pub enum AccountError {
    Invalid(&'static str),
    NotFiled,
    Exists,
}

/// Create an account (the one path of the page, the API and the CLI). `actor` is who asks,
/// in the audit log's words; the account is answered only once its creation is in the log.
pub async fn create_account(
    state: &AppState,
    actor: &str,
    username: &str,
    subject: &str,
    password: &str,
) -> Result<UserRow, Result<AccountError, Problem>> {
    if !valid_username(username) {
        return Err(Ok(AccountError::Invalid(
            "username: 3–64 of A-Z a-z 0-9 . _ -",
        )));
    }
    if !valid_password(password) {
        return Err(Ok(AccountError::Invalid(
            "password: at least 12 characters",
        )));
    }
    if matches!(Principal::from_subject(subject), Principal::Auditor) {
        return Err(Ok(AccountError::Invalid(
            "subject: the auditor reads the audit log through the API; it has no portal account",
        )));
    }
    if !Principal::is_staff_subject(subject) {
        let store = state.store.clone();
        let code = subject.to_string();
        let filed = blocking(move || store.enterprise(&code))
            .await
            .map_err(Err)?;
        if filed.is_none() {
            return Err(Ok(AccountError::NotFiled));
        }
    }
    let store = state.store.clone();
    let name = username.to_string();
    if blocking(move || store.user(&name))
        .await
        .map_err(Err)?
        .is_some()
    {
        return Err(Ok(AccountError::Exists));
    }
    let password = password.to_string();
    let hash = state
        .portal
        .hashing
        .run(move || hash_password(&password))
        .await
        .map_err(|_| Err(super::session::hashing_busy()))?
        .map_err(|e| Err(Problem::unavailable(&e)))?;
    let row = UserRow {
        username: username.to_string(),
        subject: subject.to_string(),
        password_hash: hash,
        created_at_ms: now_ms(),
        disabled_at_ms: None,
    };
    let store = state.store.clone();
    let put = row.clone();
    blocking(move || store.put_user(&put)).await.map_err(Err)?;
    crate::audit::record(
        state,
        vec![crate::audit::entry(
            actor,
            "user.create",
            username,
            "ok",
            &crate::audit::current_source(),
            json!({ "subject": subject }),
        )],
    )
    .await
    .map_err(Err)?;
    Ok(row)
}

/// Disable (`Some(at)`) or enable (`None`) an account, in the audit log as `user.disable` or
/// `user.enable` by `actor`. `Ok(false)`: no such account.
async fn set_account_disabled(
    state: &AppState,
    actor: &str,
    name: &str,
    disabled: Option<i64>,
) -> Result<bool, Problem> {
    let store = state.store.clone();
    let account = name.to_string();
    let found = blocking(move || store.set_user_disabled(&account, disabled)).await?;
    if found {
        let action = if disabled.is_some() {
            "user.disable"
        } else {
            "user.enable"
        };
        crate::audit::record(
            state,
            vec![crate::audit::entry(
                actor,
                action,
                name,
                "ok",
                &crate::audit::current_source(),
                json!({}),
            )],
        )
        .await?;
    }
    Ok(found)
}

fn role_words(subject: &str, ctx: &Ctx) -> String {
    match Principal::from_subject(subject) {
        Principal::Admin => ctx.pick("管理员", "administrator").to_string(),
        Principal::Regulator(d) => format!("{} ({subject})", i18n::department_name(d, ctx.lang)),
        Principal::Enterprise(code) => format!("{} {code}", ctx.t(M::Enterprise)),
        Principal::Auditor => ctx.pick("审计员", "auditor").to_string(),
    }
}

async fn users_page(ctx: Ctx) -> Result<Response, Response> {
    ctx.admin()?;
    users_view(&ctx, None, StatusCode::OK).await
}

async fn users_view(
    ctx: &Ctx,
    note: Option<(&'static str, String)>,
    status: StatusCode,
) -> Result<Response, Response> {
    let store = ctx.state.store.clone();
    let users = blocking(move || store.users())
        .await
        .map_err(|e| ctx.failed(e))?;
    let table = Table {
        caption: ctx.t(M::UsersTitle).to_string(),
        head: vec![
            ctx.t(M::Username).into(),
            ctx.t(M::Role).into(),
            ctx.t(M::Created).into(),
            ctx.t(M::Status).into(),
        ],
        rows: users
            .iter()
            .map(|u| {
                vec![
                    Cell::text(u.username.clone()),
                    Cell::text(role_words(&u.subject, ctx)),
                    Cell::text(i18n::day_of(u.created_at_ms, ctx.lang)),
                    if u.disabled_at_ms.is_some() {
                        Cell::text(ctx.t(M::Disabled)).badge("bad")
                    } else {
                        Cell::text(ctx.t(M::Active)).badge("ok")
                    },
                ]
            })
            .collect(),
    };
    let mut list = Section::new("users", "");
    if ctx.param("done").is_some() {
        list = list.note("ok", ctx.t(M::ActionDone));
    }
    if let Some((kind, text)) = note {
        list = list.note(kind, text);
    }
    list = list.table(table);
    // One small form per account to disable or enable it.
    for u in &users {
        let (step, label) = if u.disabled_at_ms.is_some() {
            ("enable", ctx.t(M::Enable))
        } else {
            ("disable", ctx.t(M::Disable))
        };
        list = list.form(
            PageForm::post(
                &format!("{step}-{}", u.username),
                format!("/admin/users/{}/{step}", encode(&u.username)),
                format!("{label} {}", u.username),
            )
            .field(ctx.csrf_field()),
        );
    }
    let mut role_options = vec![(
        "admin".to_string(),
        ctx.pick("管理员", "administrator").to_string(),
    )];
    role_options.extend(domain::subject::Department::ALL.iter().map(|d| {
        (
            format!("regulator:{d}"),
            i18n::department_name(*d, ctx.lang).to_string(),
        )
    }));
    let add = Section::new("add-user", ctx.t(M::AddUser)).form(
        PageForm::post("add-user-form", "/admin/users", ctx.t(M::AddUser))
            .field(ctx.csrf_field())
            .field(Field::new("text", "username", ctx.t(M::Username)).required())
            .field(
                Field::new("text", "enterprise", ctx.t(M::EnterpriseCode)).hint(ctx.pick(
                    "企业用户填写已备案企业代码；工作人员留空并选择角色。",
                    "For an enterprise's staff, its filed code; for staff, leave empty and pick the role.",
                )),
            )
            .field(Field::new("select", "role", ctx.t(M::Role)).options(role_options))
            .field(
                Field::new("password", "password", ctx.t(M::Password))
                    .required()
                    .autocomplete("new-password")
                    .hint(ctx.pick("至少12位", "at least 12 characters")),
            ),
    );
    Ok(ctx.render(status, ctx.t(M::UsersTitle), &[list, add]))
}

async fn add_user_form(
    ctx: Ctx,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, Response> {
    ctx.admin()?;
    if !ctx.csrf_ok(form_value(&form, "csrf")) {
        return Err(ctx.bad_form());
    }
    let username = form_value(&form, "username").unwrap_or_default();
    let enterprise = form_value(&form, "enterprise").unwrap_or_default();
    let subject = if enterprise.is_empty() {
        form_value(&form, "role").unwrap_or_default()
    } else {
        enterprise
    };
    let password = form
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let actor = ctx.signed_in()?.username.clone();
    match create_account(&ctx.state, &actor, username, subject, password).await {
        Ok(_) => Ok(ctx.redirect("/admin/users?done=1")),
        Err(Ok(AccountError::Exists)) => {
            users_view(
                &ctx,
                Some(("error", ctx.t(M::UserExists).into())),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(Ok(_)) => {
            users_view(
                &ctx,
                Some(("error", ctx.t(M::BadUser).into())),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(Err(problem)) => Err(ctx.failed(problem)),
    }
}

async fn user_step_form(
    ctx: Ctx,
    Path((name, step)): Path<(String, String)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, Response> {
    ctx.admin()?;
    if !ctx.csrf_ok(form_value(&form, "csrf")) {
        return Err(ctx.bad_form());
    }
    let disabled = match step.as_str() {
        "disable" => Some(now_ms()),
        "enable" => None,
        _ => return Err(ctx.not_found()),
    };
    let actor = ctx.signed_in()?.username.clone();
    let found = set_account_disabled(&ctx.state, &actor, &name, disabled)
        .await
        .map_err(|e| ctx.failed(e))?;
    if !found {
        return Err(ctx.not_found());
    }
    Ok(ctx.redirect("/admin/users?done=1"))
}

async fn admin_api(state: &AppState, headers: &HeaderMap) -> Result<(), Problem> {
    match authenticate(state, headers).await? {
        Principal::Admin => Ok(()),
        _ => Err(Problem::forbidden()),
    }
}

fn user_json(u: &UserRow) -> Value {
    json!({
        "username": u.username,
        "subject": u.subject,
        "createdAtMs": u.created_at_ms,
        "disabledAtMs": u.disabled_at_ms,
    })
}

/// `GET /api/v1/users`: every portal account (no password hashes).
async fn list_users(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, Problem> {
    admin_api(&state, &headers).await?;
    let store = state.store.clone();
    let users = blocking(move || store.users()).await?;
    Ok(Json(
        json!({ "users": users.iter().map(user_json).collect::<Vec<_>>() }),
    ))
}

#[derive(Deserialize)]
struct NewUser {
    username: String,
    subject: String,
    password: String,
}

/// `POST /api/v1/users` `{"username", "subject", "password"}`: create a portal account.
async fn add_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    admin_api(&state, &headers).await?;
    let new: NewUser = serde_json::from_slice(&body).map_err(|e| {
        Problem::bad_request(
            "bad-json",
            "expected {\"username\", \"subject\", \"password\"}",
        )
        .detail(e.to_string())
    })?;
    match create_account(
        &state,
        crate::auth::ADMIN,
        &new.username,
        &new.subject,
        &new.password,
    )
    .await
    {
        Ok(row) => Ok((StatusCode::CREATED, Json(user_json(&row))).into_response()),
        Err(Ok(AccountError::Exists)) => Err(Problem::new(
            StatusCode::CONFLICT,
            "user-exists",
            "an account with this username exists",
        )),
        Err(Ok(AccountError::NotFiled)) => Err(Problem::not_found("filed enterprise")),
        Err(Ok(AccountError::Invalid(why))) => Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-user",
            "the account is not valid",
        )
        .detail(why)),
        Err(Err(problem)) => Err(problem),
    }
}

async fn set_disabled(
    state: &AppState,
    headers: &HeaderMap,
    name: String,
    disabled: Option<i64>,
) -> Result<StatusCode, Problem> {
    admin_api(state, headers).await?;
    if set_account_disabled(state, crate::auth::ADMIN, &name, disabled).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Problem::not_found("user"))
    }
}

/// `POST /api/v1/users/{name}/disable`: the account cannot log in, and its sessions end now.
async fn disable_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<StatusCode, Problem> {
    set_disabled(&state, &headers, name, Some(now_ms())).await
}

/// `POST /api/v1/users/{name}/enable`.
async fn enable_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<StatusCode, Problem> {
    set_disabled(&state, &headers, name, None).await
}
