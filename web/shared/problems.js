// The server's refusals and errors (RFC 7807 problems) in the user's language. A problem is
// known by its stable code, the last segment of its `type` URL; its `detail` is English for
// logs and integrators and is never shown to a Chinese-speaking user. Every code the server can
// send has a text here in both languages: tests/web/test_problem_texts.py collects the codes
// from the server's error classes and fails when one is missing.

import { ApiError } from "./api.js";
import { has, lang, t } from "./i18n.js";

// [code, English, 中文]; {state} and {action} are filled in where known.
const PROBLEMS = [
  ["bad-request", "The request was not understood", "请求无法识别"],
  ["unauthorized", "Sign in again", "请重新登录"],
  ["forbidden", "Your role or organization may not do this", "您的角色或单位无权执行此操作"],
  ["not-found", "Not found, or not yours to see", "未找到，或无权查看"],
  ["method-not-allowed", "This operation is not possible here", "此处不支持该操作"],
  ["conflict", "This conflicts with what is already recorded", "与已有记录冲突"],
  ["payload-too-large", "Too much data in one request", "单次提交的数据过多"],
  ["unsupported-media-type", "The request was sent in a format the server does not read", "提交的数据格式不受支持"],
  ["invalid-input", "Some fields are not valid", "部分内容填写无效"],
  ["too-many-requests", "Too many attempts: wait a minute and try again", "尝试次数过多，请稍候一分钟再试"],
  ["http-error", "The server refused the request", "服务器拒绝了请求"],
  ["internal-error", "The server failed: nothing was recorded. Try again later", "服务器出错，未作记录，请稍后再试"],
  ["device-revoked", "This phone has been blocked by an administrator", "本机已被管理员停用"],
  ["container-not-found", "No container of yours has this label or code", "没有您可操作的、与此标签或编码对应的容器"],
  ["client-event-id-reused", "This scan's number was already used by another user: scan again", "此扫描编号已被他人使用，请重新扫描"],
  ["forged-label", "FORGED label: the signature does not verify. Do not accept this bag; keep it apart and tell your supervisor", "伪造标签：签名校验失败。请勿接收，单独存放并报告主管"],
  ["unknown-label-key", "The label was signed with a key this system does not know: keep the bag apart and tell your supervisor", "标签签名密钥不明：请单独存放并报告主管"],
  ["malformed-label", "This is not a MedWaste label", "不是本系统的标签"],
  ["invalid-label", "The label cannot be read as a MedWaste label", "无法识别为本系统的标签"],
  ["invalid-transition", "The bag is “{state}”: “{action}” is not possible now", "该容器当前为“{state}”，不能执行“{action}”"],
  ["role-not-allowed", "Your role may not record “{action}”", "您的角色不能执行“{action}”"],
  ["missing-field", "“{action}” needs more information (weight, method or what happened)", "“{action}”缺少必填信息（重量、处置方式或事件类型）"],
  ["custody-mismatch", "Your organization does not hold this bag (or is not where it is being sent)", "本单位不是该容器的持有方（或接收方）"],
  ["manifest-not-found", "Trip (manifest) not found among your company's", "在本单位的联单中找不到该联单"],
  ["trip-not-open", "This position was taken when the trip was not open (before it began or after its receipt)", "该位置记录于转移未进行期间（开始前或接收后）"],
  ["manifest-not-open", "The trip has left already: bags join a trip before the signatures", "联单已出发，装车须在签字之前"],
  ["wrong-manifest", "This bag travels on another trip", "该容器属于另一张联单"],
  ["site-not-found", "That site is not one of your organization's", "该地点不属于本单位"],
  ["event-not-found", "No such record on this container", "该容器没有这条记录"],
  ["not-your-event", "Only the organization that recorded it may correct it", "只有记录该事件的单位可以更正"],
  ["not-correctable", "This record cannot be corrected", "该记录不能更正"],
  ["already-voided", "This record has already been marked as not having happened", "该记录已被标记为未发生"],
  ["manifest-state", "Not possible at this stage of the trip (for example: sign after the bags are scanned)", "联单当前状态下不能执行此操作（例如：须先扫描容器再签字）"],
  ["already-signed", "This party has already signed", "该方已签字"],
  ["manifest-serials-exhausted", "No manifest numbers left for this month: tell your administrator", "本月联单编号已用完，请联系管理员"],
  ["label-unavailable", "This label cannot be printed", "无法打印此标签"],
  ["anomaly-not-found", "Anomaly not found", "未找到该异常"],
  ["event-time-out-of-range", "The scan's time is before the bag was registered or too long ago: check the phone's date", "扫描时间早于容器登记或过于久远，请检查手机日期"],
  ["already-registered", "This container is already registered", "该容器已登记"],
  ["captured-elsewhere", "This event was captured already with other content", "该事件已被以不同内容采集"],
  ["corrective-event-missing", "The event to correct is not on record", "找不到要更正的事件"],
  ["event-id-mismatch", "The event's id does not match its content", "事件 ID 与内容不符"],
  ["invalid-event", "The event cannot be read", "无法识别该事件"],
  ["no-label", "The container has no label on record", "该容器没有标签记录"],
  ["not-a-custody-event", "This event is not a custody step this system records", "该事件不是本系统记录的交接环节"],
  ["not-your-prefix", "This identifier belongs to another organization", "该标识属于其他单位"],
  ["nothing-corrected", "The correction changes nothing", "该更正未改变任何内容"],
  ["trip-incomplete", "The trip is missing its parties", "联单缺少相关单位"],
  ["unknown-epc", "No container is known by this identifier", "没有与该标识对应的容器"],
  ["unknown-location", "No site is known by this location", "没有与该地点对应的站点"],
  ["unknown-manifest", "No trip is known by this name", "没有与该名称对应的联单"],
  ["unknown-reason", "The correction's reason is not one this system knows", "更正原因无法识别"],
  ["unusable-epc", "This identifier cannot name a container", "该标识不能用作容器编号"],
  ["tree-size-unavailable", "The public log has no tree of that size yet", "公开日志尚无该规模的树"],
  ["no-checkpoint", "The public log has no signed checkpoint yet", "公开日志尚无签名检查点"],
  ["tile-not-found", "No such tile in the public log", "公开日志中没有该分片"],
  ["log-origin-changed", "The public log's name cannot change: tell your administrator", "公开日志的名称不能更改，请联系管理员"],
  ["illegal-anomaly-step", "This anomaly cannot take that step in its current status", "该异常当前状态下不能执行此步骤"],
];

