//! Every word the portal shows, in Chinese and English, and how amounts and dates are written.
//!
//! Chinese is the default; English is one click away on every page (`?lang=en`, remembered in a
//! cookie). Amounts are CNY with the fen (`¥1,234.56`); dates are `2026年12月6日` / `6 Dec 2026`;
//! times are Beijing time (UTC+8), `14:05`. ISO dates (`2026-12-06`) are used in CSV downloads.

use domain::time::{CivilDate, Timestamp};
use rust_decimal::Decimal;

/// The two languages of the portal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "zh" | "zh-CN" | "zh-cn" => Some(Lang::Zh),
            "en" | "en-GB" | "en-US" => Some(Lang::En),
            _ => None,
        }
    }

    /// The short code used in `?lang=` and the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The `lang` attribute of the page.
    pub fn html(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// Pick the word of this language.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    pub fn t(self, m: M) -> &'static str {
        m.get(self)
    }
}

macro_rules! messages {
    ($( $name:ident = ($zh:literal, $en:literal), )*) => {
        /// A message of the catalogue.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum M { $( $name, )* }

        impl M {
            pub const ALL: &'static [M] = &[ $( M::$name, )* ];
            pub fn get(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $( (M::$name, Lang::Zh) => $zh, (M::$name, Lang::En) => $en, )*
                }
            }
        }
    };
}

