"""Chinese labels staff read on the page: decisions, form kinds, reason codes, fields."""

from __future__ import annotations

from domain.decision import ReasonCode

DECISIONS = {"accepted": "通过", "rejected": "退回", "review": "待审核"}
KINDS = {"summary": "申报汇总表", "increase": "指标调增申请"}
FIELDS = {
    "certificate": "证书名称",
    "level": "级别",
    "count": "拟申报人数",
    "approved": "原批准人数",
    "requested": "调增后人数",
    "total": "合计",
    "unit": "表内单位名称",
}
REASONS = {
    ReasonCode.SUBJECT_MALFORMED: "主题格式不符",
    ReasonCode.SUBJECT_UNKNOWN_UNIT: "主题单位不在名单",
    ReasonCode.SUBJECT_WRONG_YEAR: "主题年度不符",
    ReasonCode.WINDOW_CLOSED: "不在受理时间",
    ReasonCode.ATTACHMENT_MISSING: "缺少附件",
    ReasonCode.ATTACHMENT_UNREADABLE: "附件无法读取",
    ReasonCode.FORM_UNRECOGNIZED: "未识别出申报表",
    ReasonCode.FORM_STAMP_MISSING: "未见公章",
    ReasonCode.FORM_UNIT_MISMATCH: "表内单位与主题不符",
    ReasonCode.FORM_TOTAL_MISMATCH: "合计不符",
    ReasonCode.CERT_UNKNOWN: "证书不在目录",
    ReasonCode.CERT_LEVEL_INVALID: "证书级别无效",
    ReasonCode.QUOTA_NOT_APPROVED: "无批准指标",
    ReasonCode.QUOTA_ORIGINAL_MISMATCH: "原批准人数不符",
    ReasonCode.QUOTA_NOT_INCREASE: "调增后人数未增加",
    ReasonCode.SENDER_UNVERIFIED: "发件人未核实",
    ReasonCode.OCR_LOW_CONFIDENCE: "识别不确定",
}
# Reasons about the form's content: re-checked when staff correct a value.
FORM_CODES = frozenset(
    code for code in ReasonCode
    if str(code).split(".")[0] in {"form", "cert", "quota", "ocr"} and code != ReasonCode.FORM_UNRECOGNIZED
)
EVENT_ACTIONS = {
    "message.stored": "收到邮件并保存原件",
    "message.duplicate": "重复收到同一邮件",
    "message.failed": "自动处理出错",
    "message.ignored": "非申报邮件，已忽略",
    "message.filed": "邮件已归档",
    "decision.recorded": "系统自动判定",
    "submission.superseded": "被更新的汇总表取代",
    "submission.restored": "恢复为有效汇总表",
    "quota.increased": "指标已调增",
    "reply.queued": "回复进入发件队列",
    "reply.sent": "回复已发送",
    "reply.failed": "回复发送失败",
    "staff.login": "登录",
    "staff.logout": "退出",
    "staff.login_failed": "登录失败",
    "staff.corrected": "更正数值",
    "staff.decided": "审核决定",
    "staff.exported": "下载导出",
    "staff.downloaded": "下载原件或附件",
    "staff.login_refused": "登录被限制",
}


def reason_label(code: str) -> str:
    try:
        return REASONS[ReasonCode(code)]
    except ValueError:
        return code
