# lit configuration for ktune's FileCheck tests. CTest passes the tool paths
# as --param (see tests/lit/Tests.cmake).
import os

import lit.formats

config.name = "ktune"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
# Outputs (%t files, timing data) go to the build tree, not the sources.
config.test_exec_root = lit_config.params.get("exec_root")
if not config.test_exec_root:
    lit_config.fatal("missing --param exec_root=DIR")

for name in ("kt_opt", "ktune", "filecheck"):
    value = lit_config.params.get(name)
    if not value:
        lit_config.fatal("missing --param %s=PATH" % name)
    config.substitutions.append(("%" + name, value))