messages! {
    Site = ("跨境电商单一窗口", "OneWindow CBEC Single Window"),
    SiteShort = ("单一窗口", "OneWindow"),
    SkipToContent = ("跳到正文", "Skip to content"),
    SwitchLanguage = ("English", "中文"),
    SwitchLanguageLabel = ("Switch to English", "切换到中文"),
    MainNav = ("主导航", "Main navigation"),
    LoggedInAs = ("已登录：", "Signed in as "),
    Logout = ("退出登录", "Sign out"),
    Login = ("登录", "Sign in"),
    Footer = ("跨境电子商务综合试验区线上综合服务平台 · 时间均为北京时间", "Online service platform of the CBEC comprehensive pilot zone · all times are Beijing time"),
    // Navigation.
    NavHome = ("首页", "Home"),
    NavIndex = ("跨境电商指数", "CBEC index"),
    NavStatistics = ("统计数据", "Statistics"),
    NavQuota = ("个人额度查询", "Quota self-query"),
    NavStatus = ("申报状态查询", "Declaration status"),
    NavApply = ("企业备案申请", "Apply for filing"),
    NavUpload = ("上传报文", "Upload"),
    NavDeclarations = ("申报单", "Declarations"),
    NavTaxBills = ("电子税单", "Tax bills"),
    NavExport = ("数据下载", "Download data"),
    NavDashboard = ("通关看板", "Dashboard"),
    NavIndexAdmin = ("指数管理", "Index administration"),
    NavEnterprises = ("企业名录", "Enterprise registry"),
    NavApplications = ("备案审批", "Filing approvals"),
    NavAlerts = ("风险预警", "Risk alerts"),
    NavInspections = ("查验任务", "Inspections"),
    NavCredit = ("信用档案", "Credit records"),
    NavListings = ("信用负面清单", "Negative list"),
    NavRecalls = ("召回与管控", "Recalls and controls"),
    NavUsers = ("用户管理", "Users"),
    // Errors.
    Forbidden = ("无权访问", "Forbidden"),
    ForbiddenText = ("您的账户无权查看此页面。", "Your account may not see this page."),
    NotFound = ("未找到", "Not found"),
    NotFoundText = ("没有这个页面或记录，或您无权查看。", "There is no such page or record, or it is not yours to see."),
    Unavailable = ("服务暂不可用", "Service unavailable"),
    UnavailableText = ("数据存储暂不可用，未做任何更改，请稍后重试。", "The store is unavailable; nothing was changed. Please try again later."),
    BadForm = ("表单已失效", "The form has expired"),
    BadFormText = ("表单的安全令牌无效或已过期。请返回、刷新页面后重新提交。", "The form's security token is missing or no longer valid. Go back, reload the page and submit again."),
    TooMany = ("请求过于频繁", "Too many requests"),
    TooManyText = ("请稍后再试。", "Please wait a little and try again."),
    BackHome = ("返回首页", "Back to the home page"),
    // Login.
    LoginTitle = ("登录", "Sign in"),
    LoginIntro = ("企业用户、监管部门和综试办工作人员使用管理员分配的账户登录。", "Enterprise staff, regulators and zone office staff sign in with the account the administrator gave them."),
    Username = ("用户名", "Username"),
    Password = ("密码", "Password"),
    LoginFailed = ("用户名或密码不正确，或账户已停用。", "Wrong username or password, or the account is disabled."),
    LoginThrottled = ("登录失败次数过多，请稍后再试。", "Too many failed sign-ins; please wait and try again."),
    LoginBusy = ("正在核对的登录过多，请几秒钟后再试。", "Too many sign-ins are being checked at once; please try again in a few seconds."),
    SessionExpired = ("您的会话已过期，请重新登录。", "Your session has expired; please sign in again."),
    LoggedOut = ("您已退出登录。", "You are signed out."),
    // Home.
    HomeTitle = ("欢迎使用跨境电商单一窗口", "Welcome to the CBEC single window"),
    HomeIntro = ("企业一点接入、一次备案，监管部门信息共享。公众可以查询个人年度额度、申报状态和跨境电商指数。", "Enterprises file once and declare through one window; regulators share what they receive. The public can look up their annual quota, the status of a declaration and the CBEC index."),
    Headline = ("主要统计", "Headline figures"),
    PublicServices = ("公众服务", "Public services"),
    // Quota.
    QuotaTitle = ("个人年度交易额度查询", "Annual quota self-query"),
    QuotaIntro = ("输入订购人姓名和身份证号码，查询本年度已用和剩余的跨境电商零售进口交易额度（每人每年26,000元）。姓名和证件号码仅用于本次查询，不会显示或保存。", "Enter the buyer's name and ID number to see how much of this year's CBEC retail import quota (CNY 26,000 per person per year) is used and how much remains. The name and number are used for this query only; they are neither shown nor kept."),
    BuyerName = ("姓名", "Name"),
    IdNumber = ("身份证号码", "ID number"),
    Year = ("年度", "Year"),
    Query = ("查询", "Look up"),
    QuotaUsed = ("已使用", "Used"),
    QuotaRemaining = ("剩余额度", "Remaining"),
    QuotaLimit = ("年度限额", "Annual limit"),
    QuotaResult = ("查询结果", "Result"),
    BadIdNumber = ("身份证号码格式不正确（18位，末位校验码）。", "The ID number is not a valid 18-character resident ID number."),
    MissingName = ("请输入姓名。", "Please enter the name."),
    // Status lookup.
    StatusTitle = ("申报状态查询", "Declaration status lookup"),
    StatusIntro = ("输入电商平台代码、订单编号和物流运单编号，查询清单的通关状态。三项均须与申报一致。", "Enter the platform code, the order number and the waybill number to see where the inventory list stands. All three must match the declaration."),
    PlatformCode = ("电商平台代码", "Platform code"),
    OrderNo = ("订单编号", "Order number"),
    WaybillNo = ("物流运单编号", "Waybill number"),
    StatusNotFound = ("没有找到与这三项编号一致的申报。", "No declaration matches these three numbers."),
    Status = ("状态", "Status"),
    Declared = ("申报时间", "Declared"),
    LastUpdate = ("最近更新", "Last update"),
    Released = ("放行时间", "Released"),
    // Enterprise.
    UploadTitle = ("上传CEB报文", "Upload CEB messages"),
    UploadIntro = ("选择一个或多个CEB XML报文文件（订单、支付单、运单、清单等）。每个文件与接口 POST /api/v1/messages 走相同的校验和入库流程，结果逐个显示。", "Choose one or more CEB XML files (orders, payments, waybills, inventories …). Each file goes through exactly the same checks and journal as POST /api/v1/messages, and you see the result of each."),
    Files = ("报文文件", "Message files"),
    Upload = ("上传", "Upload"),
    UploadResults = ("上传结果", "Upload results"),
    File = ("文件", "File"),
    Result = ("结果", "Result"),
    Accepted = ("已接收", "Accepted"),
    Refused = ("未接收", "Not accepted"),
    NoFiles = ("没有选择文件。", "No file was chosen."),
    Receipts = ("回执", "Receipts"),
    Declarations = ("申报单", "Declarations"),
    DeclarationsIntro = ("您作为电商平台、电商企业、申报企业、物流企业或支付企业参与的申报。", "The declarations in which you are the platform, seller, declaring agent, logistics firm or payment institution."),
    FilterStatus = ("按状态筛选", "Filter by status"),
    AllStatuses = ("全部状态", "All statuses"),
    Filter = ("筛选", "Filter"),
    NextPage = ("下一页", "Next page"),
    FirstPage = ("第一页", "First page"),
    NoneFound = ("暂无记录。", "Nothing here yet."),
    Declaration = ("申报单", "Declaration"),
    Documents = ("单证", "Documents"),
    InventoryNo = ("清单编号", "Inventory number"),
    PreNo = ("预录入编号", "Pre-entry number"),
    DutiablePrice = ("完税价格", "Dutiable price"),
    Tax = ("税款", "Tax"),
    Parties = ("参与企业", "Parties"),
    Rejection = ("退单原因", "Why it was rejected"),
    RuleLabel = ("规则", "Rule"),
    Code = ("代码", "Code"),
    Explanation = ("说明", "Explanation"),
    ReceiptType = ("回执类型", "Receipt"),
    ReturnStatus = ("回执状态", "Return status"),
    ReturnInfo = ("回执信息", "Return info"),
    Time = ("时间", "Time"),
    Recipient = ("接收方", "Recipient"),
    TaxBillsTitle = ("电子税单", "Electronic tax bills"),
    TaxNo = ("税单号", "Tax bill number"),
    CustomsTax = ("关税", "Customs duty"),
    Vat = ("增值税", "VAT"),
    ConsumptionTax = ("消费税", "Consumption tax"),
    Total = ("合计", "Total"),
    LevyState = ("缴纳状态", "Levy state"),
    DueWindow = ("缴款期", "Payment window"),
    ExportTitle = ("下载本企业数据", "Download your data"),
    ExportIntro = ("以CSV格式（UTF-8）下载本企业参与的申报单、收到的回执和电子税单。不含其他企业的数据，订购人个人信息不包含在内。", "Download, as CSV (UTF-8), the declarations in which you are a party, the receipts addressed to you and your tax bills. Nothing of other enterprises; no buyer's personal data."),
    ExportDeclarations = ("申报单 CSV", "Declarations CSV"),
    ExportReceipts = ("回执 CSV", "Receipts CSV"),
    ExportTaxBills = ("电子税单 CSV", "Tax bills CSV"),
    MyCredit = ("本企业信用", "Our credit"),
    Grade = ("信用等级", "Grade"),
    Score = ("信用分", "Score"),
    // Desk.
    DashboardTitle = ("通关实时看板", "Live clearance dashboard"),
    Throughput = ("通关量", "Throughput"),
    Backlog = ("在途积压（按状态）", "Backlog by status"),
    RejectionsByReason = ("退单原因", "Rejections by reason"),
    ClearanceTime = ("通关时长", "Clearance time"),
    Count = ("数量", "Count"),
    Reason = ("原因", "Reason"),
    Queues = ("监管队列", "Supervision queues"),
    Enterprise = ("企业", "Enterprise"),
    EnterpriseCode = ("企业代码", "Enterprise code"),
    EnterpriseName = ("企业名称", "Name"),
    Roles = ("企业类型", "Roles"),
    Filed = ("备案日期", "Filed"),
    Active = ("有效", "Active"),
    Inactive = ("停用", "Inactive"),
    DxpId = ("DXP编号", "DXP id"),
    Park = ("园区", "Park"),
    Id = ("编号", "Id"),
    Rule = ("风险规则", "Rule"),
    Level = ("等级", "Level"),
    Subject = ("主体", "Subject"),
    Updated = ("更新时间", "Updated"),
    Created = ("创建时间", "Created"),
    Details = ("详情", "Details"),
    Evidence = ("证据", "Evidence"),
    History = ("处理记录", "Steps"),
    Actions = ("操作", "Actions"),
    Note = ("备注", "Note"),
    Submit = ("提交", "Submit"),
    Assess = ("评估", "Assess"),
    Dispose = ("处置", "Dispose"),
    Review = ("复核", "Review"),
    Confirmed = ("确认属实", "Confirmed"),
    NotConfirmed = ("不属实", "Not confirmed"),
    Finding = ("查验结果", "Finding"),
    Passed = ("合格", "Passed"),
    Failed = ("不合格", "Failed"),
    Conclude = ("审核结论", "Conclude the review"),
    Release = ("放行", "Release"),
    Reject = ("退单", "Reject"),
    ActionDone = ("操作已记录。", "The action is recorded."),
    ActionRefused = ("操作被拒绝：", "The action was refused: "),
    Category = ("类别", "Category"),
    Severity = ("严重程度", "Severity"),
    Department = ("部门", "Department"),
    Goods = ("商品", "Goods"),
    Controls = ("贸易管制清单", "Trade controls"),
    Recalls = ("召回", "Recalls"),
    Statistics = ("统计", "Statistics"),
    IndexTitle = ("跨境电子商务指数", "CBEC index"),
    Month = ("月份", "Month"),
    Day = ("日期", "Day"),
    Value = ("货值", "Value"),
    IndexValue = ("指数", "Index"),
    NotYet = ("统计数据尚未生成。", "No statistics yet."),
    DataTable = ("数据表", "Data table"),
    ApplicationsTitle = ("企业备案申请", "Filing applications"),
    ApplyTitle = ("企业备案申请", "Apply for filing"),
    Approve = ("批准", "Approve"),
    Refuse = ("驳回", "Refuse"),
    UsersTitle = ("门户用户", "Portal users"),
    AddUser = ("新增用户", "Add a user"),
    Role = ("角色", "Role"),
    Disable = ("停用", "Disable"),
    Enable = ("启用", "Enable"),
    Disabled = ("已停用", "Disabled"),
    UserCreated = ("用户已创建。", "The user is created."),
    UserExists = ("该用户名已存在。", "That username is taken."),
    BadUser = ("用户名须为3–64位字母、数字或 . _ -；密码至少12位；角色须为已备案企业代码、regulator:<部门> 或 admin。", "A username is 3–64 letters, digits or . _ -; a password at least 12 characters; the role a filed enterprise code, regulator:<department> or admin."),
    Yes = ("是", "yes"),
    No = ("否", "no"),
}

