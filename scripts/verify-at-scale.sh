#!/bin/sh
# Measures the rendered cluster/verify.sh on a generated N-node, 8-site spec (default 5,000)
# against a stub kubectl that serves the node list the spec predicts and answers every other
# call at once. Prints the kubectl calls made, the checks run and the wall time.
# Usage: sh scripts/verify-at-scale.sh [NODES]   (from the repository root)
set -eu
nodes=${1:-5000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
awk -v n="$nodes" 'BEGIN {
  print "version: 1\nname: big\nnetwork: {cluster_cidr: 10.64.0.0/10, service_cidr: 10.43.0.0/16}"
  print "k3s: {version: v1.33.13+k3s1}\nsites:"
  for (s = 0; s < 8; s++) printf "  - {name: s%d, subnets: [172.%d.0.0/16]}\n", s, 16 + s
  print "nodes:"
  for (i = 0; i < n; i++) {
    s = i % 8; k = int(i / 8)
    printf "  - {name: n%d, role: %s, site: s%d, lan_ip: 172.%d.%d.%d, mesh_ip: 100.%d.%d.%d}\n", i, (i == 0 ? "server" : "agent"), s, 16 + s, int(k / 250), k % 250 + 1, 64 + int(i / 60000), int(i / 250) % 240, i % 250 + 1
  }
}' > "$work/spec.yaml"
cargo run -q --release -p meshspec-cli -- render "$work/spec.yaml" --out "$work/out" >/dev/null 2>&1
mkdir "$work/bin"
cat > "$work/bin/kubectl" <<'EOF'
#!/bin/sh
echo x >> "$STUB_COUNT"
case "$*" in
  "get nodes -o jsonpath="*) cat "$STUB_NODES" ;;
  *"get pod "*) echo 10.64.0.5 ;;
  *" exec "*"ip -o link show "*) echo "5: flannel.1: <UP> mtu 1230 qdisc noqueue" ;;
  *" exec "*"nslookup"*) printf 'Name:\tkubernetes.default\nAddress: 10.43.0.1\n' ;;
  *" exec "*"-s 1203 "*) exit 1 ;;
  *) : ;;
esac
EOF
chmod +x "$work/bin/kubectl"
# the live node list a healthy cluster returns is the embedded expected table itself
awk '/^cat > "\$expected" <</ { f = 1; next } /^MESHSPEC_NODES$/ { f = 0 } f' "$work/out/cluster/verify.sh" > "$work/live.tsv"
: > "$work/count"
start=$(date +%s.%N)
STUB_COUNT="$work/count" STUB_NODES="$work/live.tsv" PATH="$work/bin:$PATH" sh "$work/out/cluster/verify.sh" > "$work/verify.out" || true
end=$(date +%s.%N)
echo "nodes: $nodes"
echo "verify.sh: $(wc -c < "$work/out/cluster/verify.sh") bytes"
echo "kubectl calls: $(wc -l < "$work/count")"
echo "result: $(tail -n 1 "$work/verify.out")"
echo "wall time: $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }') s on $(nproc) cores"