// Field problems (`errors[].type`, as pydantic names them).
const FIELD_PROBLEMS = [
  ["missing", "is required", "为必填项"],
  ["too_short", "is too short", "过短"],
  ["too_long", "is too long", "过长"],
  ["range", "is out of range", "超出允许范围"],
  ["format", "is not in the right format", "格式不正确"],
  ["other", "is not valid", "无效"],
];

const TEXT = { en: {}, zh: {} };
for (const [code, en, zh] of [...PROBLEMS, ...FIELD_PROBLEMS.map(([k, en, zh]) => [`field:${k}`, en, zh])]) {
  TEXT.en[code] = en;
  TEXT.zh[code] = zh;
}

// The problem's code: the end of its `type` URL ("https://…/problems/custody-mismatch").
export function problemCode(problem) {
  return String((problem && problem.type) || "").split("/").pop() || "http-error";
}

function fieldKind(type) {
  const s = String(type || "");
  if (s === "missing") return "missing";
  if (/too_short/.test(s)) return "too_short";
  if (/too_long/.test(s)) return "too_long";
  if (/greater|less|finite|multiple/.test(s)) return "range";
  if (/parsing|pattern|format|datetime|uuid|enum|literal/.test(s)) return "format";
  return "other";
}

// One line per field problem, e.g. "Weight (kg) is out of range".
function fieldLines(problem) {
  return (problem.errors || []).slice(0, 3).map((e) => {
    const name = String(e.field || "").split(".").pop();
    const label = has(`field.${name}`) ? t(`field.${name}`) : name;
    return `${label}${lang() === "zh" ? "" : " "}${TEXT[lang()][`field:${fieldKind(e.type)}`]}`;
  });
}

// What to tell the user about a problem. context: {action, state} of the scan it refused,
// where the phone knows them (the problem's own `state` wins).
export function problemText(problem, context = {}) {
  const code = problemCode(problem);
  const template = TEXT[lang()][code] ?? TEXT[lang()]["http-error"];
  const state = problem && problem.state ? problem.state : context.state;
  const text = template
    .replace("{state}", state ? t(`state.${state}`) : "?")
    .replace("{action}", context.action ? t(`action.${context.action}`) : "?");
  const fields = fieldLines(problem || {});
  if (!fields.length) return text;
  return lang() === "zh" ? `${text}：${fields.join("；")}` : `${text}: ${fields.join("; ")}`;
}

// What to tell the user about a failed request: the server's problem in their language, or
// that there was no network (nothing was sent).
export function errorText(error, context = {}) {
  if (error instanceof ApiError) return problemText(error.problem, context);
  if (error instanceof TypeError || !navigator.onLine) return t("common.offline");
  return error.message;
}
