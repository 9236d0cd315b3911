# lit configuration for ktune's FileCheck tests. CTest passes the tool paths
# as --param (see tests/lit/Tests.cmake).
import lit.formats

config.name = "ktune"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)

for name in ("kt_opt", "ktune", "filecheck"):
    value = lit_config.params.get(name)
    if not value:
        lit_config.fatal("missing --param %s=PATH" % name)
    config.substitutions.append(("%" + name, value))
