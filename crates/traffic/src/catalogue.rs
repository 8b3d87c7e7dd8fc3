//! The goods the demo traffic sells: tariff lines of the CBEC positive list with plausible
//! Chinese names, fictitious brands, units and prices, plus two lines that are not on the list.

/// How the consumption tax applies to a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConsumptionTax {
    None,
    /// Always at the given rate (wine).
    Always(u32),
    /// 高档化妆品 — only when the price per gram/ml reaches 10 CNY.
    HighEndCosmetic(u32),
    /// Only when one watch costs 10 000 CNY or more.
    LuxuryWatch(u32),
}

/// One product of the catalogue.
#[derive(Debug)]
pub(crate) struct Product {
    pub(crate) hs: &'static str,
    /// itemName on the order = gname on the inventory.
    pub(crate) name: &'static str,
    pub(crate) gmodel: &'static str,
    pub(crate) sku: &'static str,
    /// Trade unit (JGS-20).
    pub(crate) unit: &'static str,
    /// Legal unit (JGS-20).
    pub(crate) unit1: &'static str,
    /// Legal quantity per trade unit, in 1e-5 of `unit1` (100 000 = one).
    pub(crate) qty1_per_unit: u64,
    pub(crate) net_g: u64,
    pub(crate) gross_g: u64,
    /// Price range per trade unit, whole CNY.
    pub(crate) price_min: u64,
    pub(crate) price_max: u64,
    pub(crate) countries: &'static [&'static str],
    /// VAT in basis points.
    pub(crate) vat_bp: u64,
    pub(crate) ct: ConsumptionTax,
    /// Relative frequency in generated orders.
    pub(crate) weight: u64,
}

impl Product {
    /// Second legal unit (kg) where the tariff has one; qty2 is then the net weight.
    pub(crate) fn unit2(&self) -> Option<&'static str> {
        match self.hs {
            "6403990090" | "6110200090" | "8509800000" | "9503008900" | "9307009000" => Some(KG),
            _ => None,
        }
    }

    /// Consumption-tax rate (basis points) at a given unit price in fen.
    pub(crate) fn ct_bp(&self, price_fen: u64) -> u64 {
        match self.ct {
            ConsumptionTax::None => 0,
            ConsumptionTax::Always(r) => u64::from(r),
            // price/g = (fen/100) / (qty1/100) CNY with qty1 in 1e-5 kg.
            ConsumptionTax::HighEndCosmetic(r) if price_fen >= 10 * self.qty1_per_unit => {
                u64::from(r)
            }
            ConsumptionTax::LuxuryWatch(r) if price_fen >= 1_000_000 => u64::from(r),
            ConsumptionTax::HighEndCosmetic(_) | ConsumptionTax::LuxuryWatch(_) => 0,
        }
    }

    /// The CBEC tax the platform pre-collects on a line: value·(VAT+CT)/(1−CT)·70 %, half-up
    /// to the fen. An approximation the engine does not require to match its own.
    pub(crate) fn line_tax_fen(&self, price_fen: u64, total_fen: u64) -> u64 {
        let ct = self.ct_bp(price_fen);
        let num = u128::from(total_fen) * u128::from(self.vat_bp + ct) * 7;
        let den = u128::from(10_000 - ct.min(9_999)) * 10;
        ((2 * num + den) / (2 * den)) as u64
    }
}

const KG: &str = "035";

macro_rules! p {
    ($hs:expr, $name:expr, $gmodel:expr, $sku:expr, $unit:expr, $unit1:expr, $q1:expr, $net:expr, $gross:expr,
     $lo:expr, $hi:expr, $c:expr, $vat:expr, $ct:expr, $w:expr) => {
        Product {
            hs: $hs,
            name: $name,
            gmodel: $gmodel,
            sku: $sku,
            unit: $unit,
            unit1: $unit1,
            qty1_per_unit: $q1,
            net_g: $net,
            gross_g: $gross,
            price_min: $lo,
            price_max: $hi,
            countries: $c,
            vat_bp: $vat,
            ct: $ct,
            weight: $w,
        }
    };
}

