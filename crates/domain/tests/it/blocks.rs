//! Tests of the building blocks: money, time, personal data, registry, settings, tariff, tax, limits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr;

use domain::limits::{self, LimitVerdict, QuotaLedger};
use domain::money::{from_fen, parse_amount, round_fen, to_fen};
use domain::personal::{
    BuyerKey, IdNumber, PersonName, PersonalError, Phone, buyer_key, mask_id, mask_name, mask_phone,
};
use domain::registry::{Enterprise, Registry, RegistryError, Role, parse_registry_csv};
use domain::settings::{Rounding, Settings};
use domain::tariff::{Measure, Tariff, TariffError};
use domain::tax::{Regime, TaxError, TaxInput, TaxLineInput, allocate, assess, dutiable_price};
use domain::time::{CivilDate, Timestamp, parse_ceb_time14};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

// ---------------------------------------------------------------- money

#[test]
fn money_rounds_half_up_to_the_fen() {
    assert_eq!(round_fen(d("0.005")), d("0.01"));
    assert_eq!(round_fen(d("0.00499")), d("0.00"));
    assert_eq!(round_fen(d("-0.005")), d("-0.01"));
    assert_eq!(round_fen(d("23.3333")), d("23.33"));
    assert_eq!(to_fen(d("12.345")), Some(1235));
    assert_eq!(to_fen(d("-0.01")), Some(-1));
    assert_eq!(to_fen(Decimal::MAX), None);
    assert_eq!(from_fen(98_00), d("98.00"));
}

#[test]
fn money_parses_ceb_amounts_and_refuses_the_rest() {
    assert_eq!(parse_amount("425.00000"), Some(d("425")));
    assert_eq!(parse_amount(" 0.5 "), Some(d("0.5")));
    assert_eq!(parse_amount("+12"), Some(d("12")));
    assert_eq!(
        parse_amount("1234567890123456789.12345"),
        Some(d("1234567890123456789.12345"))
    );
    for bad in [
        "",
        " ",
        ".",
        "abc",
        "1,000.00",
        "1e5",
        "1.123456",
        "--1",
        "12345678901234567890",
    ] {
        assert_eq!(parse_amount(bad), None, "{bad:?} must be refused");
    }
}

proptest! {
    #[test]
    fn fen_round_trips(fen in -1_000_000_000_000i64..1_000_000_000_000i64) {
        prop_assert_eq!(to_fen(from_fen(fen)), Some(fen));
        prop_assert_eq!(parse_amount(&from_fen(fen).to_string()), Some(from_fen(fen)));
    }
}

// ---------------------------------------------------------------- time

#[test]
fn beijing_new_year_starts_at_16_utc() {
    let last_second_2025 = Timestamp(1_767_196_799_000);
    let first_ms_2026 = Timestamp(1_767_196_800_000);
    assert_eq!(
        last_second_2025.beijing_date(),
        CivilDate {
            year: 2025,
            month: 12,
            day: 31
        }
    );
    assert_eq!(
        first_ms_2026.beijing_date(),
        CivilDate {
            year: 2026,
            month: 1,
            day: 1
        }
    );
    assert_eq!(last_second_2025.ceb_time14(), "20251231235959");
    assert_eq!(
        Timestamp(1_767_196_800_123).ceb_time17(),
        "20260101000000123"
    );
    assert_eq!(parse_ceb_time14("20260101000000"), Some(first_ms_2026));
    assert_eq!(
        parse_ceb_time14("20240229123456"),
        Some(Timestamp(1_709_181_296_000))
    );
}

#[test]
fn time_parsing_refuses_impossible_values() {
    for bad in [
        "20250229000000",
        "20251301000000",
        "20251232000000",
        "20250101240000",
        "20250101006000",
        "2025010100000",
        "2025-01-01 00:0",
        "20250101000060",
    ] {
        assert_eq!(parse_ceb_time14(bad), None, "{bad}");
    }
    assert_eq!(
        CivilDate::parse_yyyymmdd("20240229"),
        Some(CivilDate {
            year: 2024,
            month: 2,
            day: 29
        })
    );
    assert_eq!(CivilDate::parse_yyyymmdd("19000229"), None);
    assert_eq!(
        CivilDate::parse_yyyymmdd("20000229").map(|c| c.yyyymmdd()),
        Some("20000229".into())
    );
}

#[test]
fn date_arithmetic_counts_return_windows() {
    let release = CivilDate::parse_yyyymmdd("20250215").unwrap();
    assert_eq!(release.add_days(30).yyyymmdd(), "20250317");
    assert_eq!(release.add_days(30).days_since(release), 30);
    assert_eq!(
        CivilDate::parse_yyyymmdd("20241231")
            .unwrap()
            .add_days(1)
            .yyyymmdd(),
        "20250101"
    );
    assert_eq!(
        CivilDate::parse_yyyymmdd("20240301")
            .unwrap()
            .add_days(-1)
            .yyyymmdd(),
        "20240229"
    );
}

