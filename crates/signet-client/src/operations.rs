//! Every operation the client calls, declared once: each method names one of these, and
//! [`operations`] lists them all for the test that checks them against the server's
//! OpenAPI document.

/// One operation of the API: its method and its path as the OpenAPI document writes it
/// (`{…}` for a parameter).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Operation {
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: &'static str,
    /// The path template, such as `/api/v1/tenants/{id}/keys`.
    pub path: &'static str,
}

impl Operation {
    /// The path with each `{…}` replaced by the next of `params`, percent-encoded.
    pub(crate) fn fill(&self, params: &[&str]) -> String {
        let mut out = String::with_capacity(self.path.len() + 32);
        let mut params = params.iter();
        let mut rest = self.path;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
            if let Some(p) = params.next() {
                crate::encode_into(p, &mut out);
            }
            rest = &rest[close..];
        }
        out.push_str(rest);
        out
    }
}

macro_rules! operations {
    ($($name:ident = $method:ident $path:literal;)*) => {
        $(pub(crate) const $name: Operation = Operation { method: stringify!($method), path: $path };)*
        const ALL: &[Operation] = &[$($name),*];
    };
}

/// Every operation this client calls. A test of the crate checks that each is in the
/// server's OpenAPI document, and that every operation of the document is here but for the
/// browser-session ones.
pub fn operations() -> &'static [Operation] {
    ALL
}

