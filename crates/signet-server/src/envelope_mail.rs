//! The e-mails of envelopes: invitations with a link to the signer page, reminders, one-time
//! codes, and the notices when an envelope ends. Each mail is in English and Chinese.
//!
//! A link carries a random token (160 bits); only its SHA-256 is stored. A mail that cannot
//! be sent does not stop the workflow: it is logged and written into the envelope's history,
//! and the sender can remind the party later.

use signet_store::{EnvelopeEvent, EnvelopeLink, now_millis};

use crate::AppState;
use crate::envelopes::{Envelope, Party, event, turn};
use crate::mail::Mail;

/// A new link for `party`: the URL to mail.
pub(crate) async fn new_link(
    state: &AppState,
    tenant: &str,
    e: &Envelope,
    party: &Party,
) -> Result<String, crate::Error> {
    let token = signet_store::random_base32(20);
    let link = EnvelopeLink { tenant_id: tenant.into(), envelope_id: e.id.clone(), party_id: party.id.clone() };
    state.store().insert_envelope_link(&signet_store::sha256_hex(token.as_bytes()), &link, now_millis()).await?;
    Ok(format!("{}/sign/{token}", base_url(state)))
}

fn base_url(state: &AppState) -> String {
    state.authority().public_urls().map(|u| u.base().trim_end_matches('/').to_string()).unwrap_or_default()
}

async fn mail_party(
    state: &AppState,
    tenant: &str,
    e: &Envelope,
    party: &Party,
    subject: String,
    lines: Vec<String>,
    with_link: bool,
) -> Result<(), String> {
    let Some(to) = &party.email else { return Err("the party has no e-mail address".into()) };
    let mut text = format!("{},\n\n", party.name);
    for l in lines {
        text.push_str(&l);
        text.push('\n');
    }
    if let Some(m) = &e.message {
        text.push_str(&format!("\n{m}\n"));
    }
    if with_link {
        let url = new_link(state, tenant, e, party).await.map_err(|e| e.to_string())?;
        text.push_str(&format!("\n{url}\n"));
    }
    text.push_str("\n-- \nSignet\n");
    let mail = Mail { to: to.clone(), to_name: Some(party.name.clone()), subject, text, html: None };
    state.mailer().send(&mail).await.map_err(|e| e.to_string())
}

/// Invites the parties whose turn it is and who have not been invited: returns the history
/// entries.
pub(crate) async fn invite_turn(state: &AppState, tenant: &str, e: &mut Envelope) -> Vec<EnvelopeEvent> {
    let mut events = Vec::new();
    for i in turn(e) {
        if e.parties[i].status != "waiting" {
            continue;
        }
        let party = e.parties[i].clone();
        e.parties[i].status = "notified".into();
        e.parties[i].notified_at = Some(now_millis());
        if party.email.is_none() {
            // an internal user without an address finds it in the console
            events.push(event("notified", "system", Some(&party.id), serde_json::json!({ "by": "console" })));
            continue;
        }
        let what = if party.role == "approver" { ("approve", "审批") } else { ("sign", "签署") };
        let subject = format!("Please {}: {} / 请{}：{}", what.0, e.title, what.1, e.title);
        let lines = vec![
            format!("You are asked to {} \"{}\". Open the link below to read and {} it.", what.0, e.title, what.0),
            format!("请打开下面的链接阅读并{}《{}》。", what.1, e.title),
        ];
        events.push(match mail_party(state, tenant, e, &party, subject, lines, true).await {
            Ok(()) => event("notified", "system", Some(&party.id), serde_json::json!({ "to": party.email })),
            Err(why) => {
                tracing::error!("envelope {}: inviting {}: {why}", e.id, party.id);
                event("notify_failed", "system", Some(&party.id), serde_json::json!({ "error": why }))
            }
        });
    }
    events
}

/// Reminds the parties whose turn it is.
pub(crate) async fn remind_turn(state: &AppState, tenant: &str, e: &mut Envelope) -> Vec<EnvelopeEvent> {
    let mut events = Vec::new();
    for i in turn(e) {
        let party = e.parties[i].clone();
        if party.email.is_none() {
            continue;
        }
        let subject = format!("Reminder: {} / 提醒：{}", e.title, e.title);
        let lines =
            vec![format!("\"{}\" is still waiting for you.", e.title), format!("《{}》仍在等待您处理。", e.title)];
        e.parties[i].notified_at = Some(now_millis());
        if e.parties[i].status == "waiting" {
            e.parties[i].status = "notified".into();
        }
        events.push(match mail_party(state, tenant, e, &party, subject, lines, true).await {
            Ok(()) => event("reminded", "system", Some(&party.id), serde_json::json!({ "to": party.email })),
            Err(why) => event("notify_failed", "system", Some(&party.id), serde_json::json!({ "error": why })),
        });
    }
    events
}

/// Tells every party with an address that the envelope ended (`completed`, `declined`,
/// `voided`, `expired`). A completed envelope's mail links to the signed document.
pub(crate) async fn announce(state: &AppState, tenant: &str, e: &Envelope, how: &str) {
    let (en, zh) = match how {
        "completed" => ("has been signed by every party", "已由各方签署完成"),
        "declined" => ("was declined", "已被拒签"),
        "voided" => ("was voided by its sender", "已被发起人作废"),
        _ => ("expired before every party signed", "已过期"),
    };
    for party in &e.parties {
        if party.email.is_none() || (how != "completed" && party.status == "declined") {
            continue;
        }
        let subject = format!("\"{}\" {en} / 《{}》{zh}", e.title, e.title);
        let mut lines = vec![format!("\"{}\" {en}.", e.title), format!("《{}》{zh}。", e.title)];
        if how == "completed" {
            lines.push(format!(
                "Download the signed document from the link below (it works for {days} days). / \
                 可通过下面的链接下载已签署的文件（{days} 天内有效）。",
                days = crate::signer::LINK_DAYS_AFTER_END
            ));
        }
        if let Err(why) = mail_party(state, tenant, e, party, subject, lines, how == "completed").await {
            tracing::warn!("envelope {}: telling {} it {how}: {why}", e.id, party.id);
        }
    }
}

/// Mails a one-time code to a signer.
pub(crate) async fn send_code(state: &AppState, e: &Envelope, party: &Party, code: &str) -> Result<(), crate::Error> {
    let Some(to) = &party.email else {
        return Err(crate::Error::bad("no_email", "this party has no e-mail address to send a code to"));
    };
    let text = format!(
        "{},\n\nYour one-time code for \"{}\" is {code}. It is valid for 10 minutes.\n您签署《{}》的一次性验证码是 {code}，10 分钟内有效。\n\nIf you did not ask for it, ignore this mail.\n如非本人操作，请忽略本邮件。\n\n-- \nSignet\n",
        party.name, e.title, e.title
    );
    let mail = Mail {
        to: to.clone(),
        to_name: Some(party.name.clone()),
        subject: format!("Your one-time code for \"{}\" / 《{}》的验证码", e.title, e.title),
        text,
        html: None,
    };
    state.mailer().send(&mail).await
}
