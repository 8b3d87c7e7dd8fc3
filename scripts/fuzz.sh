#!/usr/bin/env bash
# A bounded fuzz run of every fuzz target (or of those named), with cargo-fuzz and libFuzzer.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET…]     default: 60 seconds, every target
#   scripts/fuzz.sh --build                            only build the targets (a CI smoke check)
#
# cargo-fuzz needs nightly compiler flags (sanitizers, coverage instrumentation); only stable Rust
# is installed here, so the build runs with RUSTC_BOOTSTRAP=1, which lets the stable compiler
# accept them. Seed corpora are made fresh from the official samples (../shared/reference, beside
# the checkout), their DXP-wrapped forms, the built-in CSV data and small examples; what libFuzzer
# learns is kept in fuzz/corpus/TARGET between runs (not committed). A crash leaves its input in
# fuzz/artifacts/TARGET/ and the script exits 1: turn it into a regression test in the crate's own
# tests (see docs/security.md) and fix it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

build_only=0
secs=60
if [ "${1:-}" = "--build" ]; then
  build_only=1
  shift
elif [[ "${1:-}" =~ ^[0-9]+$ ]]; then
  secs=$1
  shift
fi

cd fuzz
echo "fuzz: building the targets (release, address sanitizer)"
cargo fuzz build -O
[ "$build_only" = 1 ] && exit 0

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi

samples="$root/../shared/reference/gacc-ceb-202205/samples/import"
seed() {
  local target=$1 dir="$root/fuzz/corpus/$1"
  mkdir -p "$dir"
  case "$target" in
    ceb_message|dxp_envelope|intake_message)
      if [ -d "$samples" ]; then
        cp "$samples"/*.xml "$dir"/
        if [ "$target" = dxp_envelope ]; then
          for f in "$samples"/CEB311Message.xml "$samples"/CEB621Message.xml "$samples"/CEB312Message.xml; do
            {
              printf '<?xml version="1.0" encoding="UTF-8"?>\n<dxp:DxpMsg xmlns:dxp="http://www.chinaport.gov.cn/dxp" ver="1.0">'
              printf '<dxp:TransInfo><dxp:CopMsgId>1</dxp:CopMsgId><dxp:SenderId>DXPENT0000000001</dxp:SenderId>'
              printf '<dxp:ReceiverIds><dxp:ReceiverId>DXPEDCCEB0000002</dxp:ReceiverId></dxp:ReceiverIds>'
              printf '<dxp:CreatTime>2026-01-01T12:00:00</dxp:CreatTime><dxp:MsgType>CEB311Message</dxp:MsgType></dxp:TransInfo>'
              printf '<dxp:Data>%s</dxp:Data></dxp:DxpMsg>\n' "$(base64 -w0 "$f")"
            } > "$dir/dxp-$(basename "$f")"
          done
        fi
        if [ "$target" = intake_message ]; then
          # The first byte chooses XML (even) or JSON (odd).
          for f in "$samples"/CEB311Message.xml "$samples"/CEB621Message.xml; do
            { printf '0'; cat "$f"; } > "$dir/xml-$(basename "$f")"
          done
          printf '1{"messageType":"CEB411Message","message":{"guid":"4CDE1CFD-EDED-46B1-946C-B8022E42FC94","version":"1.0","Payment":[],"BaseTransfer":{"copCode":"C","copName":"N","dxpMode":"DXP","dxpId":"D"}}}' > "$dir/json-411"
        fi
      else
        echo "fuzz: $samples not found; $target starts from a tiny seed"
        printf '<ceb:CEB311Message xmlns:ceb="http://www.chinaport.gov.cn/ceb" guid="x" version="1.0"/>' > "$dir/tiny.xml"
      fi
      ;;
    registry_csv)
      printf 'code,name,roles,dxp_id,filed_on\n3301960001,"Demo Mall, Ltd.",ebp|ebc,DXPENT0000000001,2026-01-01\n3301980002,Demo Pay,payment,,\n' > "$dir/registry.csv" ;;
    tariff_csv) cp "$root/crates/domain/data/tariff.csv" "$dir/" ;;
    reference_prices_csv) cp "$root/crates/domain/data/reference_prices.csv" "$dir/" ;;
    settings_json)
      printf '{ "single_limit": "5000", "rounding": "per_inventory_per_tax_type" }' > "$dir/settings.json"
      printf '{}' > "$dir/empty.json" ;;
    signature)
      # Messages signed by test keys (SM2 and RSA) with the project's own CLI, and a
      # signed GBK one: the verifier's happy path is where mutations start.
      if [ -d "$samples" ]; then
        local keys="$root/target/fuzz-keys"
        mkdir -p "$keys"
        [ -f "$keys/sm2/key.pem" ] || cargo run -q --manifest-path "$root/Cargo.toml" -p onewindow -- keygen --out "$keys/sm2" >/dev/null
        [ -f "$keys/rsa/key.pem" ] || cargo run -q --manifest-path "$root/Cargo.toml" -p onewindow -- keygen --rsa --out "$keys/rsa" >/dev/null
        for kind in sm2 rsa; do
          cargo run -q --manifest-path "$root/Cargo.toml" -p onewindow -- sign \
            --key "$keys/$kind/key.pem" --cert "$keys/$kind/cert.pem" --out "$dir/$kind" \
            "$samples"/CEB621Message.xml "$samples"/CEB711Message.xml "$samples"/CEB311Message.xml >/dev/null
          for f in "$dir/$kind"/*.xml; do mv "$f" "$dir/$kind-$(basename "$f")"; done
          rmdir "$dir/$kind"
        done
        cp "$samples"/CEB621Message.xml "$dir/official-CEB621Message.xml"
      else
        printf '<a xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:Signature/></a>' > "$dir/tiny.xml"
      fi ;;
    admin_entry)
      printf '\x00code,name,roles,dxp_id\n3301960001,Demo,ebp,\n' > "$dir/filing"
      { printf '\x01'; head -20 "$root/crates/domain/data/tariff.csv"; } > "$dir/tariff"
      printf '\x02{"annual_limit":"26000"}' > "$dir/settings" ;;
  esac
}

failed=()
for t in "${targets[@]}"; do
  seed "$t"
  dict=()
  case "$t" in ceb_message|dxp_envelope|intake_message|signature) dict=(-dict="$root/fuzz/xml.dict") ;; esac
  echo "fuzz: $t for ${secs}s"
  if ! cargo fuzz run -O "$t" "$root/fuzz/corpus/$t" -- \
      -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 "${dict[@]}" 2>&1 | tail -n 25; then
    failed+=("$t")
  fi
  # `tail` hides cargo fuzz's own exit status: a crash is an artifact.
  if compgen -G "$root/fuzz/artifacts/$t/*" >/dev/null; then
    case " ${failed[*]} " in *" $t "*) ;; *) failed+=("$t") ;; esac
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in: ${failed[*]} (inputs under fuzz/artifacts/)"
  exit 1
fi
echo "fuzz: ${#targets[@]} target(s), ${secs}s each, no crash"
