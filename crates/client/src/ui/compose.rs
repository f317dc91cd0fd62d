//! 新規作成: the form, its live check, the send, the recipient lookup.

use super::*;

use renkei_screens::office::{ComposePage, Finding, NAME_HEADLINE, VerdictView, VerdictsPage};

#[derive(Debug, Default)]
pub(super) struct ComposeForm {
    pub(super) to: String,
    pub(super) purpose: String,
    pub(super) month: String,
    pub(super) subject: String,
    pub(super) units: String,
    pub(super) note: String,
    pub(super) action: String,
    pub(super) files: Vec<Candidate>,
    pub(super) draft: String,
    pub(super) version: i64,
    pub(super) held: String,
    pub(super) keep: Vec<usize>,
}

pub(super) async fn read_compose(mut mp: Multipart) -> Result<ComposeForm, String> {
    let mut f = ComposeForm::default();
    while let Some(field) = mp.next_field().await.map_err(|e| format!("送信内容を読めません: {e}"))? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let fname = field.file_name().unwrap_or_default().rsplit(['/', '\\']).next().unwrap_or_default().to_owned();
            let bytes = field.bytes().await.map_err(|e| format!("ファイルを読めません: {e}"))?;
            if fname.is_empty() && bytes.is_empty() {
                continue;
            }
            if crate::archive::is_zip(&bytes) && fname.to_ascii_lowercase().ends_with(".zip") {
                let entries = crate::archive::extract(&bytes, crate::archive::Limits::default()).map_err(|e| format!("{fname}: {e}"))?;
                f.files.extend(entries.into_iter().map(|(n, b)| Candidate {
                    source: format!("{fname}!{n}"),
                    name: n,
                    bytes: b,
                    path: None,
                }));
            } else {
                f.files.push(Candidate { source: fname.clone(), name: fname, bytes: bytes.to_vec(), path: None });
            }
            continue;
        }
        let v = field.text().await.map_err(|e| format!("送信内容を読めません: {e}"))?;
        match name.as_str() {
            "to" => f.to = v.trim().to_owned(),
            "purpose" => f.purpose = v,
            "month" => f.month = v.trim().to_owned(),
            "subject" => f.subject = v.trim().to_owned(),
            "units" => f.units = v.trim().to_owned(),
            "note" => f.note = v,
            "action" => f.action = v,
            "draft" => f.draft = v.trim().to_owned(),
            "version" => f.version = v.trim().parse().unwrap_or(0),
            "held" => f.held = v.trim().to_owned(),
            "keep" => f.keep.extend(v.trim().parse::<usize>().ok()),
            _ => {}
        }
    }
    Ok(f)
}

/// What the form says besides its files: for a contact kind, the contact (its fields checked by
/// the one rule the hub applies, `Contact::from_fields`); for 通常の送信, the note, with the
/// 利用者 (if one was typed) as its first line rather than dropped.
pub fn words_of(purpose: &str, month: &str, subject: &str, units: &str, note: &str) -> Result<Words, String> {
    renkei_screens::office::words_of(purpose, month, subject, units, note).map(|(note, contact)| Words { note, contact })
}

pub(super) async fn compose_page(State(ui): State<S>, Path(p): Path<String>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    Ok(page(ComposePage::new(layout(&ui, &o, "新規作成", "compose").await)))
}

/// 下書き一覧 → 開く: the draft in the 新規作成 form, to change (更新) or send.
pub(super) async fn draft_page(State(ui): State<S>, Path((p, id)): Path<(String, String)>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let d = match o.client().await.draft(&id).await {
        Ok(d) => d,
        Err(e) => return Err(hub_fail(&ui, &o, e, "下書きの編集", "drafts").await),
    };
    let t = renkei_screens::office::draft_form(layout(&ui, &o, "下書きの編集", "drafts").await, &d);
    Ok(page(t))
}

/// 下書きの編集: one file less.
pub(super) async fn draft_remove_file(State(ui): State<S>, Path((p, id, idx)): Path<(String, String, u32)>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    match o.client().await.remove_draft_file(&id, idx).await {
        Ok(_) => Ok(Redirect::to(&format!("/o/{p}/drafts/{id}")).into_response()),
        Err(e) => Err(hub_fail(&ui, &o, e, "下書きの編集", "drafts").await),
    }
}

/// One file's verdict as the screens show it.
pub fn verdict_view(v: &FileVerdict) -> VerdictView {
    VerdictView::new(&v.name, v.kind.as_deref(), v.to.as_deref(), &v.errors, &v.warnings)
}

