//! Terminals (端末): enrolment codes, enrolment with a certificate from the hub's CA, and
//! revocation (its sessions end; the certificate goes on the CRL at once).

use crate::state::AppState;
use crate::store::Audit;

/// Revokes a terminal: its sessions end, its certificate goes on the CRL.
pub async fn revoke(st: &AppState, terminal_id: &str, by: &str) -> anyhow::Result<bool> {
    let t = crate::jst::now();
    let done = st.store.revoke_terminal(terminal_id, t).await?;
    if done {
        st.store
            .audit(Audit { action: "revoke", terminal_id: Some(terminal_id), detail: format!("by={by}"), ..Default::default() }, t)
            .await?;
        st.reload_tls().await?;
    }
    Ok(done)
}