use ConsumptionTax::{Always, HighEndCosmetic, LuxuryWatch, None as NoCt};

pub(crate) static CATALOGUE: [Product; 16] = [
    p!(
        "3304990099",
        "澳蕾儿保湿修护面霜50ml",
        "品牌:澳蕾儿(Aurelle)|规格:50ml/罐|用途:面部保湿",
        "AUR-CR050",
        "122",
        KG,
        5_000,
        60,
        150,
        180,
        980,
        &["116", "305"],
        1300,
        HighEndCosmetic(1500),
        12
    ),
    p!(
        "3304990099",
        "凯诗卡焕颜精华液30ml",
        "品牌:凯诗卡(Kishaka)|规格:30ml/瓶|用途:面部护理",
        "KSK-SE030",
        "142",
        KG,
        3_000,
        45,
        120,
        260,
        1480,
        &["116", "133"],
        1300,
        HighEndCosmetic(1500),
        10
    ),
    p!(
        "3304990099",
        "诺德海文舒缓保湿乳液120ml",
        "品牌:诺德海文(Nordhaven)|规格:120ml/瓶|用途:身体保湿",
        "NDH-LO120",
        "142",
        KG,
        12_000,
        150,
        230,
        90,
        360,
        &["304", "330"],
        1300,
        HighEndCosmetic(1500),
        10
    ),
    p!(
        "3304100000",
        "露瑟菲丝绒哑光口红3.5g",
        "品牌:露瑟菲(Lucerphi)|规格:3.5g/支|色号:M12",
        "LCP-LS035",
        "012",
        KG,
        350,
        20,
        60,
        160,
        420,
        &["305", "502"],
        1300,
        HighEndCosmetic(1500),
        8
    ),
    p!(
        "3303000000",
        "蔚蓝海岸淡香水50ml",
        "品牌:蔚蓝海岸(Azurine)|规格:50ml/瓶|类型:淡香水",
        "AZR-EDT050",
        "142",
        KG,
        5_000,
        200,
        380,
        420,
        1280,
        &["305", "307"],
        1300,
        HighEndCosmetic(1500),
        5
    ),
    p!(
        "1901101000",
        "牧源较大婴儿配方奶粉2段900g",
        "品牌:牧源(Pasturo)|规格:900g/罐|适用:6-12月龄",
        "PST-IF900",
        "122",
        KG,
        90_000,
        900,
        1150,
        188,
        368,
        &["609", "601", "309"],
        1300,
        NoCt,
        12
    ),
    p!(
        "1509200000",
        "橄榄庄园特级初榨橄榄油750ml",
        "品牌:橄榄庄园(Olivara)|规格:750ml/瓶|等级:特级初榨",
        "OLV-EV750",
        "142",
        KG,
        68_000,
        690,
        1300,
        78,
        218,
        &["312", "307", "310"],
        900,
        NoCt,
        5
    ),
    p!(
        "2204210000",
        "蒙塔纳赤霞珠干红葡萄酒750ml",
        "品牌:蒙塔纳(Montana Ridge)|规格:750ml/瓶|酒精度:13.5%vol",
        "MTR-CS750",
        "142",
        "095",
        75_000,
        1200,
        1500,
        128,
        680,
        &["305", "601", "307", "502"],
        1300,
        Always(1000),
        6
    ),
    p!(
        "2106909090",
        "维康复合维生素片120粒",
        "品牌:维康(Vitacare)|规格:120粒/瓶|成分:复合维生素",
        "VTC-MV120",
        "142",
        KG,
        18_000,
        180,
        260,
        88,
        320,
        &["601", "502"],
        1300,
        NoCt,
        10
    ),
    p!(
        "6403990090",
        "费拉托真皮休闲男鞋",
        "品牌:费拉托(Ferrato)|材质:牛皮面|尺码:42",
        "FRT-SH042",
        "025",
        "025",
        100_000,
        900,
        1400,
        680,
        2380,
        &["307", "502"],
        1300,
        NoCt,
        4
    ),
    p!(
        "6110200090",
        "布兰登纯棉圆领针织毛衣",
        "品牌:布兰登(Brandon)|成分:100%棉|尺码:L",
        "BRD-KN00L",
        "011",
        "011",
        100_000,
        400,
        520,
        220,
        960,
        &["303", "116"],
        1300,
        NoCt,
        5
    ),
    p!(
        "4202210090",
        "梅里安真皮托特手提包",
        "品牌:梅里安(Merian)|材质:牛皮|款式:托特包",
        "MRN-TB001",
        "011",
        "011",
        100_000,
        900,
        1500,
        1280,
        4680,
        &["305", "307"],
        1300,
        NoCt,
        3
    ),
    p!(
        "8509800000",
        "赫斯曼多功能破壁料理机",
        "品牌:赫斯曼(Hessmann)|功率:1200W|容量:1.75L",
        "HSM-BL175",
        "001",
        "001",
        100_000,
        3800,
        5200,
        480,
        1880,
        &["304", "116"],
        1300,
        NoCt,
        3
    ),
    p!(
        "9102110000",
        "格林沃德自动机械腕表",
        "品牌:格林沃德(Greenwald)|机芯:自动机械|表径:40mm",
        "GRW-AM040",
        "008",
        "008",
        100_000,
        150,
        600,
        1680,
        4800,
        &["331", "116"],
        1300,
        LuxuryWatch(2000),
        2
    ),
    p!(
        "9503008900",
        "积木城市拼搭玩具套装",
        "品牌:积木城(Brickton)|材质:ABS塑料|适用:6岁以上",
        "BRK-CT520",
        "007",
        "007",
        100_000,
        800,
        1100,
        99,
        899,
        &["302", "309"],
        1300,
        NoCt,
        4
    ),
    p!(
        "3401110000",
        "薰衣草手工精油香皂100g",
        "品牌:普罗旺(Provana)|规格:100g/块|香型:薰衣草",
        "PRV-SP100",
        "007",
        KG,
        10_000,
        100,
        130,
        25,
        98,
        &["303", "305"],
        1300,
        NoCt,
        6
    ),
];