/// `¥1,234.56`: CNY with the fen, thousands grouped.
pub fn money(d: Decimal) -> String {
    let fixed = format!("{:.2}", domain::money::round_fen(d));
    let (sign, digits) = match fixed.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", fixed.as_str()),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "00"));
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}¥{grouped}.{frac}")
}

/// An amount kept in fen.
pub fn fen(minor: i64) -> String {
    money(domain::money::from_fen(minor))
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `2026年12月6日` / `6 Dec 2026`.
pub fn date(d: CivilDate, lang: Lang) -> String {
    match lang {
        Lang::Zh => format!("{}年{}月{}日", d.year, d.month, d.day),
        Lang::En => format!(
            "{} {} {}",
            d.day,
            MONTHS
                .get((d.month as usize).wrapping_sub(1))
                .copied()
                .unwrap_or("?"),
            d.year
        ),
    }
}

/// `2026年12月` / `Dec 2026`.
pub fn month(year: i32, month: u32, lang: Lang) -> String {
    match lang {
        Lang::Zh => format!("{year}年{month}月"),
        Lang::En => format!(
            "{} {year}",
            MONTHS
                .get((month as usize).wrapping_sub(1))
                .copied()
                .unwrap_or("?")
        ),
    }
}

/// The Beijing date of an instant.
pub fn day_of(ms: i64, lang: Lang) -> String {
    date(Timestamp(ms).beijing_date(), lang)
}

/// The Beijing date and time of an instant: `2026年12月6日 14:05` / `6 Dec 2026 14:05`.
pub fn datetime(ms: i64, lang: Lang) -> String {
    let t = Timestamp(ms).ceb_time14();
    let hm = format!(
        "{}:{}",
        t.get(8..10).unwrap_or("00"),
        t.get(10..12).unwrap_or("00")
    );
    format!("{} {hm}", day_of(ms, lang))
}

/// A duration in words: `2小时5分` / `2 h 5 min`.
pub fn duration(ms: i64, lang: Lang) -> String {
    let minutes = ms.max(0) / 60_000;
    let (h, m) = (minutes / 60, minutes % 60);
    match (lang, h) {
        (Lang::Zh, 0) => format!("{m}分钟"),
        (Lang::Zh, _) => format!("{h}小时{m}分"),
        (Lang::En, 0) => format!("{m} min"),
        (Lang::En, _) => format!("{h} h {m} min"),
    }
}

/// A plain count with thousands grouped: `12,345`.
pub fn count(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// Words for a CEB622 return status.
pub fn status_name(status: i32, lang: Lang) -> &'static str {
    match status {
        0 => lang.pick("等待清单", "waiting for the inventory"),
        1 => lang.pick("暂存", "saved"),
        2 => lang.pick("已接收，等待单证", "accepted, waiting for documents"),
        100 => lang.pick("退单", "rejected"),
        120 => lang.pick("逻辑校验通过", "logic check passed"),
        300 => lang.pick("人工审核", "document review"),
        399 => lang.pick("海关审结", "decided"),
        500 => lang.pick("查验", "inspection"),
        800 => lang.pick("放行", "released"),
        899 => lang.pick("结关", "closed"),
        _ => lang.pick("其他", "other"),
    }
}

/// The statuses the declaration list can be filtered by.
pub const FILTER_STATUSES: [i32; 8] = [0, 2, 100, 120, 300, 500, 800, 899];

/// Words for a tax bill's levy state.
pub fn levy_name(state: &str, lang: Lang) -> String {
    match state {
        "pending" => lang.pick(
            "放行后30日内，暂不缴纳",
            "within 30 days of release, not yet due",
        ),
        "due" => lang.pick("应缴", "due"),
        "overdue" => lang.pick("逾期", "overdue"),
        "not_levied" => lang.pick("不征收（退货或撤单）", "not levied (returned or cancelled)"),
        "paid" => lang.pick("已缴纳", "paid"),
        other => other,
    }
    .to_string()
}

/// Words for an enterprise role code of the registry.
pub fn role_name(role: &str, lang: Lang) -> String {
    match role {
        "ebp" => lang.pick("电商平台", "platform"),
        "ebc" => lang.pick("电商企业", "seller"),
        "payment" => lang.pick("支付企业", "payment institution"),
        "logistics" => lang.pick("物流企业", "logistics firm"),
        "agent" => lang.pick("申报企业", "declaring agent"),
        "guarantor" => lang.pick("担保企业", "guarantor"),
        "bonded" => lang.pick("保税仓储企业", "bonded warehouse"),
        other => other,
    }
    .to_string()
}

/// Words for a department.
pub fn department_name(d: domain::subject::Department, lang: Lang) -> &'static str {
    use domain::subject::Department::*;
    match d {
        Customs => lang.pick("海关", "Customs"),
        Inspection => lang.pick("检验检疫", "Inspection and quarantine"),
        Tax => lang.pick("税务", "Tax"),
        MarketSupervision => lang.pick("市场监管", "Market supervision"),
        ZoneOffice => lang.pick("综试办", "Zone office"),
        ThirdParty => lang.pick("第三方信用服务机构", "Third-party credit service"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_cny_with_the_fen_and_grouped() {
        assert_eq!(money(Decimal::new(123456, 2)), "¥1,234.56");
        assert_eq!(money(Decimal::new(5, 1)), "¥0.50");
        assert_eq!(money(Decimal::new(2_600_000, 0)), "¥2,600,000.00");
        assert_eq!(money(Decimal::new(-99999, 2)), "-¥999.99");
        assert_eq!(fen(100), "¥1.00");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(12), "12");
    }

    #[test]
    fn dates_follow_each_language_in_beijing_time() {
        let d = CivilDate {
            year: 2026,
            month: 12,
            day: 6,
        };
        assert_eq!(date(d, Lang::Zh), "2026年12月6日");
        assert_eq!(date(d, Lang::En), "6 Dec 2026");
        // 2026-12-05T16:30Z is 00:30 on the 6th in Beijing.
        let ms = d.beijing_midnight().0 + 30 * 60_000;
        assert_eq!(datetime(ms, Lang::En), "6 Dec 2026 00:30");
        assert_eq!(datetime(ms, Lang::Zh), "2026年12月6日 00:30");
        assert_eq!(duration(125 * 60_000, Lang::En), "2 h 5 min");
        assert_eq!(duration(125 * 60_000, Lang::Zh), "2小时5分");
    }

    #[test]
    fn every_message_has_both_languages() {
        for m in M::ALL {
            assert!(
                !m.get(Lang::Zh).is_empty() && !m.get(Lang::En).is_empty(),
                "{m:?}"
            );
        }
        assert_eq!(Lang::parse("en"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
    }
}
