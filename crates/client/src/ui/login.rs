//! Login, logout and the password change.

use super::*;

#[derive(Template)]
#[template(path = "login.html")]
pub(super) struct LoginT {
    pub(super) l: Layout,
    pub(super) error: Option<String>,
    pub(super) login: String,
    /// The session ended and notifications stopped (until this login).
    pub(super) stopped: bool,
}

/// Whether an unresolved 「通知が止まっています」 stands for this office.
async fn notifications_stopped(o: &OfficeRt) -> bool {
    o.state.notifications(true, 50).await.unwrap_or_default().iter().any(|n| n.kind == crate::daemon::SESSION_ENDED)
}

pub(super) async fn login_page(State(ui): State<S>, Path(p): Path<String>) -> Result<Response, Fail> {
    let o = office(&ui, &p).await?;
    let login = o.profile.read().await.settings.login.clone();
    let stopped = notifications_stopped(&o).await;
    Ok(page(LoginT { l: layout(&ui, &o, "ログイン", "").await, error: None, login, stopped }))
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    pub(super) login: String,
    pub(super) password: String,
}

pub(super) async fn login_post(State(ui): State<S>, Path(p): Path<String>, Form(f): Form<LoginForm>) -> Result<Response, Fail> {
    let o = office(&ui, &p).await?;
    match o.login(f.login.trim(), &f.password).await {
        Ok(s) if s.must_change_password => Ok(Redirect::to(&format!("/o/{p}/password")).into_response()),
        Ok(_) => Ok(Redirect::to(&format!("/o/{p}/")).into_response()),
        Err(e) => {
            let stopped = notifications_stopped(&o).await;
            Ok(page(LoginT { l: layout(&ui, &o, "ログイン", "").await, error: Some(e.to_string()), login: f.login, stopped }))
        }
    }
}

pub(super) async fn logout(State(ui): State<S>, Path(p): Path<String>) -> Result<Response, Fail> {
    let o = office(&ui, &p).await?;
    o.logout().await;
    Ok(Redirect::to(&format!("/o/{p}/login")).into_response())
}

#[derive(Template)]
#[template(path = "password.html")]
pub(super) struct PasswordT {
    pub(super) l: Layout,
    pub(super) error: Option<String>,
}

pub(super) async fn password_page(State(ui): State<S>, Path(p): Path<String>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    Ok(page(PasswordT { l: layout(&ui, &o, "パスワードの変更", "").await, error: None }))
}

#[derive(Deserialize)]
pub(super) struct PasswordForm {
    pub(super) current: String,
    pub(super) new: String,
    pub(super) again: String,
}

pub(super) async fn password_post(State(ui): State<S>, Path(p): Path<String>, Form(f): Form<PasswordForm>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let err = if f.new != f.again {
        Some("新しいパスワードが2回とも同じではありません".to_owned())
    } else {
        o.client().await.change_password(&f.current, &f.new).await.err().map(|e| e.to_string())
    };
    match err {
        None => {
            let login = o.session.read().await.as_ref().map(|s| s.login.clone()).unwrap_or_default();
            o.logout().await;
            let _ = o.login(&login, &f.new).await;
            Ok(Redirect::to(&format!("/o/{p}/")).into_response())
        }
        Some(e) => Ok(page(PasswordT { l: layout(&ui, &o, "パスワードの変更", "").await, error: Some(e) })),
    }
}