pub(super) async fn compose_check(State(ui): State<S>, Path(p): Path<String>, mp: Multipart) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let office = o.profile.read().await.settings.office.clone();
    let f = match read_compose(mp).await {
        Ok(f) => f,
        Err(e) => return Ok(Html(format!("<p class=\"error\">{}</p>", askama_escape(&e))).into_response()),
    };
    let to = (!f.to.is_empty()).then_some(f.to.as_str());
    let client = o.client().await;
    let bad_to = match to {
        Some(t) => destination_problem(&client, &office, t).await,
        None => None,
    };
    let registry = outgoing::registered(Some(&client), &office, outgoing::failing_numbers(&office, to, &f.files)).await;
    let plan = outgoing::plan(&office, to, f.files, vec![], &registry);
    let mut files: Vec<VerdictView> = plan.verdicts.iter().map(verdict_view).collect();
    if let Some(problem) = bad_to {
        // Nothing can be sent to a number that is not one: no file is 「送信できます」.
        for v in &mut files {
            v.ok = false;
            v.errors.insert(
                0,
                Finding {
                    text: format!("送信先の事業所番号「{}」が正しくありません: {problem}", f.to), rule: String::new()
                },
            );
        }
    }
    Ok(page(VerdictsPage { files }))
}

/// What is wrong with `to` as a destination, or `None`. The shape (10 characters, the letter
/// rule, the prefecture) is checked here; a check digit that fails is the registry's question:
/// a registered number is accepted (real, published numbers fail the check digit), an
/// unregistered one keeps the check-digit error and its hint.
async fn destination_problem(client: &crate::hub::HubClient, office: &str, to: &str) -> Option<String> {
    let n = match renkei_spec::ids::OfficeNumber::parse_shape(to.trim()) {
        Ok(n) => n,
        Err(p) => return Some(p.ja),
    };
    let problem = n.check_digit_problem(false)?;
    let failing = std::collections::BTreeSet::from([n.to_string()]);
    if outgoing::registered(Some(client), office, failing).await.contains(n.as_str()) { None } else { Some(problem.ja) }
}

pub(super) use renkei_screens::office::escape as askama_escape;

/// The form again with an error: what was typed stays, and so do the files (held here, listed
/// on the form, sent with it next time), so that nothing has to be chosen again.
async fn refused(o: &OfficeRt, l: Layout, f: ComposeForm, error: String) -> Response {
    let mut t = ComposePage::new(l);
    t.to = f.to;
    t.purpose = if f.purpose.is_empty() { "free".into() } else { f.purpose };
    t.month = f.month;
    t.subject = f.subject;
    t.units = f.units;
    t.note = f.note;
    t.error = Some(error);
    t.draft = f.draft;
    t.version = f.version;
    if !t.draft.is_empty()
        && let Ok(d) = o.client().await.draft(&t.draft).await
    {
        t.existing = d.files.iter().map(|f| (f.index, f.name.clone())).collect();
    }
    if !f.files.is_empty() {
        t.held_files = f.files.iter().map(|c| c.name.clone()).collect();
        t.held = o.hold(f.files).await;
    }
    page(t)
}

