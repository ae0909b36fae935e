#!/usr/bin/env bash
# Regenerates Sources/AtriumProto from proto/ with protoc and the plugins of swift-protobuf and
# grpc-swift-protobuf (built from this package's pinned dependencies), then records the hash of
# proto/ in proto/.generated.sha256 so CI can tell when the generated code is stale.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v protoc >/dev/null 2>&1; then
  echo "protoc not found: installing Debian's protobuf-compiler" >&2
  apt-get update -qq && apt-get install -y -qq protobuf-compiler >/dev/null
fi

swift build --product protoc-gen-swift >/dev/null
swift build --product protoc-gen-grpc-swift-2 >/dev/null
bin=$(swift build --show-bin-path)

out=Sources/AtriumProto
rm -f "$out"/*.pb.swift "$out"/*.grpc.swift
protos=$(cd proto && find . -name '*.proto' | sed 's|^\./||' | sort)
(cd proto && protoc \
  --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
  --plugin=protoc-gen-grpc-swift-2="$bin/protoc-gen-grpc-swift-2" \
  --swift_out=../"$out" --swift_opt=Visibility=Public,FileNaming=PathToUnderscores \
  --grpc-swift-2_out=../"$out" \
  --grpc-swift-2_opt=Visibility=Public,Server=true,Client=true,FileNaming=PathToUnderscores \
  $protos)

deploy/proto-hash.sh > proto/.generated.sha256
echo "generated $(ls "$out" | wc -l) files into $out"
