// The core module's procedure table. The procedures live in files.cpp, config_option.cpp, units.cpp, cmdline.cpp,
// sysctl.cpp and packages.cpp.
#include "core.hpp"

namespace {

using plumb::core::Core;

const plumb::sdk::Procedure<Core> procedures[] = {
    {"file_exists", "a path exists (optionally as a regular file, directory or symbolic link)",
     plumb::core::kFileExistsSchema, 0, &Core::file_exists},
    {"file_absent", "a path does not exist (optionally: no entry of a given type)", plumb::core::kFileAbsentSchema, 0,
     &Core::file_absent},
    {"file_permissions", "a file's mode, owner and group", plumb::core::kFilePermissionsSchema, 0,
     &Core::file_permissions},
    {"file_regex", "lines of a file match (or do not match) a regular expression", plumb::core::kFileRegexSchema, 0,
     &Core::file_regex},
    {"config_option", "a key of a key=value or \"Key Value\" configuration file has an expected value",
     plumb::core::kConfigOptionSchema, 0, &Core::config_option},
    {"unit_state", "a systemd unit is enabled, disabled, masked or not masked", plumb::core::kUnitStateSchema, 0,
     &Core::unit_state},
    {"kernel_cmdline", "a kernel command line argument is present or absent in the boot configuration",
     plumb::core::kKernelCmdlineSchema, 0, &Core::kernel_cmdline, &Core::remediate_kernel_cmdline},
    {"sysctl", "a kernel parameter as configured in sysctl.d and as running", plumb::core::kSysctlSchema, 0,
     &Core::sysctl},
    {"package_installed", "a package is installed or absent (dpkg or rpm)", plumb::core::kPackageInstalledSchema, 0,
     &Core::package_installed},
    {"mount_option", "a mount point is a separate file system with (or without) a mount option (fstab, mountinfo)",
     plumb::core::kMountOptionSchema, 0, &Core::mount_option},
};

}  // namespace

PLUMB_MODULE(core, "1.0.0", "generic checks: files, configuration options, systemd units, kernel command line, sysctl, packages",
             Core, procedures)