pub(super) async fn compose_post(State(ui): State<S>, Path(p): Path<String>, mp: Multipart) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let office = o.profile.read().await.settings.office.clone();
    let mut f = match read_compose(mp).await {
        Ok(f) => f,
        Err(e) => return Err(Fail::Msg(Box::new(layout(&ui, &o, "新規作成", "compose").await), e)),
    };
    let editing = !f.draft.is_empty();
    let l = if editing { layout(&ui, &o, "下書きの編集", "drafts").await } else { layout(&ui, &o, "新規作成", "compose").await };
    if !f.held.is_empty() {
        // The files of the refused form, as many as are still ticked, then any new ones.
        let held = o.take_held(&f.held).await.unwrap_or_default();
        let mut kept: Vec<Candidate> = held.into_iter().enumerate().filter(|(i, _)| f.keep.contains(i)).map(|(_, c)| c).collect();
        kept.append(&mut f.files);
        f.files = kept;
    }
    let client = o.client().await;
    if let Some(problem) = destination_problem(&client, &office, &f.to).await {
        let e = format!("送信先の事業所番号「{}」が正しくありません: {problem}", f.to);
        return Ok(refused(&o, l, f, e).await);
    }
    let words = match words_of(&f.purpose, &f.month, &f.subject, &f.units, &f.note) {
        Ok(w) => w,
        Err(e) => return Ok(refused(&o, l, f, e).await),
    };
    if !editing && words.note.trim().is_empty() && words.contact.is_none() && f.files.is_empty() {
        return Ok(refused(&o, l, f, "ファイルを選ぶか、メッセージを書くか、連絡の種類を選んでください".into()).await);
    }
    // A draft's files are checked by the hub with the draft's others (a unit may be completed
    // over several PCs); a new message's files here first, as the send will check them.
    if !editing {
        let registry = outgoing::registered(Some(&client), &office, outgoing::failing_numbers(&office, Some(&f.to), &f.files)).await;
        let plan = outgoing::plan(&office, Some(&f.to), f.files.clone(), vec![], &registry);
        let bad: Vec<VerdictView> = plan.verdicts.iter().filter(|v| !v.ok()).map(verdict_view).collect();
        if !bad.is_empty() {
            // One line per finding, file by file; the national headline first for a bad name.
            let mut text = String::new();
            if bad.iter().any(|v| v.name_error) {
                text.push_str(NAME_HEADLINE);
                text.push('\n');
            }
            text.push_str("送信できないファイルがあります。直してから送ってください。");
            for v in &bad {
                text.push_str(&format!("\n{}:", v.name));
                for e in &v.errors {
                    text.push_str(&format!("\n　・{}", e.text));
                }
            }
            return Ok(refused(&o, l, f, text).await);
        }
    }
    let files: Vec<crate::hub::OutFile> =
        f.files.iter().map(|c| crate::hub::OutFile { name: c.name.clone(), bytes: c.bytes.clone() }).collect();
    let hub = o.client().await;
    if editing {
        let u = renkei_protocol::DraftUpdate {
            version: f.version,
            to: Some(f.to.clone()),
            note: Some(words.note.clone()),
            contact: Some(words.contact.clone()),
        };
        if let Err(e) = hub.update_draft(&f.draft, &u).await {
            return Ok(refused(&o, l, f, e.to_string()).await);
        }
        if !files.is_empty()
            && let Err(e) = hub.add_draft_files(&f.draft, &files).await
        {
            let e = format!("下書きの内容は更新しましたが、ファイルを追加できませんでした: {e}");
            return Ok(refused(&o, l, f, e).await);
        }
        if f.action != "send" {
            return Ok(Redirect::to(&format!("/o/{p}/drafts?saved=1")).into_response());
        }
        return match hub.send_draft(&f.draft, &format!("draft-{}", f.draft)).await {
            Ok(r) => Ok(Redirect::to(&format!("/o/{p}/sent/{}?sent=1", r.message.id)).into_response()),
            Err(e) => Ok(refused(&o, l, ComposeForm { files: Vec::new(), ..f }, format!("送信できませんでした: {e}")).await),
        };
    }
    if f.action == "draft" {
        return match hub.create_draft(&f.to, &words, &files).await {
            Ok(_) => Ok(Redirect::to(&format!("/o/{p}/drafts?saved=1")).into_response()),
            Err(e) => Ok(refused(&o, l, f, e.to_string()).await),
        };
    }
    match outgoing::send_one(&hub, &o.state, &office, &f.to, words, files, false).await {
        Ok(Outcome::Sent { id }) | Ok(Outcome::AlreadySent { id }) => Ok(Redirect::to(&format!("/o/{p}/sent/{id}?sent=1")).into_response()),
        Ok(Outcome::Failed { reason, .. }) => Ok(refused(&o, l, f, reason).await),
        Err(e) => Ok(refused(&o, l, f, format!("送信記録を保存できません: {e}")).await),
    }
}

#[derive(Deserialize)]
pub(super) struct LookupQ {
    #[serde(default)]
    pub(super) to: String,
}

pub(super) async fn lookup(State(ui): State<S>, Path(p): Path<String>, Query(q): Query<LookupQ>) -> Result<Response, Fail> {
    let o = logged_in(&ui, &p).await?;
    let client = o.client().await;
    let html = renkei_screens::office::lookup_html(&q.to, |n| async move { client.directory(&n).await.map_err(|e| e.to_string()) }).await;
    Ok(Html(html).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use renkei_protocol::ContactKind;

    #[test]
    fn the_form_becomes_a_contact_or_a_note() {
        let w = words_of("no_use", "202506", "H000000001", "", "").unwrap();
        assert_eq!(w.contact.map(|c| c.summary_ja()).as_deref(), Some("今月利用なし 2025年6月分 H000000001"));
        assert!(words_of("no_use", "", "H000000001", "", "").unwrap_err().contains("対象年月"));
        assert!(words_of("over_limit", "202506", "山田", "", "").unwrap_err().contains("超過単位数"));
        assert_eq!(words_of("free", "", "", "", "こんにちは").unwrap(), Words::from("こんにちは"));
        // 通常の送信 keeps a 利用者 that was typed, as the note's first line.
        assert_eq!(words_of("free", "", "山田 花子", "", "7日から").unwrap().note, "利用者: 山田 花子\n7日から");
        assert_eq!(words_of("", "", "山田", "", "").unwrap().note, "利用者: 山田");
        let w = words_of("plan_change", "", "H000000002", "", "7日から").unwrap();
        assert_eq!((w.note.as_str(), w.contact.map(|c| c.kind)), ("7日から", Some(ContactKind::PlanChange)));
    }
}
