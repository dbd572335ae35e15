"""The release's own code: a file the SBOM lists and the diff compares."""

import packaging.version

print(packaging.version.Version("1.0"))
