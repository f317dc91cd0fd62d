//! トップ and the new-message banner.

use super::*;

use renkei_screens::office::{TopPage, licence_line};

pub(super) async fn top(State(ui): State<S>, Path(p): Path<String>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    if o.session.read().await.as_ref().is_some_and(|s| s.must_change_password) {
        return Ok(Redirect::to(&format!("/o/{p}/password")).into_response());
    }
    let hub = o.client().await;
    let prof = o.profile.read().await.clone();
    let unread = match hub.all(false, InboxQuery { status: Some("not_fetched".into()), ..InboxQuery::default() }).await {
        Ok(v) => v.len(),
        Err(e) => return Err(hub_fail(&ui, &o, e, "トップ", "top").await),
    };
    let mut warnings = Vec::new();
    let terminal = match crate::profile::certificate(&prof.dir) {
        Some(c) => format!(
            "{}（電子証明書 {}、有効期限 {}{}）",
            prof.settings.terminal_id,
            c.serial,
            c.valid_until,
            if c.days_left >= 0 { format!("・あと {} 日", c.days_left) } else { "・期限切れ".into() }
        ),
        None => format!("{}（電子証明書を読めません）", prof.settings.terminal_id),
    };
    match crate::profile::certificate_days_left(&prof.dir) {
        Some(d) if d < 0 => warnings.push("この端末の電子証明書は有効期限が切れています。管理者に再登録を依頼してください".into()),
        Some(d) if d <= 30 => warnings.push(format!("この端末の電子証明書はあと {d} 日で有効期限が切れます。早めに更新してください")),
        _ => {}
    }
    let mut version = crate::hub::VERSION.to_owned();
    let mut operating = None;
    let licence = match hub.office().await {
        Ok(s) => {
            operating = Some(renkei_screens::office::operating(&s));
            if !s.license_valid {
                warnings.push("この事業所のライセンスが有効ではありません。送受信できなくなります。ポータルで更新してください".into());
            }
            if let Some(min) = &s.minimum_client_version {
                version.push_str(&format!("（連携基盤が受け付けるのは {min} 以降）"));
            }
            licence_line(&s)
        }
        Err(e) => format!("確認できません（{e}）"),
    };
    if let Some(s) = o.session.read().await.as_ref()
        && let Some(exp) = s
            .password_expires_at
            .as_deref()
            .and_then(|e| time::OffsetDateTime::parse(e, &time::format_description::well_known::Rfc3339).ok())
    {
        let days = (exp - time::OffsetDateTime::now_utc()).whole_days();
        if days <= 14 {
            warnings.push(format!("パスワードの有効期限まであと {} 日です。早めに変更してください", days.max(0)));
        }
    }
    if let Some(s) = o.session.read().await.as_ref() {
        warnings.extend(
            time::OffsetDateTime::parse(&s.expires_at, &time::format_description::well_known::Rfc3339)
                .ok()
                .filter(|e| crate::daemon::ending_soon(*e, time::OffsetDateTime::now_utc()))
                .map(|_| "まもなくログインの有効期限が切れます。作業を保存してください".to_owned()),
        );
    }
    let notices = hub.notices().await.unwrap_or_default().into_iter().map(|n| (jst(&n.published_at), n.title, n.body)).collect();
    let notes = o.state.notifications(false, 10).await.unwrap_or_default().into_iter().map(|n| (jst_unix(n.at), n.title, n.body)).collect();
    let watch = match (&prof.settings.export_dir, prof.settings.watch) {
        (Some(d), true) => {
            format!("{}（{}）", d.display(), if prof.settings.auto_send { "正しいファイルは自動で送信" } else { "確認してから送信" })
        }
        (Some(d), false) => format!("{}（監視していません）", d.display()),
        _ => "設定されていません".into(),
    };
    Ok(page(TopPage {
        l: layout(&ui, &o, "トップ", "top").await,
        live: o.live.load(std::sync::atomic::Ordering::Relaxed),
        unread,
        watch,
        import_dir: prof.import_dir().display().to_string(),
        terminal,
        licence,
        version,
        operating,
        warnings,
        notices,
        notes,
    }))
}

#[derive(Template)]
#[template(path = "banner.html")]
pub(super) struct BannerT {
    pub(super) profile: String,
    pub(super) count: usize,
    pub(super) title: String,
    pub(super) body: String,
    pub(super) upto: i64,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ShownQ {
    /// What the page shows now (`upto-count`), sent back by the polling banner.
    #[serde(default)]
    pub(super) shown: String,
}

/// The banner, polled every 2 seconds. When what it would show is what the page already shows,
/// nothing is swapped (`HX-Reswap: none`): the 閉じる button keeps the keyboard focus and screen
/// readers hear nothing twice.
pub(super) async fn banner(State(ui): State<S>, Path(p): Path<String>, Query(q): Query<ShownQ>) -> Result<Response, Fail> {
    let o = office(&ui, &p).await?;
    let n = o.state.notifications(true, 50).await.unwrap_or_default();
    let first = n.first().cloned();
    let marker = format!("{}-{}", first.as_ref().map(|x| x.id).unwrap_or_default(), n.len());
    if q.shown == marker {
        return Ok(([("hx-reswap", "none")], Html(String::new())).into_response());
    }
    Ok(page(BannerT {
        profile: p,
        count: n.len(),
        title: first.as_ref().map(|x| x.title.clone()).unwrap_or_default(),
        body: first.as_ref().map(|x| x.body.clone()).unwrap_or_default(),
        upto: first.map(|x| x.id).unwrap_or_default(),
    }))
}

#[derive(Deserialize)]
pub(super) struct UptoQ {
    pub(super) upto: i64,
}

pub(super) async fn banner_seen(State(ui): State<S>, Path(p): Path<String>, Query(q): Query<UptoQ>) -> Result<Response, Fail> {
    let o = office(&ui, &p).await?;
    let _ = o.state.seen(q.upto).await;
    Ok(Html(String::new()).into_response())
}
