//! The certificate's own words, in English and Simplified Chinese.

use crate::{Language, PartyRole, PartyStatus};

/// Every fixed text of the certificate in one language.
pub(crate) struct Labels {
    pub(crate) lang_tag: &'static str,
    pub(crate) certificate: &'static str,
    pub(crate) running_header: &'static str,
    pub(crate) summary: &'static str,
    pub(crate) title: &'static str,
    pub(crate) envelope_id: &'static str,
    pub(crate) tenant: &'static str,
    pub(crate) document: &'static str,
    pub(crate) created: &'static str,
    pub(crate) completed: &'static str,
    pub(crate) original_sha256: &'static str,
    pub(crate) final_sha256: &'static str,
    pub(crate) parties: &'static str,
    pub(crate) party_details: &'static str,
    pub(crate) number: &'static str,
    pub(crate) name: &'static str,
    pub(crate) organisation: &'static str,
    pub(crate) email: &'static str,
    pub(crate) role: &'static str,
    pub(crate) status: &'static str,
    pub(crate) signed_at: &'static str,
    pub(crate) ip: &'static str,
    pub(crate) user_agent: &'static str,
    pub(crate) auth_method: &'static str,
    pub(crate) certificate_subject: &'static str,
    pub(crate) certificate_serial: &'static str,
    pub(crate) signature_field: &'static str,
    pub(crate) versions: &'static str,
    pub(crate) version: &'static str,
    pub(crate) document_id: &'static str,
    pub(crate) sha256: &'static str,
    pub(crate) events: &'static str,
    pub(crate) time: &'static str,
    pub(crate) actor: &'static str,
    pub(crate) action: &'static str,
    pub(crate) detail: &'static str,
    pub(crate) entry_hash: &'static str,
    pub(crate) none_recorded: &'static str,
    pub(crate) about: &'static str,
    pub(crate) about_text: &'static str,
    /// Placeholder for a value not recorded.
    pub(crate) missing: &'static str,
    /// Between a label and its value in running text.
    pub(crate) colon: &'static str,
    /// Parentheses around an aside.
    pub(crate) parens: [&'static str; 2],
    /// Signer, approver, copy.
    pub(crate) roles: [&'static str; 3],
    /// Pending, viewed, signed, approved, declined, delivered, skipped.
    pub(crate) statuses: [&'static str; 7],
    /// "page N of M" around the two numbers.
    pub(crate) page_of: [&'static str; 3],
}

impl Labels {
    pub(crate) fn get(language: Language) -> &'static Labels {
        match language {
            Language::En => &EN,
            Language::Zh => &ZH,
        }
    }

    pub(crate) fn role(&self, role: PartyRole) -> &'static str {
        match role {
            PartyRole::Signer => self.roles[0],
            PartyRole::Approver => self.roles[1],
            PartyRole::Copy => self.roles[2],
        }
    }

    pub(crate) fn status(&self, status: PartyStatus) -> &'static str {
        match status {
            PartyStatus::Pending => self.statuses[0],
            PartyStatus::Viewed => self.statuses[1],
            PartyStatus::Signed => self.statuses[2],
            PartyStatus::Approved => self.statuses[3],
            PartyStatus::Declined => self.statuses[4],
            PartyStatus::Delivered => self.statuses[5],
            PartyStatus::Skipped => self.statuses[6],
        }
    }

    /// A column heading with the time zone its times are in: `Time (UTC+08:00)`.
    pub(crate) fn zoned(&self, label: &str, zone: &str) -> String {
        let [open, close] = self.parens;
        format!("{label}{open}{zone}{close}")
    }

    /// The footer's page number.
    pub(crate) fn page_of(&self, n: usize, total: usize) -> String {
        let [before, between, after] = self.page_of;
        format!("{before}{n}{between}{total}{after}")
    }
}

static EN: Labels = Labels {
    lang_tag: "en",
    certificate: "Certificate of Completion",
    running_header: "Certificate of Completion",
    summary: "Envelope",
    title: "Title",
    envelope_id: "Envelope ID",
    tenant: "Tenant",
    document: "Document",
    created: "Created",
    completed: "Completed",
    original_sha256: "Original document SHA-256",
    final_sha256: "Completed document SHA-256",
    parties: "Parties",
    party_details: "Evidence by party",
    number: "#",
    name: "Name",
    organisation: "Organisation",
    email: "Email",
    role: "Role",
    status: "Status",
    signed_at: "Signed at",
    ip: "IP address",
    user_agent: "Device (user agent)",
    auth_method: "Authentication",
    certificate_subject: "Certificate subject",
    certificate_serial: "Certificate serial",
    signature_field: "Signature field",
    versions: "Document versions",
    version: "Version",
    document_id: "Document ID",
    sha256: "SHA-256",
    events: "Event log",
    time: "Time",
    actor: "Actor",
    action: "Action",
    detail: "Detail",
    entry_hash: "Log entry hash",
    none_recorded: "None recorded.",
    about: "About this certificate",
    about_text: "Signet produced this certificate from the envelope's records and its tamper-evident signing \
                 log, in which each entry's hash covers the previous entry's hash. A copy of the document \
                 is the completed document if its SHA-256 digest equals the one above; the signatures in the \
                 document are verified by any PAdES validator. Times are given in the stated time zone.",
    missing: "—",
    colon: ": ",
    parens: [" (", ")"],
    roles: ["Signer", "Approver", "Receives a copy"],
    statuses: ["Pending", "Viewed", "Signed", "Approved", "Declined", "Delivered", "Skipped"],
    page_of: ["Page ", " of ", ""],
};

static ZH: Labels = Labels {
    lang_tag: "zh-CN",
    certificate: "签署完成证书",
    running_header: "签署完成证书",
    summary: "信封",
    title: "标题",
    envelope_id: "信封编号",
    tenant: "租户",
    document: "文件",
    created: "创建时间",
    completed: "完成时间",
    original_sha256: "原始文件 SHA-256",
    final_sha256: "完成文件 SHA-256",
    parties: "参与方",
    party_details: "各参与方的签署证据",
    number: "序号",
    name: "姓名",
    organisation: "所属单位",
    email: "电子邮箱",
    role: "角色",
    status: "状态",
    signed_at: "签署时间",
    ip: "IP 地址",
    user_agent: "设备（用户代理）",
    auth_method: "身份认证方式",
    certificate_subject: "证书主体",
    certificate_serial: "证书序列号",
    signature_field: "签名域",
    versions: "文件版本",
    version: "版本",
    document_id: "文件编号",
    sha256: "SHA-256",
    events: "事件记录",
    time: "时间",
    actor: "操作人",
    action: "操作",
    detail: "详情",
    entry_hash: "日志条目哈希",
    none_recorded: "无记录。",
    about: "关于本证书",
    about_text: "本证书由 Signet 根据信封记录及防篡改签署日志生成；日志中每一条目的哈希值均涵盖前一条目的哈希值。\
                 文件副本的 SHA-256 摘要与上文一致，即为签署完成的文件；文件中的签名可用任何 PAdES 验证工具验证。\
                 文中时间均按所注时区表示。",
    missing: "—",
    colon: "：",
    parens: ["（", "）"],
    roles: ["签署人", "审批人", "抄送人"],
    statuses: ["待处理", "已查看", "已签署", "已审批", "已拒绝", "已送达", "已跳过"],
    page_of: ["第 ", " 页，共 ", " 页"],
};
