// Package names as OSV databases key them, so the database (when it indexes records) and the matcher
// (when it looks a package up) normalise the same way, in one place.

/**
 * A PyPI project name as PEP 503 normalises it (https://peps.python.org/pep-0503/#normalized-names):
 * lower-case, every run of `-`, `_` and `.` replaced by one `-`. OSV's PyPI records and osv-scalibr use it.
 */
export function normalizePypiName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

/** The name under which a package of `ecosystem` is looked up: PyPI normalised, every other as it is. */
export function osvPackageName(ecosystem: string, name: string): string {
  return ecosystem === 'PyPI' ? normalizePypiName(name) : name;
}

/**
 * The version OSV writes for a package's recorded version: Go module versions without their `v`
 * (`v1.2.3` → `1.2.3`) and the Go toolchain's `go1.22.1` → `1.22.1`, as OSV's Go records and osv-scalibr
 * write them (SEMVER has no `v`, and `versions` lists are compared as strings); every other as it is.
 */
export function osvVersion(ecosystem: string, version: string): string {
  return ecosystem === 'Go' ? version.replace(/^(?:v|go)(?=\d)/, '') : version;
}
