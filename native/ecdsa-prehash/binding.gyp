# The ECDSA-over-a-digest checker: one C file against Node's N-API and the OpenSSL inside Node (its
# headers ship with Node; its symbols are the node binary's own). Built by scripts/setup.
{
  "targets": [
    {
      "target_name": "ecdsa_prehash",
      "sources": ["ecdsa_prehash.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-Wall", "-Wextra"],
      # Resolve every OpenSSL symbol when the module loads, not at its first call: on a Node that does
      # not export them, require() fails (and airlock falls back to JavaScript) instead of the process
      # dying with "symbol lookup error" mid-request.
      "ldflags": ["-Wl,-z,now"]
    }
  ]
}