#[test]
fn extreme_times_do_not_panic() {
    for t in [i64::MIN, -1, 0, i64::MAX] {
        let ts = Timestamp(t);
        let _ = (ts.beijing_date(), ts.ceb_time14(), ts.ceb_time17());
    }
    let d0 = CivilDate {
        year: 2025,
        month: 1,
        day: 1,
    };
    for n in [i64::MIN, i64::MAX] {
        let far = d0.add_days(n);
        let _ = (far.yyyymmdd(), far.days_since(d0), far.beijing_midnight());
    }
    let junk = CivilDate {
        year: i32::MAX,
        month: 99,
        day: 99,
    };
    let _ = (junk.add_days(1), junk.yyyymmdd(), junk.days_since(d0));
}

proptest! {
    #[test]
    fn ceb_time14_round_trips(secs in 0i64..4_102_444_800) {
        let t = Timestamp(secs * 1000);
        prop_assert_eq!(parse_ceb_time14(&t.ceb_time14()), Some(t));
        let date = t.beijing_date();
        prop_assert_eq!(CivilDate::parse_yyyymmdd(&date.yyyymmdd()), Some(date));
    }

    #[test]
    fn add_days_inverts_days_since(days in -100_000i64..100_000, start in 0i64..50_000) {
        let base = CivilDate { year: 1970, month: 1, day: 1 }.add_days(start);
        let later = base.add_days(days);
        prop_assert_eq!(later.days_since(base), days);
        prop_assert!(CivilDate::parse_yyyymmdd(&later.yyyymmdd()).is_some() || later.year > 9999 || later.year < 0);
    }
}

// ---------------------------------------------------------------- personal

const ID: &str = "11010519491231002X"; // fictitious, valid check character

#[test]
fn id_numbers_are_validated_and_normalised() {
    let id = IdNumber::parse("11010519491231002x").unwrap();
    assert_eq!(id.as_str(), ID);
    assert!(IdNumber::parse("110105200001011238").is_ok());
    assert_eq!(
        IdNumber::parse("110105200001011237"),
        Err(PersonalError::IdChecksum)
    );
    // 2001-02-29 does not exist (check character made valid for the test)
    assert_eq!(
        IdNumber::parse("11010520010229123X").unwrap_err(),
        PersonalError::IdBirthDate
    );
    assert_eq!(
        IdNumber::parse("1101051949123100"),
        Err(PersonalError::IdFormat)
    );
    assert_eq!(
        IdNumber::parse("11010519491231002Y"),
        Err(PersonalError::IdFormat)
    );
    assert_eq!(
        IdNumber::parse("１１010519491231002X"),
        Err(PersonalError::IdFormat)
    );
}

#[test]
fn personal_data_never_prints_in_clear() {
    let id = IdNumber::parse(ID).unwrap();
    let name = PersonName::parse("张三丰").unwrap();
    let phone = Phone::parse("13800001234").unwrap();
    for shown in [
        format!("{id:?}"),
        format!("{id}"),
        format!("{name:?}"),
        format!("{name}"),
        format!("{phone:?}"),
        format!("{phone}"),
        format!("{:?}", (&id, &name, &phone)),
    ] {
        assert!(!shown.contains(ID), "{shown}");
        assert!(!shown.contains("19491231"), "{shown}");
        assert!(!shown.contains("张三丰"), "{shown}");
        assert!(!shown.contains("13800001234"), "{shown}");
    }
    assert_eq!(id.masked(), "1101**********002X");
    assert_eq!(name.to_string(), "张**");
    assert_eq!(phone.to_string(), "138****1234");
    assert_eq!(mask_name("张三"), "张*");
    assert_eq!(mask_name("欧阳娜娜"), "欧***");
    assert_eq!(mask_name("李"), "*");
    assert_eq!(mask_id("123"), "***");
    assert_eq!(mask_phone("+86 138 0000 1234"), "+86**********1234");
}

#[test]
fn names_and_phones_are_checked() {
    assert!(PersonName::parse("  ").is_err());
    assert!(PersonName::parse("a\nb").is_err());
    assert_eq!(PersonName::parse(" 王五 ").unwrap().as_str(), "王五");
    assert!(Phone::parse("0571-88880000").is_ok());
    assert!(Phone::parse("+86 13800001234").is_ok());
    assert!(Phone::parse("1234").is_err());
    assert!(Phone::parse("call me").is_err());
    assert!(Phone::parse("(0571) 8888-0000").is_ok());
    assert!(Phone::parse("138000012345678901234").is_err());
}

