use crate::{CODES, sample};
use ceb::message::{BaseTransfer, Ceb312Message, Ceb411Message, OrderReturn, Payment, PaymentHead};
use ceb::{Limits, Message, parse};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse(&bytes, &Limits::default());
    }

    #[test]
    fn mutated_samples_never_panic(idx in 0usize..16, pos in any::<prop::sample::Index>(), len in 0usize..40, junk in proptest::collection::vec(any::<u8>(), 0..16)) {
        let mut bytes = sample(CODES[idx]).into_bytes();
        let at = pos.index(bytes.len());
        let end = (at + len).min(bytes.len());
        bytes.splice(at..end, junk);
        let _ = parse(&bytes, &Limits::default());
    }

    #[test]
    fn receipts_round_trip(guid in "[A-Z0-9-]{36}", texts in proptest::collection::vec("[^\u{0}-\u{8}\u{b}\u{c}\u{e}-\u{1f}\u{fffe}\u{ffff}]{1,40}", 7), n in 1usize..4) {
        let r = OrderReturn {
            guid: guid.clone(), ebp_code: texts[0].clone(), ebc_code: texts[1].clone(),
            order_no: texts[2].clone(), return_status: texts[3].clone(),
            return_time: texts[4].clone(), return_info: texts[5].clone(),
        };
        let m = Ceb312Message { guid, version: texts[6].clone(), order_return: vec![r; n] };
        let back = parse(m.to_xml().as_bytes(), &Limits::default()).unwrap().message;
        prop_assert_eq!(back, Message::Ceb312(m));
    }

    #[test]
    fn declarations_round_trip(guid in "[A-Z0-9-]{36}", order_no in "[a-zA-Z0-9]{1,60}", name in "\\PC{1,60}", amount in "[0-9]{1,14}(\\.[0-9]{1,5})?", tel in proptest::option::of("[0-9]{1,60}")) {
        let head = PaymentHead {
            guid: guid.clone(), app_type: "1".into(), app_time: "20260101120000".into(), app_status: "2".into(),
            pay_code: "PAY001".into(), pay_name: "支付公司".into(), pay_transaction_id: "T1".into(),
            order_no, ebp_code: "EBP".into(), ebp_name: "平台".into(), payer_id_type: "1".into(),
            payer_id_number: "110101199001011234".into(), payer_name: name, telephone: tel,
            amount_paid: amount, currency: "142".into(), pay_time: "20260101120000".into(), note: None,
        };
        let m = Ceb411Message {
            guid, version: "1.0".into(), payment: vec![Payment { payment_head: head }],
            base_transfer: BaseTransfer { cop_code: "C".into(), cop_name: "N".into(), dxp_mode: "DXP".into(), dxp_id: "D".into(), note: None },
            base_subscribe: vec![], extend_message: None, signature: None,
        };
        let parsed = parse(m.to_xml().as_bytes(), &Limits::default());
        let back = parsed.map_err(|r| format!("{r} {:?}", r.issues)).unwrap().message;
        prop_assert_eq!(back, Message::Ceb411(m));
    }
}
