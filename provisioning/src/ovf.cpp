#include "ovf.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include <libxml/tree.h>

#include "base64.hpp"
#include "plumb/config/xml.hpp"
#include "plumb/safe_root.hpp"

namespace plumb::provision {

namespace xml = plumb::config::xml;

using xml::child;
using xml::find_descendant;
using xml::named;
using xml::text_of;

namespace {

constexpr std::size_t kMaxOvfSize = 1u << 20;

}  // namespace

Result<Metadata> parse_ovf(std::string_view xml) {
    auto doc = xml::parse(xml, "ovf-env.xml");
    if (!doc) return std::unexpected(doc.error());
    const xmlNode* root = xml::root(*doc);
    const xmlNode* set = named(root, "LinuxProvisioningConfigurationSet") ? root : find_descendant(root, "LinuxProvisioningConfigurationSet");
    if (!set) return fail_invalid("ovf-env.xml has no LinuxProvisioningConfigurationSet");

    Metadata m;
    m.source = "ovf";
    m.admin_username = text_of(child(set, "UserName"));
    m.computer_name = text_of(child(set, "HostName"));
    if (!text_of(child(set, "UserPassword")).empty())
        return fail_invalid("ovf-env.xml sets UserPassword: provisioning with passwords is refused (use SSH keys)");
    if (const xmlNode* d = child(set, "DisableSshPasswordAuthentication")) {
        std::string v = text_of(d);
        if (v == "true") m.disable_password_authentication = true;
        else if (v == "false") m.disable_password_authentication = false;
        else return fail_invalid("ovf-env.xml DisableSshPasswordAuthentication is not true or false");
    }
    if (const xmlNode* keys = child(child(set, "SSH"), "PublicKeys")) {
        for (const xmlNode* k = keys->children; k; k = k->next) {
            if (!named(k, "PublicKey")) continue;
            std::string value = text_of(child(k, "Value"));
            if (value.empty())
                return fail_invalid("ovf-env.xml PublicKey without Value (fingerprint-only keys need the wireserver "
                                    "certificates, which plumb-provision does not fetch)");
            m.public_keys.push_back({value, text_of(child(k, "Path"))});
            if (m.public_keys.size() > 100) return fail_invalid("ovf-env.xml has more than 100 public keys");
        }
    }
    if (std::string custom = text_of(child(set, "CustomData")); !custom.empty()) {
        auto decoded = base64_decode(custom);
        if (!decoded) return fail_invalid("ovf-env.xml CustomData is not valid base64");
        m.user_data = std::move(*decoded);
    }
    return m;
}

namespace {

Result<std::optional<Metadata>> read_from_directory(const std::string& dir) {
    auto media = SafeRoot::open(dir);
    if (!media) {
        if (media.error().code == ENOENT) return std::optional<Metadata>();
        return std::unexpected(media.error());
    }
    auto text = media->read_file("/ovf-env.xml", kMaxOvfSize + 1);
    if (!text) {
        if (text.error().code == ENOENT) return std::optional<Metadata>();
        if (text.error().code == EFBIG) return fail(EFBIG, dir + "/ovf-env.xml is larger than 1 MiB");
        return fail(text.error().code, dir + ": " + text.error().message);
    }
    auto m = parse_ovf(*text);
    if (!m) return std::unexpected(m.error());
    return std::optional<Metadata>(std::move(*m));
}

// A read-only mount of the provisioning media, unmounted and its directory removed when this goes away.
class MediaMount {
public:
    ~MediaMount() {
        if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
        if (!dir_.empty()) ::rmdir(dir_.c_str());
    }
    Result<bool> mount(const std::string& device) {
        ::mkdir("/run/plumb", 0700);
        std::string tmpl = "/run/plumb/ovf-XXXXXX";
        if (!mkdtemp(tmpl.data())) return fail_errno(errno, "creating a mount point under /run/plumb");
        dir_ = tmpl;
        const unsigned long flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
        for (const char* fs : {"iso9660", "udf"}) {
            if (::mount(device.c_str(), dir_.c_str(), fs, flags, nullptr) == 0) {
                mounted_ = true;
                return true;
            }
        }
        return fail_errno(errno, "mounting " + device + " read-only (iso9660, udf)");
    }
    const std::string& dir() const { return dir_; }

private:
    std::string dir_;
    bool mounted_ = false;
};

}  // namespace

Result<std::optional<Metadata>> read_ovf(const ProvisionConfig& config) {
    if (!config.ovf_directory.empty()) return read_from_directory(config.ovf_directory);
    struct stat st {};
    if (config.ovf_device.empty() || ::stat(config.ovf_device.c_str(), &st) != 0 || !S_ISBLK(st.st_mode))
        return std::optional<Metadata>();  // no provisioning media attached
    MediaMount m;
    auto mounted = m.mount(config.ovf_device);
    if (!mounted) return std::unexpected(mounted.error());
    return read_from_directory(m.dir());
}

}  // namespace plumb::provision