#[test]
fn buyer_key_is_stable_keyed_and_opaque() {
    let secret = b"test-secret";
    let k = buyer_key(secret, "张三", ID);
    assert_eq!(k, buyer_key(secret, " 张三 ", "11010519491231002x "));
    assert_ne!(k, buyer_key(b"other-secret", "张三", ID));
    assert_ne!(k, buyer_key(secret, "张四", ID));
    assert_ne!(buyer_key(secret, "ab", "c"), buyer_key(secret, "a", "bc"));
    assert_eq!(k.0.len(), 64);
    assert!(k.0.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(!format!("{k:?}").contains("1101"));
}

// ---------------------------------------------------------------- registry

fn ent(code: &str, roles: &[Role]) -> Enterprise {
    Enterprise {
        code: code.into(),
        name: format!("Test Co {code}"),
        roles: roles.iter().copied().collect(),
        dxp_id: None,
        filed_at: Timestamp(0),
        active: true,
        park: None,
        entrusts: Default::default(),
    }
}

#[test]
fn registry_checks_filing_role_and_status() {
    let mut r = Registry::default();
    r.file(ent("3301960001", &[Role::Platform, Role::Seller]))
        .unwrap();
    assert!(r.check("3301960001", Role::Platform).is_ok());
    assert_eq!(
        r.check("3301960001", Role::Payment).unwrap_err(),
        RegistryError::WrongRole {
            code: "3301960001".into(),
            role: Role::Payment
        }
    );
    assert_eq!(
        r.check("9999", Role::Platform).unwrap_err(),
        RegistryError::Unfiled {
            code: "9999".into()
        }
    );
    // re-filing the same code updates it
    let mut off = ent("3301960001", &[Role::Platform]);
    off.active = false;
    r.file(off).unwrap();
    assert_eq!(r.all().count(), 1);
    assert_eq!(
        r.check("3301960001", Role::Platform).unwrap_err(),
        RegistryError::Inactive {
            code: "3301960001".into()
        }
    );

    assert!(matches!(
        r.file(ent("33019a", &[Role::Agent])),
        Err(RegistryError::InvalidCode { .. })
    ));
    assert!(matches!(
        r.file(ent("1234567890123456789", &[Role::Agent])),
        Err(RegistryError::InvalidCode { .. })
    ));
    assert!(matches!(
        r.file(ent("", &[Role::Agent])),
        Err(RegistryError::InvalidCode { .. })
    ));
    assert!(matches!(
        r.file(ent("1", &[])),
        Err(RegistryError::NoRoles { .. })
    ));
    let mut nameless = ent("2", &[Role::Agent]);
    nameless.name = " ".into();
    assert!(matches!(
        r.file(nameless),
        Err(RegistryError::InvalidName { .. })
    ));
}

#[test]
fn role_codes_round_trip() {
    for r in Role::ALL {
        assert_eq!(Role::parse(r.code()), Some(r));
    }
    assert_eq!(Role::parse(" EBP "), Some(Role::Platform));
    assert_eq!(Role::parse("bank"), None);
}

#[test]
fn registry_csv_reads_quoted_names_and_role_lists() {
    let csv = "\u{feff}code,name,roles,dxp_id\r\n\
               3301960001,\"Hangzhou Demo Mall, Ltd.\",ebp|ebc,DXPENT0000000001\r\n\
               # comment\n\
               \n\
               PAY0000001,\"Demo \"\"Pay\"\"\",payment,\n";
    let es = parse_registry_csv(csv, Timestamp(42)).unwrap();
    assert_eq!(es.len(), 2);
    assert_eq!(es[0].name, "Hangzhou Demo Mall, Ltd.");
    assert_eq!(
        es[0].roles.iter().copied().collect::<Vec<_>>(),
        vec![Role::Platform, Role::Seller]
    );
    assert_eq!(es[0].dxp_id.as_deref(), Some("DXPENT0000000001"));
    assert_eq!(es[1].name, "Demo \"Pay\"");
    assert_eq!(es[1].dxp_id, None);
    assert!(es.iter().all(|e| e.active && e.filed_at == Timestamp(42)));
}

#[test]
fn registry_csv_carries_earlier_filing_dates_over() {
    let now = domain::time::parse_ceb_time14("20261123120000").unwrap();
    let csv = "code,name,roles,dxp_id,filed_on\nA1,Alpha,ebc,,2021-06-01\nB2,Beta,ebp,,\n";
    let es = parse_registry_csv(csv, now).unwrap();
    assert_eq!(es[0].filed_at.beijing_date().yyyymmdd(), "20210601");
    assert_eq!(es[1].filed_at, now, "no date: filed now");
    let future = "code,name,roles,dxp_id,filed_on\nA1,Alpha,ebc,,2027-01-01\n";
    match parse_registry_csv(future, now) {
        Err(RegistryError::Csv { line: 2, reason }) => assert!(reason.contains("filed_on")),
        other => panic!("{other:?}"),
    }
    let garbled = "code,name,roles,dxp_id,filed_on\nA1,Alpha,ebc,,June\n";
    assert!(parse_registry_csv(garbled, now).is_err());
}

#[test]
fn registry_csv_names_each_enterprises_park() {
    let csv = "code,name,roles,dxp_id,filed_on,park\nA1,Alpha,ebc,,,HZ-XS\nB2,Beta,ebp,,\n";
    let es = parse_registry_csv(csv, Timestamp(42)).unwrap();
    assert_eq!(es[0].park.as_deref(), Some("HZ-XS"));
    assert_eq!(es[1].park, None, "no park column value: no park");
    // A park that is not a code is refused with its line.
    let bad = "code,name,roles,dxp_id,filed_on,park\nA1,Alpha,ebc,,,下沙\n";
    match parse_registry_csv(bad, Timestamp(42)) {
        Err(RegistryError::Csv { line: 2, reason }) => assert!(reason.contains("park"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // Filed without a park, the enterprise's state row is what it was before parks existed.
    let json = serde_json::to_string(&es[1]).unwrap();
    assert!(!json.contains("park"), "{json}");
}

#[test]
fn registry_csv_errors_name_the_line() {
    let bad_role = "code,name,roles,dxp_id\nA1,Alpha,ebp,\nB2,Beta,ebp|bank,\n";
    match parse_registry_csv(bad_role, Timestamp(0)) {
        Err(RegistryError::Csv { line: 3, reason }) => assert!(reason.contains("bank"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let unterminated = "code,name,roles,dxp_id\nA1,\"Alpha,ebp,\n";
    assert!(matches!(
        parse_registry_csv(unterminated, Timestamp(0)),
        Err(RegistryError::Csv { line: 2, .. })
    ));
    let lower = "code,name,roles,dxp_id\n\nab1,Alpha,ebp,\n";
    assert!(matches!(
        parse_registry_csv(lower, Timestamp(0)),
        Err(RegistryError::Csv { line: 3, .. })
    ));
    let dup = "code,name,roles,dxp_id\nA1,Alpha,ebp,\nA1,Alpha,ebc,\n";
    assert!(matches!(
        parse_registry_csv(dup, Timestamp(0)),
        Err(RegistryError::Csv { line: 3, .. })
    ));
    let header = "name,code,roles\n";
    assert!(matches!(
        parse_registry_csv(header, Timestamp(0)),
        Err(RegistryError::Csv { line: 1, .. })
    ));
}

// ---------------------------------------------------------------- settings

#[test]
fn settings_default_to_the_documented_values_and_parse_partially() {
    let s = Settings::default();
    assert_eq!(s.single_limit, d("5000"));
    assert_eq!(s.annual_limit, d("26000"));
    assert_eq!(s.preferential_factor, d("0.7"));
    assert!(!s.discount_reduces_dutiable_price);
    assert!(s.freight_in_dutiable_price && s.insurance_in_dutiable_price);
    assert_eq!(
        (
            s.return_window_days,
            s.tax_due_from_day,
            s.tax_due_until_day
        ),
        (30, 31, 45)
    );
    assert_eq!(s.amount_tolerance, Decimal::ZERO);
    assert_eq!(s.rounding, Rounding::PerLinePerTaxType);
    assert_eq!(s.high_end_watch_threshold, d("10000"));

    let p =
        Settings::from_json(r#"{"single_limit":"2000","rounding":"per_inventory_per_tax_type"}"#)
            .unwrap();
    assert_eq!(p.single_limit, d("2000"));
    assert_eq!(p.rounding, Rounding::PerInventoryPerTaxType);
    assert_eq!(p.annual_limit, d("26000"));
    let back: Settings = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(back, s);
}

// ---------------------------------------------------------------- tariff

/// (hs, vat, ct, threshold, legal unit)
type Expected = (
    &'static str,
    &'static str,
    &'static str,
    Option<(&'static str, Measure)>,
    &'static str,
);

#[test]
fn builtin_tariff_covers_the_demo_codes_with_their_rates() {
    let t = Tariff::builtin();
    assert!(t.len() >= 40, "built-in tariff has {} lines", t.len());
    // (hs, vat, ct, threshold, legal unit)
    let table: [Expected; 14] = [
        (
            "3304990099",
            "0.13",
            "0.15",
            Some(("10", Measure::Gram)),
            "035",
        ),
        (
            "3304100000",
            "0.13",
            "0.15",
            Some(("10", Measure::Gram)),
            "035",
        ),
        (
            "3303000000",
            "0.13",
            "0.15",
            Some(("10", Measure::Millilitre)),
            "035",
        ),
        ("1901101000", "0.13", "0", None, "035"),
        ("1509200000", "0.09", "0", None, "035"),
        ("2204210000", "0.13", "0.10", None, "095"),
        ("2106909090", "0.13", "0", None, "035"),
        ("6403990090", "0.13", "0", None, "025"),
        ("6110200090", "0.13", "0", None, "011"),
        ("4202210090", "0.13", "0", None, "011"),
        ("8509800000", "0.13", "0", None, "001"),
        (
            "9102110000",
            "0.13",
            "0.20",
            Some(("10000", Measure::Item)),
            "008",
        ),
        ("9503008900", "0.13", "0", None, "007"),
        ("3401110000", "0.13", "0", None, "035"),
    ];
    for (hs, vat, ct, th, unit) in table {
        let l = t.lookup(hs).unwrap_or_else(|| panic!("{hs} missing"));
        assert_eq!(l.hs, hs, "{hs} must be an exact 10-digit line");
        assert_eq!(l.vat_rate, d(vat), "{hs} VAT");
        assert_eq!(l.ct_rate, d(ct), "{hs} CT");
        assert_eq!(
            l.ct_threshold.map(|c| (c.min_unit_price, c.per)),
            th.map(|(a, m)| (d(a), m)),
            "{hs}"
        );
        assert_eq!(l.legal_unit, unit, "{hs} unit");
        assert!(l.positive_list, "{hs} must be on the positive list");
    }
    for banned in ["0201100000", "9307009000"] {
        assert!(!t.lookup(banned).unwrap().positive_list, "{banned}");
    }
}

#[test]
fn lookup_falls_back_to_the_8_digit_line() {
    let t = Tariff::builtin();
    assert_eq!(
        t.lookup("3304990011").map(|l| l.hs.as_str()),
        Some("33049900")
    );
    assert_eq!(
        t.lookup("3304990099").map(|l| l.hs.as_str()),
        Some("3304990099")
    );
    assert!(t.lookup("0101210010").is_none());
    assert!(t.lookup("33").is_none());
}

#[test]
fn tariff_csv_errors_name_the_line() {
    let head = "hs,name,vat_rate,ct_rate,ct_threshold,mfn_rate,positive_list,bonded_only,legal_unit,second_unit\n";
    let ok = format!("{head}12345678,\"thing, nice\",13%,0,,0.05,yes,no,035,\n");
    let t = Tariff::parse_csv(&ok).unwrap();
    assert_eq!(t.lookup("1234567800").unwrap().mfn_rate, d("0.05"));
    assert_eq!(t.lookup("12345678").unwrap().name, "thing, nice");
    let cases = [
        format!("{head}1234567,x,13%,0,,0,yes,no,035,\n"),
        format!("{head}12345678,x,113%,0,,0,yes,no,035,\n"),
        format!("{head}12345678,x,13%,0,10/kg,0,yes,no,035,\n"),
        format!("{head}12345678,x,13%,0,,0,maybe,no,035,\n"),
        format!("{head}12345678,x,13%,0,,0,yes,no,kg,\n"),
        format!("{head}12345678,x,13%,0,,0,yes,no\n"),
    ];
    for c in cases {
        assert!(
            matches!(Tariff::parse_csv(&c), Err(TariffError::Csv { line: 2, .. })),
            "{c}"
        );
    }
    let dup =
        format!("{head}12345678,x,13%,0,,0,yes,no,035,\n# c\n12345678,y,9%,0,,0,yes,no,035,\n");
    assert!(matches!(
        Tariff::parse_csv(&dup),
        Err(TariffError::Csv { line: 4, .. })
    ));
    assert!(matches!(
        Tariff::parse_csv("hs,name\n"),
        Err(TariffError::Csv { line: 1, .. })
    ));
}

// ---------------------------------------------------------------- tax

fn line(
    gnum: u32,
    hs: &str,
    value: &str,
    qty: &str,
    unit: &str,
    qty1: &str,
    unit1: &str,
) -> TaxLineInput {
    TaxLineInput {
        gnum,
        hs: hs.into(),
        goods_value: d(value),
        qty: d(qty),
        unit: unit.into(),
        qty1: d(qty1),
        unit1: unit1.into(),
    }
}

fn assess_one(
    lines: &[TaxLineInput],
    regime: Regime,
) -> Result<domain::tax::TaxAssessment, TaxError> {
    let input = TaxInput {
        lines,
        freight: Decimal::ZERO,
        insured_fee: Decimal::ZERO,
        discount: Decimal::ZERO,
        regime,
    };
    assess(&input, &Tariff::builtin(), &Settings::default())
}

#[test]
fn high_end_skin_care_425_for_20_g_pays_98_00() {
    let a = assess_one(
        &[line(1, "3304990099", "425", "1", "011", "0.02", "035")],
        Regime::Preferential,
    )
    .unwrap();
    assert_eq!(a.consumption_tax, d("52.50"));
    assert_eq!(a.vat, d("45.50"));
    assert_eq!(a.customs_tax, d("0"));
    assert_eq!(a.total(), d("98.00"));
    assert!(a.lines[0].high_end);
}

#[test]
fn cosmetics_below_the_threshold_pay_no_consumption_tax() {
    // 150 CNY for 20 g = 7.50 CNY/g < 10
    let a = assess_one(
        &[line(1, "3304990099", "150", "1", "011", "0.02", "035")],
        Regime::Preferential,
    )
    .unwrap();
    assert_eq!(a.consumption_tax, Decimal::ZERO);
    assert_eq!(a.vat, d("13.65"));
    assert!(!a.lines[0].high_end);
    // exactly 10 CNY/g is high-end ("≥")
    let b = assess_one(
        &[line(1, "3304990099", "200", "1", "011", "0.02", "035")],
        Regime::Preferential,
    )
    .unwrap();
    assert!(b.lines[0].high_end);
    // perfume measured in litres: 500 CNY for 50 ml
    let p = assess_one(
        &[line(1, "3303000000", "500", "1", "142", "0.05", "095")],
        Regime::Preferential,
    )
    .unwrap();
    assert!(p.lines[0].high_end);
    // no net content declared: the per-piece test (15 CNY/piece) applies
    let masks = assess_one(
        &[line(1, "3304990099", "140", "10", "020", "0", "")],
        Regime::Preferential,
    )
    .unwrap();
    assert!(!masks.lines[0].high_end);
    let masks = assess_one(
        &[line(1, "3304990099", "150", "10", "020", "0", "")],
        Regime::Preferential,
    )
    .unwrap();
    assert!(masks.lines[0].high_end);
    // and without any usable quantity the line cannot be taxed
    assert!(matches!(
        assess_one(
            &[line(1, "3304990099", "150", "0", "035", "0", "035")],
            Regime::Preferential
        ),
        Err(TaxError::MissingMeasure { gnum: 1, .. })
    ));
}

#[test]
fn wine_rounds_per_tax_type() {
    let a = assess_one(
        &[line(1, "2204210000", "300", "1", "142", "0.75", "095")],
        Regime::Preferential,
    )
    .unwrap();
    assert_eq!(a.consumption_tax, d("23.33"));
    assert_eq!(a.vat, d("30.33"));
    assert_eq!(a.total(), d("53.66"));
}

#[test]
fn ordinary_goods_and_olive_oil_use_the_published_rates() {
    let a = assess_one(
        &[line(1, "6110200090", "100", "1", "011", "1", "011")],
        Regime::Preferential,
    )
    .unwrap();
    assert_eq!(a.total(), d("9.10"));
    let o = assess_one(
        &[line(1, "1509200000", "100", "1", "122", "0.5", "035")],
        Regime::Preferential,
    )
    .unwrap();
    assert_eq!(o.total(), d("6.30"));
    assert_eq!(o.consumption_tax, Decimal::ZERO);
}

#[test]
fn watches_pay_ct_only_from_the_configurable_threshold() {
    let below = assess_one(
        &[line(1, "9102110000", "9999.99", "1", "008", "1", "008")],
        Regime::FullRate,
    )
    .unwrap();
    assert_eq!(below.consumption_tax, Decimal::ZERO);
    // full rate: tariff 12000 × 8 % = 960; CT = 12960 / 0.8 × 0.2 = 3240; VAT = 16200 × 0.13 = 2106
    let full = assess_one(
        &[line(1, "9102110000", "12000", "1", "008", "1", "008")],
        Regime::FullRate,
    )
    .unwrap();
    assert_eq!(full.customs_tax, d("960.00"));
    assert_eq!(full.consumption_tax, d("3240.00"));
    assert_eq!(full.vat, d("2106.00"));
    assert_eq!(full.total(), d("6306.00"));
    let settings = Settings {
        high_end_watch_threshold: d("20000"),
        ..Settings::default()
    };
    let lines = [line(1, "9102110000", "12000", "1", "008", "1", "008")];
    let input = TaxInput {
        lines: &lines,
        freight: Decimal::ZERO,
        insured_fee: Decimal::ZERO,
        discount: Decimal::ZERO,
        regime: Regime::FullRate,
    };
    assert_eq!(
        assess(&input, &Tariff::builtin(), &settings)
            .unwrap()
            .consumption_tax,
        Decimal::ZERO
    );
}

#[test]
fn freight_and_insurance_are_allocated_exactly_and_discount_only_when_configured() {
    let lines = [
        line(1, "6110200090", "100", "1", "011", "1", "011"),
        line(2, "6110200090", "200", "1", "011", "1", "011"),
    ];
    let input = TaxInput {
        lines: &lines,
        freight: d("7"),
        insured_fee: d("3"),
        discount: d("50"),
        regime: Regime::Preferential,
    };
    let a = assess(&input, &Tariff::builtin(), &Settings::default()).unwrap();
    assert_eq!(a.dutiable_price, d("310"));
    assert_eq!(a.lines[0].dutiable_price, d("103.33"));
    assert_eq!(a.lines[1].dutiable_price, d("206.67"));
    // 103.33 × 0.091 = 9.40303 → 9.40; 206.67 × 0.091 = 18.80697 → 18.81
    assert_eq!(a.vat, d("28.21"));

    let with_discount = Settings {
        discount_reduces_dutiable_price: true,
        ..Settings::default()
    };
    assert_eq!(
        dutiable_price(&lines, d("7"), d("3"), d("50"), &with_discount),
        d("260")
    );
    let no_freight = Settings {
        freight_in_dutiable_price: false,
        ..Settings::default()
    };
    assert_eq!(
        dutiable_price(&lines, d("7"), d("3"), d("50"), &no_freight),
        d("303")
    );
}

#[test]
fn per_inventory_rounding_can_differ_by_a_fen() {
    let lines = [
        line(1, "6110200090", "100.05", "1", "011", "1", "011"),
        line(2, "6110200090", "100.05", "1", "011", "1", "011"),
    ];
    let input = TaxInput {
        lines: &lines,
        freight: Decimal::ZERO,
        insured_fee: Decimal::ZERO,
        discount: Decimal::ZERO,
        regime: Regime::Preferential,
    };
    let per_line = assess(&input, &Tariff::builtin(), &Settings::default()).unwrap();
    assert_eq!(per_line.vat, d("18.20"));
    let per_inv = Settings {
        rounding: Rounding::PerInventoryPerTaxType,
        ..Settings::default()
    };
    assert_eq!(
        assess(&input, &Tariff::builtin(), &per_inv).unwrap().vat,
        d("18.21")
    );
}

#[test]
fn unknown_and_unlisted_codes_are_refused_with_their_line() {
    let ok = line(1, "6110200090", "100", "1", "011", "1", "011");
    let beef = line(2, "0201100000", "100", "1", "035", "1", "035");
    let swords = line(3, "9307009000", "100", "1", "016", "1", "016");
    let unknown = line(4, "0101210010", "100", "1", "001", "1", "001");
    assert_eq!(
        assess_one(&[ok.clone(), beef], Regime::Preferential).unwrap_err(),
        TaxError::NotOnPositiveList {
            gnum: 2,
            hs: "0201100000".into()
        }
    );
    assert_eq!(
        assess_one(&[ok.clone(), swords], Regime::Preferential).unwrap_err(),
        TaxError::NotOnPositiveList {
            gnum: 3,
            hs: "9307009000".into()
        }
    );
    assert_eq!(
        assess_one(&[ok, unknown], Regime::Preferential).unwrap_err(),
        TaxError::UnknownHs {
            gnum: 4,
            hs: "0101210010".into()
        }
    );
    assert_eq!(
        assess_one(&[], Regime::Preferential).unwrap_err(),
        TaxError::NoLines
    );
}

const HS_CHOICES: [&str; 6] = [
    "3304990099",
    "2204210000",
    "1509200000",
    "6110200090",
    "9102110000",
    "1901101000",
];

fn arb_line() -> impl Strategy<Value = TaxLineInput> {
    (
        0usize..HS_CHOICES.len(),
        0i64..2_000_000,
        1i64..1000,
        1i64..100_000,
    )
        .prop_map(|(h, fen, qty, grams)| TaxLineInput {
            gnum: 0,
            hs: HS_CHOICES[h].into(),
            goods_value: from_fen(fen),
            qty: Decimal::from(qty),
            unit: "011".into(),
            qty1: Decimal::new(grams, 3),
            unit1: "035".into(),
        })
}

proptest! {
    #[test]
    fn allocation_sums_exactly_and_is_never_negative(
        weights in prop::collection::vec(0i64..10_000_000, 1..12),
        total in 0i64..100_000_000,
    ) {
        let w: Vec<Decimal> = weights.iter().map(|f| from_fen(*f)).collect();
        let parts = allocate(from_fen(total), &w).unwrap();
        prop_assert_eq!(parts.len(), w.len());
        prop_assert_eq!(parts.iter().copied().sum::<Decimal>(), from_fen(total));
        prop_assert!(parts.iter().all(|p| *p >= Decimal::ZERO && p.scale() <= 2));
    }

    #[test]
    fn tax_is_never_negative_and_lines_sum_to_the_totals(
        mut lines in prop::collection::vec(arb_line(), 1..8),
        freight in 0i64..10_000, insured in 0i64..1_000,
        full in any::<bool>(),
    ) {
        for (i, l) in lines.iter_mut().enumerate() { l.gnum = i as u32 + 1; }
        let input = TaxInput {
            lines: &lines, freight: from_fen(freight), insured_fee: from_fen(insured), discount: Decimal::ZERO,
            regime: if full { Regime::FullRate } else { Regime::Preferential },
        };
        let a = assess(&input, &Tariff::builtin(), &Settings::default()).unwrap();
        prop_assert_eq!(a.lines.iter().map(|l| l.dutiable_price).sum::<Decimal>(), a.dutiable_price);
        prop_assert!(a.customs_tax >= Decimal::ZERO && a.vat >= Decimal::ZERO && a.consumption_tax >= Decimal::ZERO);
        prop_assert_eq!(a.lines.iter().map(|l| l.vat).sum::<Decimal>(), a.vat);
        prop_assert_eq!(a.lines.iter().map(|l| l.consumption_tax).sum::<Decimal>(), a.consumption_tax);
        prop_assert!(a.lines.iter().all(|l| l.vat.scale() <= 2 && l.dutiable_price >= Decimal::ZERO));
        if !full { prop_assert_eq!(a.customs_tax, Decimal::ZERO); }
    }
}

// ---------------------------------------------------------------- limits

#[test]
fn single_limit_boundary_is_inclusive() {
    let s = Settings::default();
    assert_eq!(
        limits::check(d("5000.00"), false, Decimal::ZERO, &s),
        LimitVerdict::Within
    );
    assert_eq!(
        limits::check(d("5000.01"), false, Decimal::ZERO, &s),
        LimitVerdict::OverSingleLimit {
            value: d("5000.01")
        }
    );
}

#[test]
fn annual_limit_boundary_is_inclusive() {
    let s = Settings::default();
    assert_eq!(
        limits::check(d("1000.00"), false, d("25000.00"), &s),
        LimitVerdict::Within
    );
    assert_eq!(
        limits::check(d("1000.01"), false, d("25000.00"), &s),
        LimitVerdict::OverAnnualLimit {
            used: d("25000.00"),
            value: d("1000.01"),
            limit: d("26000")
        }
    );
}

#[test]
fn single_item_exception_is_strictly_below_the_annual_limit() {
    let s = Settings::default();
    assert_eq!(
        limits::check(d("25999.99"), true, Decimal::ZERO, &s),
        LimitVerdict::SingleItemFullRate
    );
    assert_eq!(
        limits::check(d("26000.00"), true, Decimal::ZERO, &s),
        LimitVerdict::OverSingleLimit {
            value: d("26000.00")
        }
    );
    // counts toward the year: with 0.02 used, 25999.99 no longer fits
    assert!(matches!(
        limits::check(d("25999.99"), true, d("0.02"), &s),
        LimitVerdict::OverAnnualLimit { .. }
    ));
    // two items above 5000 are general trade
    assert_eq!(
        limits::check(d("6000"), false, Decimal::ZERO, &s),
        LimitVerdict::OverSingleLimit { value: d("6000") }
    );
    assert!(limits::is_single_item(&[d("1")]));
    assert!(!limits::is_single_item(&[d("2")]));
    assert!(!limits::is_single_item(&[d("1"), d("1")]));
    assert_eq!(
        LimitVerdict::SingleItemFullRate.regime(),
        Some(Regime::FullRate)
    );
    // limits are settings (2016–2018 values)
    let old = Settings {
        single_limit: d("2000"),
        annual_limit: d("20000"),
        ..Settings::default()
    };
    assert!(matches!(
        limits::check(d("2000.01"), false, Decimal::ZERO, &old),
        LimitVerdict::OverSingleLimit { .. }
    ));
}

#[test]
fn the_quota_resets_on_beijing_new_year() {
    let s = Settings::default();
    let buyer: BuyerKey = buyer_key(b"k", "张三", ID);
    let mut ledger = QuotaLedger::default();
    let dec31 = Timestamp(1_767_196_799_000).beijing_date().year; // 2025-12-31 23:59:59 Beijing
    let jan1 = Timestamp(1_767_196_800_000).beijing_date().year; // 2026-01-01 00:00:00 Beijing
    assert_eq!((dec31, jan1), (2025, 2026));
    assert_eq!(ledger.consume(&buyer, dec31, d("26000.00")), d("26000.00"));
    assert!(matches!(
        limits::check(d("0.01"), false, ledger.used(&buyer, dec31), &s),
        LimitVerdict::OverAnnualLimit { .. }
    ));
    assert_eq!(
        limits::check(d("0.01"), false, ledger.used(&buyer, jan1), &s),
        LimitVerdict::Within
    );
    assert_eq!(ledger.remaining(&buyer, jan1, &s), d("26000"));
    // restore never goes below zero, and leaves other years alone
    assert_eq!(ledger.restore(&buyer, dec31, d("30000")), Decimal::ZERO);
    assert_eq!(ledger.consume(&buyer, jan1, d("10")), d("10"));
    assert_eq!(ledger.restore(&buyer, jan1, d("4.5")), d("5.5"));
    assert_eq!(
        ledger.used(&buyer_key(b"k", "李四", ID), jan1),
        Decimal::ZERO
    );
    let json = serde_json::to_string(&ledger).unwrap();
    assert!(!json.contains(ID));
    let back: QuotaLedger = serde_json::from_str(&json).unwrap();
    assert_eq!(back.used(&buyer, jan1), d("5.5"));
}