/// Goods that may not be imported through CBEC retail (the `NotOnPositiveList` case).
pub(crate) static OFF_LIST: [Product; 2] = [
    p!(
        "0201100000",
        "鲜冷整头及半头牛胴体",
        "品名:鲜冷牛胴体|部位:半头|状态:冷鲜",
        "BEF-HC001",
        KG,
        KG,
        100_000,
        1000,
        1200,
        120,
        260,
        &["601"],
        900,
        NoCt,
        1
    ),
    p!(
        "9307009000",
        "装饰用仿古刀剑",
        "品名:仿古刀剑|材质:钢|用途:装饰",
        "SWD-DC001",
        "016",
        "016",
        100_000,
        1500,
        2200,
        380,
        1600,
        &["116"],
        1300,
        NoCt,
        1
    ),
];

/// Indices of the products that plausibly sell alone for more than 5 000 CNY.
pub(crate) const HIGH_VALUE: [usize; 2] = [11, 13];

/// The HS codes that are on the positive list.
pub fn positive_list_hs_codes() -> impl Iterator<Item = &'static str> {
    CATALOGUE.iter().map(|p| p.hs)
}

/// The HS codes the `NotOnPositiveList` case uses.
pub fn off_list_hs_codes() -> impl Iterator<Item = &'static str> {
    OFF_LIST.iter().map(|p| p.hs)
}

pub(crate) fn total_weight() -> u64 {
    CATALOGUE.iter().map(|p| p.weight).sum()
}