operations! {
    // service and trust services
    HEALTH = GET "/healthz";
    OPENAPI = GET "/api/openapi.json";
    ROOT_CERTIFICATE = GET "/ca/root.crt";
    ISSUING_CERTIFICATE = GET "/ca/issuing.crt";
    ROOT_CRL = GET "/crl/root.crl";
    ISSUING_CRL = GET "/crl/issuing.crl";

    // tenants (operator)
    LIST_TENANTS = GET "/api/v1/tenants";
    CREATE_TENANT = POST "/api/v1/tenants";
    SHOW_TENANT = GET "/api/v1/tenants/{id}";
    UPDATE_TENANT = PATCH "/api/v1/tenants/{id}";
    LIST_TENANT_KEYS = GET "/api/v1/tenants/{id}/keys";
    CREATE_TENANT_KEY = POST "/api/v1/tenants/{id}/keys";
    TENANT_USAGE = GET "/api/v1/tenants/{id}/usage";

    // the caller's tenant: keys, usage, signing records
    LIST_KEYS = GET "/api/v1/keys";
    CREATE_KEY = POST "/api/v1/keys";
    REVOKE_KEY = DELETE "/api/v1/keys/{id}";
    ME = GET "/api/v1/me";
    USAGE = GET "/api/v1/usage";
    SIGNATURES = GET "/api/v1/signatures";
    LIST_CLIENT_CERTIFICATES = GET "/api/v1/client-certificates";
    REGISTER_CLIENT_CERTIFICATE = POST "/api/v1/client-certificates";
    REVOKE_CLIENT_CERTIFICATE = DELETE "/api/v1/client-certificates/{id}";

    // identities, images, templates
    LIST_IDENTITIES = GET "/api/v1/identities";
    CREATE_IDENTITY = POST "/api/v1/identities";
    SHOW_IDENTITY = GET "/api/v1/identities/{name}";
    LIST_IMAGES = GET "/api/v1/images";
    UPLOAD_IMAGE = POST "/api/v1/images";
    IMAGE_CONTENT = GET "/api/v1/images/{id}";
    LIST_TEMPLATES = GET "/api/v1/templates";
    SHOW_TEMPLATE = GET "/api/v1/templates/{name}";
    PUT_TEMPLATE = PUT "/api/v1/templates/{name}";
    DELETE_TEMPLATE = DELETE "/api/v1/templates/{name}";

    // documents and versions
    LIST_DOCUMENTS = GET "/api/v1/documents";
    UPLOAD_DOCUMENT = POST "/api/v1/documents";
    SHOW_DOCUMENT = GET "/api/v1/documents/{id}";
    DOCUMENT_CONTENT = GET "/api/v1/documents/{id}/content";
    PAGE = GET "/api/v1/documents/{id}/pages/{n}";
    PAGE_IMAGE = GET "/api/v1/documents/{id}/pages/{n}/image";
    LIST_VERSIONS = GET "/api/v1/documents/{id}/versions";
    ADD_VERSION = POST "/api/v1/documents/{id}/versions";

    // signing and verification
    SIGN_DOCUMENT = POST "/api/v1/documents/sign";
    SIGN_HASH = POST "/api/v1/sign-hash";
    CREATE_BATCH = POST "/api/v1/batches";
    SHOW_BATCH = GET "/api/v1/batches/{id}";
    BATCH_RESULTS = GET "/api/v1/batches/{id}/results.zip";
    VERIFY = POST "/api/v1/verify";

    // seals, grants, seal-use requests
    LIST_SEALS = GET "/api/v1/seals";
    CREATE_SEAL = POST "/api/v1/seals";
    UPLOAD_SEAL_IMAGE = POST "/api/v1/seals/images";
    PREVIEW_SEAL = POST "/api/v1/seals/preview";
    SHOW_SEAL = GET "/api/v1/seals/{id}";
    UPDATE_SEAL = PATCH "/api/v1/seals/{id}";
    SEAL_IMAGE = GET "/api/v1/seals/{id}/image";
    REVOKE_SEAL = POST "/api/v1/seals/{id}/revoke";
    LIST_SEAL_GRANTS = GET "/api/v1/seals/{id}/grants";
    GRANT_SEAL = POST "/api/v1/seals/{id}/grants";
    REVOKE_SEAL_GRANT = DELETE "/api/v1/seals/{id}/grants/{grant}";
    REQUEST_SEAL_USE = POST "/api/v1/seals/{id}/requests";
    LIST_SEAL_REQUESTS = GET "/api/v1/seal-requests";
    APPROVE_SEAL_REQUEST = POST "/api/v1/seal-requests/{id}/approve";
    REJECT_SEAL_REQUEST = POST "/api/v1/seal-requests/{id}/reject";

    // people and settings
    LIST_USERS = GET "/api/v1/users";
    CREATE_USER = POST "/api/v1/users";
    USER_DIRECTORY = GET "/api/v1/users/directory";
    SHOW_USER = GET "/api/v1/users/{id}";
    UPDATE_USER = PATCH "/api/v1/users/{id}";
    RESET_MFA = DELETE "/api/v1/users/{id}/mfa";
    SET_PASSWORD = POST "/api/v1/users/{id}/password";
    UNLOCK_USER = POST "/api/v1/users/{id}/unlock";
    LIST_USER_CERTIFICATES = GET "/api/v1/users/{id}/client-certificates";
    BIND_USER_CERTIFICATE = POST "/api/v1/users/{id}/client-certificates";
    UNBIND_USER_CERTIFICATE = DELETE "/api/v1/users/{id}/client-certificates/{certificate}";
    SHOW_SETTINGS = GET "/api/v1/settings";
    PUT_SETTINGS = PUT "/api/v1/settings";

    // the signing log
    SEARCH_AUDIT = GET "/api/v1/audit";
    EXPORT_AUDIT = GET "/api/v1/audit/export";
    VERIFY_AUDIT = GET "/api/v1/audit/verify";
    ANCHOR_AUDIT = POST "/api/v1/audit/anchor";

    // webhooks and the events feed
    LIST_WEBHOOKS = GET "/api/v1/webhooks";
    CREATE_WEBHOOK = POST "/api/v1/webhooks";
    SHOW_WEBHOOK = GET "/api/v1/webhooks/{id}";
    UPDATE_WEBHOOK = PATCH "/api/v1/webhooks/{id}";
    DELETE_WEBHOOK = DELETE "/api/v1/webhooks/{id}";
    LIST_DELIVERIES = GET "/api/v1/webhooks/{id}/deliveries";
    PING_WEBHOOK = POST "/api/v1/webhooks/{id}/ping";
    LIST_EVENTS = GET "/api/v1/events";
    ROTATE_WEBHOOK_SECRET = POST "/api/v1/webhooks/{id}/rotate-secret";
    REDELIVER = POST "/api/v1/webhooks/deliveries/{id}/redeliver";

    // envelopes
    LIST_ENVELOPES = GET "/api/v1/envelopes";
    CREATE_ENVELOPE = POST "/api/v1/envelopes";
    ENVELOPE_COUNTS = GET "/api/v1/envelopes/counts";
    SHOW_ENVELOPE = GET "/api/v1/envelopes/{id}";
    ENVELOPE_HISTORY = GET "/api/v1/envelopes/{id}/history";
    SEND_ENVELOPE = POST "/api/v1/envelopes/{id}/send";
    VOID_ENVELOPE = POST "/api/v1/envelopes/{id}/void";
    REMIND_ENVELOPE = POST "/api/v1/envelopes/{id}/remind";
    EMBED_PARTY = POST "/api/v1/envelopes/{id}/parties/{party}/embed";
    EMBED_PREPARATION = POST "/api/v1/envelopes/{id}/embed";
    ENVELOPE_DOCUMENT = GET "/api/v1/envelopes/{id}/document";
    ENVELOPE_CERTIFICATE = GET "/api/v1/envelopes/{id}/certificate";
    SIGN_AS_PARTY = POST "/api/v1/envelopes/{id}/parties/{party}/sign";
    DECLINE_AS_PARTY = POST "/api/v1/envelopes/{id}/parties/{party}/decline";
    PREPARE_PARTY_SIGNATURE = POST "/api/v1/envelopes/{id}/parties/{party}/prepare";
    UPLOAD_PARTY_SIGNATURE = POST "/api/v1/envelopes/{id}/parties/{party}/signature";
    PARTY_PREPARATION = GET "/api/v1/envelopes/{id}/parties/{party}/preparations/{preparation}";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_fill_the_path_in_order_and_are_encoded() {
        assert_eq!(REVOKE_SEAL_GRANT.fill(&["seal_1", "grt 2"]), "/api/v1/seals/seal_1/grants/grt%202");
        assert_eq!(SHOW_IDENTITY.fill(&["a/b"]), "/api/v1/identities/a%2Fb");
        assert_eq!(LIST_TENANTS.fill(&[]), "/api/v1/tenants");
    }
}
