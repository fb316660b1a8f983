// The live nftables ruleset over NETLINK_NETFILTER. Reading is a handful of dumps on one socket (tables, chains, sets,
// the elements of each set, then every rule of every table in one NFT_MSG_GETRULE dump); libnftnl parses tables,
// chains and sets, while rules, the bulk of a large ruleset, are decoded straight from their netlink attributes into
// the model. Committing encodes changes into expressions with libnftnl and sends them as one
// NFNL_MSG_BATCH_BEGIN..END datagram through libmnl.
#include "netlink.hpp"

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <endian.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace plumb::firewall::nft {
namespace {

// ---- RAII for libnftnl objects

template <auto Free>
struct Deleter {
    template <class T>
    void operator()(T* p) const noexcept {
        Free(p);
    }
};
using TablePtr = std::unique_ptr<nftnl_table, Deleter<&nftnl_table_free>>;
using ChainPtr = std::unique_ptr<nftnl_chain, Deleter<&nftnl_chain_free>>;
using SetPtr = std::unique_ptr<nftnl_set, Deleter<&nftnl_set_free>>;
using RulePtr = std::unique_ptr<nftnl_rule, Deleter<&nftnl_rule_free>>;
using ElemIterPtr = std::unique_ptr<nftnl_set_elems_iter, Deleter<&nftnl_set_elems_iter_destroy>>;
using UdataPtr = std::unique_ptr<nftnl_udata_buf, Deleter<&nftnl_udata_buf_free>>;

template <class T>
T* checked(T* p) {
    if (!p) throw std::bad_alloc();
    return p;
}

constexpr uint16_t nft_type(uint16_t msg) { return static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | msg); }

// Dumps come in skbs of up to 32 KiB (the kernel sizes them after the largest buffer recvmsg was given); acks and
// echoes are smaller. 64 KiB leaves room for either without MSG_TRUNC.
constexpr size_t kReceiveBuffer = 64 * 1024;
constexpr int kReplyTimeoutMs = 10000;
constexpr size_t kRequestBuffer = 8192;  // dump and get requests: headers and two names

// ---- the socket

// One request's replies as they arrive: ends at NLMSG_DONE (dumps), the ack, or an error.
struct Exchange {
    Exchange(const nlmsghdr* req, std::string_view what_)
        : seq(req->nlmsg_seq), dump((req->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP), what(what_) {}

    // Feeds one reply message (others' are ignored); payload messages go to on_msg until the first error.
    template <class F>
    void feed(const nlmsghdr* nlh, uint32_t portid, F& on_msg) {
        if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portid) return;  // a late answer to an earlier request
        if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
        if (nlh->nlmsg_type == NLMSG_DONE) {
            int err = 0;
            if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) std::memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof err);
            if (err < 0 && !error) error = Error::from_errno(-err, what);
            if (interrupted && !error) error = Error{EINTR, what + ": the ruleset changed during the dump"};
            finished = true;
            return;
        }
        if (nlh->nlmsg_type == NLMSG_ERROR) {
            if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nlmsgerr)) {
                if (!error) error = Error{EPROTO, what + ": truncated netlink error"};
                finished = true;
                return;
            }
            const int err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh))->error;
            if (err == 0 && dump) return;
            if (err != 0 && !error) error = Error::from_errno(-err, what);
            finished = true;
            return;
        }
        if (!error)
            if (auto r = on_msg(nlh); !r) error = r.error();
    }

    uint32_t seq;
    bool dump;
    std::string what;
    bool interrupted = false;
    bool finished = false;
    std::optional<Error> error;
};

// Whether a datagram holds the end of the exchange with sequence number `seq`.
bool ends_exchange(std::span<const char> d, uint32_t seq, uint32_t portid) {
    int len = static_cast<int>(d.size());
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(d.data()); mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
        if (nlh->nlmsg_seq == seq && nlh->nlmsg_pid == portid && (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR)) return true;
    return false;
}

// Datagrams from the receiving thread of Socket::pipelined() to the decoding one, at most kDepth waiting (1 MiB).
class DatagramQueue {
public:
    struct Datagram {
        size_t index;  // of the request it answers
        std::unique_ptr<char[]> buf;
        size_t len;
    };

    std::unique_ptr<char[]> buffer() {
        std::lock_guard l(m_);
        if (spare_.empty()) return std::make_unique<char[]>(kReceiveBuffer);
        auto b = std::move(spare_.back());
        spare_.pop_back();
        return b;
    }
    void recycle(std::unique_ptr<char[]> b) {
        std::lock_guard l(m_);
        spare_.push_back(std::move(b));
    }
    // Receiver: waits while the queue is full; drops the datagram once the decoder gave up.
    void push(Datagram d) {
        std::unique_lock l(m_);
        not_full_.wait(l, [&] { return q_.size() < kDepth || cancelled_; });
        if (cancelled_) {
            spare_.push_back(std::move(d.buf));
            return;
        }
        // The kernel fills datagrams more slowly than they are decoded, so the decoder mostly waits; waking it costs
        // two context switches, so wake it once a few datagrams are waiting (close() wakes it for the rest).
        q_.push_back(std::move(d));
        if (q_.size() >= kWakeAt) not_empty_.notify_one();
    }
    // Receiver: no more datagrams; `err` when receiving failed.
    void close(std::optional<Error> err) {
        std::lock_guard l(m_);
        closed_ = true;
        if (err && !error_) error_ = std::move(err);
        not_empty_.notify_all();
    }
    // Decoder: the next datagram, or nothing once the receiver closed and all were taken.
    std::optional<Datagram> pop() {
        std::unique_lock l(m_);
        not_empty_.wait(l, [&] { return !q_.empty() || closed_; });
        if (q_.empty()) return std::nullopt;
        Datagram d = std::move(q_.front());
        q_.pop_front();
        not_full_.notify_one();
        return d;
    }
    void cancel() {
        std::lock_guard l(m_);
        cancelled_ = true;
        for (auto& d : q_) spare_.push_back(std::move(d.buf));
        q_.clear();
        not_full_.notify_all();
    }
    bool cancelled() {
        std::lock_guard l(m_);
        return cancelled_;
    }
    std::optional<Error> error() {
        std::lock_guard l(m_);
        return error_;
    }

private:
    static constexpr size_t kDepth = 16;
    static constexpr size_t kWakeAt = 4;
    std::mutex m_;
    std::condition_variable not_empty_, not_full_;
    std::deque<Datagram> q_;
    std::vector<std::unique_ptr<char[]>> spare_;
    bool closed_ = false;
    bool cancelled_ = false;
    std::optional<Error> error_;
};

class Socket {
public:
    static Result<Socket> open() {
        mnl_socket* nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
        if (!nl) return fail_errno(errno, "netlink socket (NETLINK_NETFILTER)");
        if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
            int err = errno;
            mnl_socket_close(nl);
            return fail_errno(err, "netlink socket: bind");
        }
        int on = 1;
        // Errors come back with the request's header only, plus the kernel's extended message when it has one.
        mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &on, sizeof on);
        mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &on, sizeof on);
        // The kernel answers within the system call that asked; the timeout only guards against a lost answer.
        timeval tv{kReplyTimeoutMs / 1000, 0};
        setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        return Socket(nl);
    }
    Socket(Socket&& o) noexcept : nl_(std::exchange(o.nl_, nullptr)), portid_(o.portid_), seq_(o.seq_), rx_(std::move(o.rx_)) {}
    Socket& operator=(Socket&&) = delete;
    ~Socket() {
        if (nl_) mnl_socket_close(nl_);
    }

    uint32_t next_seq() { return seq_++; }
    uint32_t portid() const { return portid_; }

    // Large batches need the whole datagram to fit the send buffer and every ack/echo to fit the receive buffer
    // (the kernel queues them all before sendmsg returns). FORCE needs CAP_NET_ADMIN in the initial namespace.
    void size_buffers(size_t sndbuf, size_t rcvbuf) {
        int fd = mnl_socket_get_fd(nl_);
        for (auto [opt, force, want] : {std::tuple{SO_SNDBUF, SO_SNDBUFFORCE, sndbuf}, std::tuple{SO_RCVBUF, SO_RCVBUFFORCE, rcvbuf}}) {
            int v = static_cast<int>(std::min<size_t>(want, 1u << 30));
            if (setsockopt(fd, SOL_SOCKET, force, &v, sizeof v) != 0) setsockopt(fd, SOL_SOCKET, opt, &v, sizeof v);
        }
    }

    Result<void> send(const void* buf, size_t len, std::string_view what) {
        if (mnl_socket_sendto(nl_, buf, len) < 0) return fail_errno(errno, "netlink send (" + std::string(what) + ")");
        return {};
    }

    // One datagram from the kernel into `buf` (kReceiveBuffer bytes): waits up to the socket's receive timeout, or
    // not at all with `wait` false. Empty span: nothing arrived. (No poll() first: on a dump that would double the
    // system calls.)
    Result<std::span<const char>> receive_into(char* buf, bool wait, std::string_view what) {
        for (;;) {
            sockaddr_nl from{};
            iovec iov{buf, kReceiveBuffer};
            msghdr msg{};
            msg.msg_name = &from;
            msg.msg_namelen = sizeof from;
            msg.msg_iov = &iov;
            msg.msg_iovlen = 1;
            ssize_t n = ::recvmsg(mnl_socket_get_fd(nl_), &msg, wait ? 0 : MSG_DONTWAIT);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return std::span<const char>{};
            if (n < 0) return fail_errno(errno, "netlink receive (" + std::string(what) + ")");
            if (msg.msg_flags & MSG_TRUNC) return fail(ENOSPC, "netlink receive (" + std::string(what) + "): datagram larger than the buffer");
            if (from.nl_pid != 0) continue;  // only the kernel talks to us
            return std::span<const char>(buf, static_cast<size_t>(n));
        }
    }
    Result<std::span<const char>> receive(bool wait, std::string_view what) { return receive_into(rx_.get(), wait, what); }

    // Sends one request and hands each reply message to on_msg until NLMSG_DONE (dumps) or the ack (requests with
    // NLM_F_ACK). on_msg returns Result<void>; its first error ends the exchange once the kernel is done answering.
    template <class F>
    Result<void> talk(const nlmsghdr* req, std::string_view what, F&& on_msg) {
        Exchange x(req, what);
        if (auto s = send(req, req->nlmsg_len, what); !s) return s;
        while (!x.finished) {
            auto got = receive(true, what);
            if (!got) return std::unexpected(got.error());
            if (got->empty()) return fail(ETIMEDOUT, "netlink: no answer from the kernel to " + std::string(what));
            int len = static_cast<int>(got->size());
            for (auto* nlh = reinterpret_cast<const nlmsghdr*>(got->data()); mnl_nlmsg_ok(nlh, len) && !x.finished; nlh = mnl_nlmsg_next(nlh, &len))
                x.feed(nlh, portid_, on_msg);
        }
        if (x.error) return std::unexpected(*x.error);
        return {};
    }

    // Runs dump requests one after the other and hands every reply to on_msg(request index, message). The kernel
    // fills a dump's next datagram inside recvmsg, so a thread of its own receives while this one decodes: the
    // kernel's serializing and plumb's decoding overlap instead of adding up.
    template <class F>
    Result<void> pipelined(const std::vector<std::vector<char>>& requests, std::string_view what, F&& on_msg) {
        std::vector<Exchange> xs;
        xs.reserve(requests.size());
        for (const auto& r : requests) xs.emplace_back(reinterpret_cast<const nlmsghdr*>(r.data()), what);
        DatagramQueue q;
        std::thread rx;
        try {
            rx = std::thread([&] { receive_all(requests, what, q); });
        } catch (const std::system_error&) {  // no thread to be had (RLIMIT_NPROC...): one dump after the other
            for (size_t i = 0; i < requests.size(); ++i) {
                auto r = talk(reinterpret_cast<const nlmsghdr*>(requests[i].data()), what, [&](const nlmsghdr* m) { return on_msg(i, m); });
                if (!r) return r;
            }
            return {};
        }
        struct Join {  // the receiver must be gone before q and xs are, however this function is left
            DatagramQueue& q;
            std::thread& t;
            ~Join() {
                q.cancel();
                t.join();
            }
        } join{q, rx};
        std::optional<Error> failure;
        while (auto d = q.pop()) {
            Exchange& x = xs[d->index];
            auto deliver = [&](const nlmsghdr* m) { return on_msg(d->index, m); };
            int len = static_cast<int>(d->len);
            for (auto* nlh = reinterpret_cast<const nlmsghdr*>(d->buf.get()); mnl_nlmsg_ok(nlh, len) && !x.finished; nlh = mnl_nlmsg_next(nlh, &len))
                x.feed(nlh, portid_, deliver);
            if (x.finished && x.error && !failure) {
                failure = x.error;
                q.cancel();  // the receiver finishes the dump in progress and starts no other
            }
            q.recycle(std::move(d->buf));
        }
        if (auto e = q.error()) return std::unexpected(*e);
        if (failure) return std::unexpected(*failure);
        return {};
    }

private:
    // The receiving side of pipelined(): a dump at a time, each to its NLMSG_DONE (or error), so that the socket is
    // ready for the next request even when the decoding side gave up.
    void receive_all(const std::vector<std::vector<char>>& requests, std::string_view what, DatagramQueue& q) noexcept {
        try {
            for (size_t i = 0; i < requests.size() && !q.cancelled(); ++i) {
                auto* req = reinterpret_cast<const nlmsghdr*>(requests[i].data());
                if (auto s = send(req, req->nlmsg_len, what); !s) return q.close(s.error());
                for (bool last = false; !last;) {
                    auto buf = q.buffer();
                    auto got = receive_into(buf.get(), true, what);
                    if (!got) return q.close(got.error());
                    if (got->empty()) return q.close(Error{ETIMEDOUT, "netlink: no answer from the kernel to " + std::string(what)});
                    last = ends_exchange(*got, req->nlmsg_seq, portid_);
                    q.push({i, std::move(buf), got->size()});
                }
            }
            q.close(std::nullopt);
        } catch (const std::exception& e) {
            q.close(Error{ENOMEM, "netlink receive (" + std::string(what) + "): " + e.what()});
        }
    }

    explicit Socket(mnl_socket* nl)
        : nl_(nl), portid_(mnl_socket_get_portid(nl)), seq_(static_cast<uint32_t>(::time(nullptr))), rx_(std::make_unique<char[]>(kReceiveBuffer)) {}

    mnl_socket* nl_;
    uint32_t portid_;
    uint32_t seq_;
    std::unique_ptr<char[]> rx_;
};

// ---- names and numbers

bool known_family(uint32_t f) {
    switch (f) {
        case NFPROTO_INET: case NFPROTO_IPV4: case NFPROTO_ARP: case NFPROTO_NETDEV: case NFPROTO_BRIDGE: case NFPROTO_IPV6: return true;
        default: return false;
    }
}

std::string_view hook_name(Family f, uint32_t hooknum) {
    if (f == Family::netdev) {
        static constexpr std::array<std::string_view, 2> names{"ingress", "egress"};
        return hooknum < names.size() ? names[hooknum] : "";
    }
    if (f == Family::arp) {
        static constexpr std::array<std::string_view, 3> names{"input", "output", "forward"};
        return hooknum < names.size() ? names[hooknum] : "";
    }
    static constexpr std::array<std::string_view, 6> names{"prerouting", "input", "forward", "output", "postrouting", "ingress"};
    return hooknum < names.size() ? names[hooknum] : "";
}

std::optional<uint32_t> hook_number(Family f, std::string_view name) {
    for (uint32_t i = 0; i < 6; ++i)
        if (!name.empty() && hook_name(f, i) == name) return i;
    return std::nullopt;
}

// nft's datatype numbers (include/datatype.h); NFTNL_SET_KEY_TYPE holds one, or a concatenation in 6-bit groups.
constexpr std::array<std::string_view, 47> kDatatypes{
    "invalid", "verdict", "nf_proto", "bitmask", "integer", "string", "ll_addr", "ipv4_addr", "ipv6_addr", "ether_addr",
    "ether_type", "arp_op", "inet_proto", "inet_service", "icmp_type", "tcp_flag", "dccp_pkttype", "mh_type", "time",
    "mark", "iface_index", "iface_type", "realm", "classid", "uid", "gid", "ct_state", "ct_dir", "ct_status",
    "icmpv6_type", "ct_label", "pkt_type", "icmp_code", "icmpv6_code", "icmpx_code", "devgroup", "dscp", "ecn",
    "fib_addrtype", "boolean", "ct_event", "ifname", "igmp_type", "time", "hour", "day", "cgroupsv2"};
enum : uint32_t { kTypeInteger = 4, kTypeIpv4 = 7, kTypeIpv6 = 8, kTypeL4proto = 12, kTypePort = 13, kTypeIcmp = 14, kTypeMark = 19,
                  kTypeIfindex = 20, kTypeCtState = 26, kTypeIcmpv6 = 29, kTypeIfname = 41, kTypeNfproto = 2 };

std::string datatype_name(uint32_t id) {
    if (id < kDatatypes.size()) return std::string(kDatatypes[id]);
    std::vector<uint32_t> parts;
    for (uint32_t v = id; v; v >>= 6) parts.push_back(v & 63);
    std::string out;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (!out.empty()) out += " . ";
        out += *it < kDatatypes.size() ? std::string(kDatatypes[*it]) : std::to_string(*it);
    }
    return out;
}

uint32_t datatype_of(Type t) {
    switch (t) {
        case Type::integer: return kTypeInteger;
        case Type::ifname: return kTypeIfname;
        case Type::ifindex: return kTypeIfindex;
        case Type::nfproto: return kTypeNfproto;
        case Type::l4proto: return kTypeL4proto;
        case Type::ipv4: return kTypeIpv4;
        case Type::ipv6: return kTypeIpv6;
        case Type::port: return kTypePort;
        case Type::ct_state: return kTypeCtState;
        case Type::icmp_type: return kTypeIcmp;
        case Type::icmpv6_type: return kTypeIcmpv6;
        case Type::mark: return kTypeMark;
    }
    return kTypeInteger;
}

// Datatypes nft keeps in host byte order (their interval sets hold big-endian keys, see swap below).
bool host_order_datatype(uint32_t id) {
    switch (id) {
        case 19: case 20: case 22: case 23: case 24: case 25: case 26: case 28: case 35: case 40: return true;
        default: return false;
    }
}

// Register width of a meta / ct load (the expression does not carry it; the kernel derives it from the key).
uint32_t meta_len(uint32_t key) {
    switch (key) {
        case NFT_META_IIFNAME: case NFT_META_OIFNAME: case NFT_META_BRI_IIFNAME: case NFT_META_BRI_OIFNAME:
        case NFT_META_IIFKIND: case NFT_META_OIFKIND: case NFT_META_SDIFNAME: return 16;
        case NFT_META_PROTOCOL: case NFT_META_IIFTYPE: case NFT_META_OIFTYPE: case NFT_META_BRI_IIFPVID: case NFT_META_BRI_IIFVPROTO: return 2;
        case NFT_META_NFTRACE: case NFT_META_NFPROTO: case NFT_META_L4PROTO: case NFT_META_PKTTYPE: case NFT_META_SECPATH:
        case NFT_META_TIME_DAY: return 1;
        case NFT_META_TIME_NS: return 8;
        case NFT_META_LEN: case NFT_META_PRIORITY: case NFT_META_MARK: case NFT_META_IIF: case NFT_META_OIF: case NFT_META_SKUID:
        case NFT_META_SKGID: case NFT_META_RTCLASSID: case NFT_META_SECMARK: case NFT_META_CPU: case NFT_META_IIFGROUP:
        case NFT_META_OIFGROUP: case NFT_META_CGROUP: case NFT_META_PRANDOM: case NFT_META_TIME_HOUR: case NFT_META_SDIF: return 4;
        default: return 0;
    }
}

uint32_t ct_len(uint32_t key, Family family) {
    switch (key) {
        case NFT_CT_DIRECTION: case NFT_CT_L3PROTOCOL: case NFT_CT_PROTOCOL: return 1;
        case NFT_CT_PROTO_SRC: case NFT_CT_PROTO_DST: case NFT_CT_ZONE: return 2;
        case NFT_CT_STATE: case NFT_CT_STATUS: case NFT_CT_MARK: case NFT_CT_SECMARK: case NFT_CT_EXPIRATION: case NFT_CT_EVENTMASK:
        case NFT_CT_SRC_IP: case NFT_CT_DST_IP: case NFT_CT_ID: return 4;
        case NFT_CT_PKTS: case NFT_CT_BYTES: case NFT_CT_AVGPKT: return 8;
        case NFT_CT_HELPER: case NFT_CT_LABELS: case NFT_CT_SRC_IP6: case NFT_CT_DST_IP6: return 16;
        case NFT_CT_SRC: case NFT_CT_DST: return family == Family::ip ? 4 : 16;
        default: return 0;
    }
}

// Limit units: seconds per unit, as nft names them.
constexpr std::array<std::pair<std::string_view, uint64_t>, 5> kUnits{
    {{"second", 1}, {"minute", 60}, {"hour", 3600}, {"day", 86400}, {"week", 604800}}};
std::string unit_name(uint64_t seconds) {
    for (const auto& [name, s] : kUnits)
        if (s == seconds) return std::string(name);
    return std::to_string(seconds);
}
std::optional<uint64_t> unit_seconds(std::string_view name) {
    for (const auto& [n, s] : kUnits)
        if (n == name) return s;
    return std::nullopt;
}

// Multi-byte meta/ct integers the kernel keeps in host order: nft converts them to big endian (byteorder expression)
// before an ordered comparison or an interval-set lookup, since the kernel compares registers with memcmp.
bool host_order(const Selector& s) {
    if (s.len != 2 && s.len != 4 && s.len != 8) return false;
    if (s.kind == SelectorKind::meta) {
        switch (s.key) {
            case NFT_META_PROTOCOL: case NFT_META_BRI_IIFVPROTO: case NFT_META_IIFNAME: case NFT_META_OIFNAME:
            case NFT_META_BRI_IIFNAME: case NFT_META_BRI_OIFNAME: case NFT_META_IIFKIND: case NFT_META_OIFKIND: case NFT_META_SDIFNAME:
                return false;
            default: return true;
        }
    }
    if (s.kind == SelectorKind::ct) {
        switch (s.key) {
            case NFT_CT_STATE: case NFT_CT_STATUS: case NFT_CT_MARK: case NFT_CT_SECMARK: case NFT_CT_EXPIRATION: case NFT_CT_PKTS:
            case NFT_CT_BYTES: case NFT_CT_AVGPKT: case NFT_CT_ZONE: case NFT_CT_EVENTMASK: return true;
            default: return false;
        }
    }
    return false;
}

// Interface-name loads: nft compares only the given prefix of the 16 bytes (iifname "eth*").
bool string_meta(const Selector& s) {
    return s.kind == SelectorKind::meta && meta_len(s.key) == 16;
}

// Reverses each `size`-byte chunk: what byteorder hton does to a host-order value on this (little-endian) machine.
void swap_chunks(Bytes& b, uint32_t size) {
    if (size < 2 || std::endian::native == std::endian::big) return;
    for (size_t i = 0; i + size <= b.size(); i += size) std::reverse(b.data() + i, b.data() + i + size);
}

// Big-endian increment / decrement of a set key (interval ends are exclusive in the kernel). False on overflow.
bool increment(Bytes& b) {
    for (size_t i = b.size(); i-- > 0;)
        if (++b[i] != 0) return true;
    return false;
}
bool decrement(Bytes& b) {
    for (size_t i = b.size(); i-- > 0;)
        if (b[i]-- != 0) return true;
    return false;
}
bool all_bytes(const Bytes& b, uint8_t v) {
    return std::all_of(b.begin(), b.end(), [v](uint8_t x) { return x == v; });
}

// Keys compare as the kernel's interval sets compare them: memcmp, then length.
int key_compare(const Bytes& a, const Bytes& b) {
    const size_t n = std::min(a.size(), b.size());
    const int c = n ? std::memcmp(a.data(), b.data(), n) : 0;
    return c ? c : (a.size() < b.size() ? -1 : a.size() > b.size() ? 1 : 0);
}

Bytes bytes_of(const void* p, uint32_t len) {
    auto* b = static_cast<const uint8_t*>(p);
    return b ? Bytes(b, b + len) : Bytes{};
}

std::string str(const char* s) { return s ? s : ""; }

// ---- set elements: the kernel's form <-> the model's intervals

struct RawElement {
    Bytes key;
    Bytes key_end;  // concatenated ranges (pipapo) carry both ends
    bool end = false;
};

// Interval sets hold start elements and (exclusive) end elements; a start without an end runs to the maximum. A
// single value lo..lo is given as the value alone.
std::vector<Interval> intervals_from(std::vector<RawElement>& raw, bool interval) {
    std::vector<Interval> out;
    out.reserve(raw.size());
    if (!interval) {
        for (auto& e : raw) out.push_back(Interval{std::move(e.key), {}});
        std::sort(out.begin(), out.end());
        return out;
    }
    // Ends sort before starts of the same key: an end at k closes the interval before a start at k opens the next.
    std::sort(raw.begin(), raw.end(), [](const RawElement& a, const RawElement& b) {
        const int c = key_compare(a.key, b.key);
        return c < 0 || (c == 0 && a.end && !b.end);
    });
    for (size_t i = 0; i < raw.size(); ++i) {
        auto& e = raw[i];
        if (e.end) continue;  // a leading end (nft writes one at 0) or one already consumed
        Interval iv;
        if (!e.key_end.empty()) {
            iv.lo = e.key;
            iv.hi = std::move(e.key_end);
        } else {
            iv.lo = e.key;
            if (i + 1 < raw.size()) {
                iv.hi = raw[i + 1].key;
                if (!decrement(iv.hi)) iv.hi.assign(iv.lo.size(), 0);
            } else {
                iv.hi.assign(iv.lo.size(), 0xff);
            }
        }
        if (iv.hi == iv.lo) iv.hi.clear();
        out.push_back(std::move(iv));
    }
    return out;
}

void swap_intervals(std::vector<Interval>& v, uint32_t size) {
    for (auto& iv : v) {
        swap_chunks(iv.lo, size);
        swap_chunks(iv.hi, size);
    }
    std::sort(v.begin(), v.end());
}

// ---- reading

struct SetInfo {
    size_t table = 0;
    std::string name;
    uint32_t flags = 0;
    uint32_t key_len = 0;
    uint32_t key_type = 0;
    bool host_keys = false;  // nft's key byteorder (set userdata) is host
    int named = -1;          // index into Table::sets; -1 for anonymous sets
    std::vector<Interval> elements;  // anonymous sets only, as the kernel holds them
};

struct RegState {
    enum class St : uint8_t { empty, loaded, unknown };
    St st = St::empty;
    Selector sel;
    Bytes mask;
    uint32_t swap = 0;  // byteorder hton chunk size applied to the register (0: none)
};

// 16 32-bit slots: NFT_REG_1..4 are slots 0, 4, 8, 12; NFT_REG32_00..15 are slots 0..15.
int reg_slot(uint32_t reg) {
    if (reg >= NFT_REG_1 && reg <= NFT_REG_4) return static_cast<int>((reg - NFT_REG_1) * 4);
    if (reg >= NFT_REG32_00 && reg <= NFT_REG32_15) return static_cast<int>(reg - NFT_REG32_00);
    return -1;
}

// The attributes of one nesting level, by type: rules are decoded straight from the dump's attributes (libnftnl's
// parser would allocate and copy every rule, table name and expression on the way).
class Attrs {
public:
    static constexpr uint16_t kMax = 15;

    Attrs() = default;
    explicit Attrs(const nlattr* nest) {
        if (nest) parse(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest));
    }
    void parse(const void* data, size_t len) {
        auto* p = static_cast<const char*>(data);
        auto* end = p + len;
        while (static_cast<size_t>(end - p) >= sizeof(nlattr)) {
            auto* a = reinterpret_cast<const nlattr*>(p);
            if (a->nla_len < sizeof(nlattr) || a->nla_len > end - p) break;
            const uint16_t type = a->nla_type & NLA_TYPE_MASK;
            if (type <= kMax) a_[type] = a;
            p += NLA_ALIGN(a->nla_len);
        }
    }

    bool has(uint16_t t) const { return t <= kMax && a_[t]; }
    const nlattr* get(uint16_t t) const { return t <= kMax ? a_[t] : nullptr; }
    uint8_t u8(uint16_t t) const { return payload_len(t) >= 1 ? *static_cast<const uint8_t*>(payload(t)) : 0; }
    uint16_t u16(uint16_t t) const { return payload_len(t) >= 2 ? be16toh(load<uint16_t>(t)) : 0; }
    uint32_t u32(uint16_t t) const { return payload_len(t) >= 4 ? be32toh(load<uint32_t>(t)) : 0; }
    uint64_t u64(uint16_t t) const { return payload_len(t) >= 8 ? be64toh(load<uint64_t>(t)) : 0; }
    std::string_view str(uint16_t t) const {
        if (!has(t)) return {};
        auto* s = static_cast<const char*>(payload(t));
        return {s, strnlen(s, payload_len(t))};
    }
    std::span<const uint8_t> bytes(uint16_t t) const {
        if (!has(t)) return {};
        return {static_cast<const uint8_t*>(payload(t)), payload_len(t)};
    }
    // An nft_data attribute holding a value (NFTA_DATA_VALUE).
    Bytes value(uint16_t t) const {
        Attrs d(get(t));
        auto b = d.bytes(NFTA_DATA_VALUE);
        return Bytes(b.begin(), b.end());
    }

private:
    const void* payload(uint16_t t) const { return mnl_attr_get_payload(a_[t]); }
    size_t payload_len(uint16_t t) const { return has(t) ? mnl_attr_get_payload_len(a_[t]) : 0; }
    template <class T>
    T load(uint16_t t) const {
        T v;
        std::memcpy(&v, payload(t), sizeof v);
        return v;
    }

    std::array<const nlattr*, kMax + 1> a_{};
};

// A match on an anonymous set whose elements arrive after the rules (their dumps follow the rule dump).
struct PendingLookup {
    size_t table, chain, rule, match;  // where the match is
    size_t set;                        // index into the reader's sets
    uint32_t swap;                     // byteorder applied to the register before the lookup
};

class RuleDecoder {
public:
    struct Where {
        size_t table, chain, rule;
    };
    RuleDecoder(Family family, const std::vector<SetInfo>& sets, const std::unordered_map<std::string, size_t>& set_index, Rule& out,
                Where where, std::vector<PendingLookup>& pending)
        : family_(family), sets_(sets), set_index_(set_index), out_(out), where_(where), pending_(pending) {}

    // One NFTA_LIST_ELEM of NFTA_RULE_EXPRESSIONS.
    void expr(const nlattr* elem) {
        Attrs outer(elem);
        const std::string_view name = outer.str(NFTA_EXPR_NAME);
        const Attrs e(outer.get(NFTA_EXPR_DATA));
        if (name == "payload") payload(e);
        else if (name == "cmp") cmp(e);
        else if (name == "meta") meta(e);
        else if (name == "immediate") immediate(e);
        else if (name == "ct") ct(e);
        else if (name == "bitwise") bitwise(e);
        else if (name == "lookup") lookup(e);
        else if (name == "counter") statement(Statement{Statement::Kind::counter, {}});
        else if (name == "range") range(e);
        else if (name == "byteorder") byteorder(e);
        else if (name == "log") log(e);
        else if (name == "limit") limit(e);
        else if (name == "reject") reject(e);
        else if (name == "notrack") statement(Statement{Statement::Kind::notrack, {}});
        else unknown(e, name);
    }

    void finish() {
        if (!deferred_) canonicalize(out_);  // otherwise once the anonymous sets' elements are in
        if (!opaque_.empty()) out_.opaque = std::move(opaque_);
    }

private:
    void opaque(std::string_view what) {
        if (opaque_.find(what) != std::string::npos) return;
        if (!opaque_.empty()) opaque_ += ", ";
        opaque_ += what;
    }

    RegState* reg(uint32_t r) {
        int s = reg_slot(r);
        return s < 0 ? nullptr : &regs_[static_cast<size_t>(s)];
    }

    // A write of `len` bytes at register `r`: states it overlaps are gone.
    RegState* write(uint32_t r, uint32_t len) {
        int s = reg_slot(r);
        if (s < 0) return nullptr;
        const int end = s + static_cast<int>(std::max<uint32_t>(1, (len + 3) / 4));
        for (int i = 0; i < 16; ++i) {
            auto& st = regs_[static_cast<size_t>(i)];
            if (st.st == RegState::St::empty) continue;
            int e = i + static_cast<int>(std::max<uint32_t>(1, (st.sel.len + 3) / 4));
            if (i < end && s < e) st = RegState{};
        }
        return &regs_[static_cast<size_t>(s)];
    }

    void load(uint32_t dreg, const Selector& sel) {
        RegState* st = write(dreg, sel.len);
        if (!st) return opaque("load into an unknown register");
        st->st = sel.len ? RegState::St::loaded : RegState::St::unknown;
        st->sel = sel;
    }

    // The register a comparison reads, or null (the rule is then opaque already or becomes so).
    const RegState* source(uint32_t sreg) {
        const RegState* st = reg(sreg);
        if (st && st->st == RegState::St::loaded) return st;
        if (!unknown_seen_ && !(st && st->st == RegState::St::unknown)) opaque("comparison of a register without a load");
        return nullptr;
    }

    void emit(Match&& m) {
        if (!out_.statements.empty() || verdict_seen_) opaque("match after a statement");
        out_.matches.push_back(std::move(m));
    }

    void statement(Statement&& s) {
        if (verdict_seen_) opaque("statement after the verdict");
        out_.statements.push_back(std::move(s));
    }

    void unknown(const Attrs& e, std::string_view name) {
        unknown_seen_ = true;
        if (name == "nat") opaque(e.u32(NFTA_NAT_TYPE) == NFT_NAT_SNAT ? "snat" : "dnat");
        else if (name == "redir") opaque("redirect");
        else opaque(name.empty() ? "unnamed expression" : name);
    }

    void meta(const Attrs& e) {
        const uint32_t key = e.u32(NFTA_META_KEY);
        if (!e.has(NFTA_META_DREG)) return opaque("meta set");
        load(e.u32(NFTA_META_DREG), Selector{SelectorKind::meta, key, 0, meta_len(key)});
        if (!meta_len(key)) opaque("meta key " + std::to_string(key));
    }

    void payload(const Attrs& e) {
        if (!e.has(NFTA_PAYLOAD_DREG)) return opaque("payload set");
        load(e.u32(NFTA_PAYLOAD_DREG),
             Selector{SelectorKind::payload, e.u32(NFTA_PAYLOAD_BASE), e.u32(NFTA_PAYLOAD_OFFSET), e.u32(NFTA_PAYLOAD_LEN)});
    }

    void ct(const Attrs& e) {
        const uint32_t key = e.u32(NFTA_CT_KEY);
        if (!e.has(NFTA_CT_DREG)) return opaque("ct set");
        const uint32_t dreg = e.u32(NFTA_CT_DREG);
        if (e.has(NFTA_CT_DIRECTION)) {
            // The model's selector has no direction: `ct original ip saddr` must not pass for `ct ... saddr`.
            opaque(e.u8(NFTA_CT_DIRECTION) == 0 ? "ct original" : "ct reply");
            if (RegState* st = write(dreg, 16)) st->st = RegState::St::unknown;
            return;
        }
        load(dreg, Selector{SelectorKind::ct, key, 0, ct_len(key, family_)});
        if (!ct_len(key, family_)) opaque("ct key " + std::to_string(key));
    }

    void bitwise(const Attrs& e) {
        const RegState* src = source(e.u32(NFTA_BITWISE_SREG));
        if (!src) return;
        if (e.has(NFTA_BITWISE_OP) && e.u32(NFTA_BITWISE_OP) != NFT_BITWISE_BOOL) return opaque("bitwise shift");
        if (!all_bytes(e.value(NFTA_BITWISE_XOR), 0)) return opaque("bitwise xor");
        RegState st = *src;
        Bytes m = e.value(NFTA_BITWISE_MASK);
        m.resize(st.sel.len, 0xff);
        if (st.swap) swap_chunks(m, st.swap);  // a mask applied after hton is big endian; the model's is host order
        if (st.mask.empty()) st.mask = std::move(m);
        else
            for (size_t i = 0; i < st.mask.size() && i < m.size(); ++i) st.mask[i] &= m[i];
        if (RegState* dst = write(e.u32(NFTA_BITWISE_DREG), st.sel.len)) *dst = std::move(st);
    }

    void byteorder(const Attrs& e) {
        const RegState* src = source(e.u32(NFTA_BYTEORDER_SREG));
        if (!src) return;
        const uint32_t size = e.u32(NFTA_BYTEORDER_SIZE);
        if (e.u32(NFTA_BYTEORDER_OP) != NFT_BYTEORDER_HTON || src->swap || e.u32(NFTA_BYTEORDER_LEN) != src->sel.len ||
            (size != 2 && size != 4 && size != 8))
            return opaque("byteorder");
        RegState st = *src;
        st.swap = size;
        if (RegState* dst = write(e.u32(NFTA_BYTEORDER_DREG), st.sel.len)) *dst = std::move(st);
    }

    // A match on what `st` holds; a compare shorter than the load compares a prefix of it (iifname "eth*"), which
    // canonicalize() widens back to the full field with a mask.
    static Match base_match(const RegState& st, size_t compare_len) {
        Match m;
        m.sel = st.sel;
        m.mask = st.mask;
        if (compare_len && compare_len < st.sel.len && !st.swap) {
            m.sel.len = static_cast<uint32_t>(compare_len);
            if (!m.mask.empty()) m.mask.resize(compare_len);
        }
        return m;
    }

    void cmp(const Attrs& e) {
        const RegState* st = source(e.u32(NFTA_CMP_SREG));
        if (!st) return;
        Bytes value = e.value(NFTA_CMP_DATA);
        if (value.size() > st->sel.len || (st->swap && value.size() != st->sel.len)) return opaque("cmp wider than its load");
        Match m = base_match(*st, value.size());
        switch (e.u32(NFTA_CMP_OP)) {
            case NFT_CMP_EQ: m.op = Op::eq; break;
            case NFT_CMP_NEQ: m.op = Op::neq; break;
            case NFT_CMP_LT: m.op = Op::lt; break;
            case NFT_CMP_LTE: m.op = Op::lte; break;
            case NFT_CMP_GT: m.op = Op::gt; break;
            case NFT_CMP_GTE: m.op = Op::gte; break;
            default: return opaque("cmp operator");
        }
        m.value = std::move(value);
        swap_chunks(m.value, st->swap);
        emit(std::move(m));
    }

    void range(const Attrs& e) {
        const RegState* st = source(e.u32(NFTA_RANGE_SREG));
        if (!st) return;
        Bytes from = e.value(NFTA_RANGE_FROM_DATA), to = e.value(NFTA_RANGE_TO_DATA);
        if (from.size() != st->sel.len || to.size() != st->sel.len) return opaque("range of another width than its load");
        Match m = base_match(*st, 0);
        m.op = e.u32(NFTA_RANGE_OP) == NFT_RANGE_NEQ ? Op::not_range : Op::range;
        m.value = std::move(from);
        m.value_hi = std::move(to);
        swap_chunks(m.value, st->swap);
        swap_chunks(m.value_hi, st->swap);
        emit(std::move(m));
    }

    void lookup(const Attrs& e) {
        if (e.has(NFTA_LOOKUP_DREG)) {
            unknown_seen_ = true;
            return opaque(e.u32(NFTA_LOOKUP_DREG) == NFT_REG_VERDICT ? "verdict map" : "map lookup");
        }
        const RegState* st = source(e.u32(NFTA_LOOKUP_SREG));
        if (!st) return;
        const std::string name(e.str(NFTA_LOOKUP_SET));
        auto it = set_index_.find(name);
        if (it == set_index_.end()) return opaque("lookup in unknown set " + name);
        const SetInfo& set = sets_[it->second];
        if (set.key_len != st->sel.len) return opaque("concatenation");
        Match m = base_match(*st, 0);
        m.op = (e.u32(NFTA_LOOKUP_FLAGS) & NFT_LOOKUP_F_INV) ? Op::not_in_set : Op::in_set;
        if (set.named >= 0) {
            m.set = name;
        } else {
            pending_.push_back({where_.table, where_.chain, where_.rule, out_.matches.size(), it->second, st->swap});
            deferred_ = true;
        }
        emit(std::move(m));
    }

    void immediate(const Attrs& e) {
        const uint32_t dreg = e.u32(NFTA_IMMEDIATE_DREG);
        if (dreg != NFT_REG_VERDICT) {
            opaque("immediate to a data register");
            if (RegState* st = write(dreg, 4)) st->st = RegState::St::unknown;
            return;
        }
        if (verdict_seen_) opaque("second verdict");
        verdict_seen_ = true;
        const Attrs data(e.get(NFTA_IMMEDIATE_DATA));
        const Attrs verdict(data.get(NFTA_DATA_VERDICT));
        const auto code = static_cast<int32_t>(verdict.u32(NFTA_VERDICT_CODE));
        Verdict v;
        switch (code) {
            case NF_ACCEPT: v.kind = VerdictKind::accept; break;
            case NF_DROP: v.kind = VerdictKind::drop; break;
            case NF_QUEUE: v.kind = VerdictKind::queue; break;
            case NFT_CONTINUE: v.kind = VerdictKind::continue_; break;
            case NFT_RETURN: v.kind = VerdictKind::return_; break;
            case NFT_JUMP: v.kind = VerdictKind::jump; break;
            case NFT_GOTO: v.kind = VerdictKind::goto_; break;
            default: return opaque("verdict " + std::to_string(code));
        }
        if (v.kind == VerdictKind::jump || v.kind == VerdictKind::goto_) v.chain = verdict.str(NFTA_VERDICT_CHAIN);
        out_.verdict = std::move(v);
    }

    void log(const Attrs& e) {
        Statement s{Statement::Kind::log, {}};
        // As the text parser writes them: prefix when given, then group (an NFLOG log has no level) or level.
        if (e.has(NFTA_LOG_PREFIX)) s.params.emplace_back("prefix", e.str(NFTA_LOG_PREFIX));
        if (e.has(NFTA_LOG_GROUP)) s.params.emplace_back("group", std::to_string(e.u16(NFTA_LOG_GROUP)));
        else s.params.emplace_back("level", e.has(NFTA_LOG_LEVEL) ? std::to_string(e.u32(NFTA_LOG_LEVEL)) : "4");
        if (uint32_t v = e.u32(NFTA_LOG_SNAPLEN)) s.params.emplace_back("snaplen", std::to_string(v));
        if (uint16_t v = e.u16(NFTA_LOG_QTHRESHOLD)) s.params.emplace_back("queue-threshold", std::to_string(v));
        if (uint32_t v = e.u32(NFTA_LOG_FLAGS)) s.params.emplace_back("flags", std::to_string(v));
        statement(std::move(s));
    }

    void limit(const Attrs& e) {
        Statement s{Statement::Kind::limit, {}};
        s.params.emplace_back("rate", std::to_string(e.u64(NFTA_LIMIT_RATE)));
        const uint64_t unit = e.u64(NFTA_LIMIT_UNIT);
        s.params.emplace_back("unit", unit_name(unit));
        s.params.emplace_back("burst", std::to_string(e.u32(NFTA_LIMIT_BURST)));
        s.params.emplace_back("type", e.u32(NFTA_LIMIT_TYPE) == NFT_LIMIT_PKT_BYTES ? "bytes" : "packets");
        if (e.u32(NFTA_LIMIT_FLAGS) & NFT_LIMIT_F_INV) s.params.emplace_back("over", "1");
        statement(std::move(s));
    }

    // ICMP (not ICMPX) rejects depend on the family: the table's, or the nfproto/ether type the rule matched before.
    bool ipv6_context() const {
        if (family_ == Family::ip6) return true;
        if (family_ == Family::ip) return false;
        for (const auto& m : out_.matches) {
            if (m.sel.kind != SelectorKind::meta || m.op != Op::eq || m.value.empty()) continue;
            if (m.sel.key == NFT_META_NFPROTO) return m.value[0] == NFPROTO_IPV6;
            if (m.sel.key == NFT_META_PROTOCOL && m.value.size() == 2) return m.value[0] == 0x86 && m.value[1] == 0xdd;
        }
        return false;
    }

    void reject(const Attrs& e) {
        Statement s{Statement::Kind::reject, {}};
        switch (const uint32_t type = e.u32(NFTA_REJECT_TYPE)) {
            case NFT_REJECT_ICMP_UNREACH: s.params.emplace_back("type", ipv6_context() ? "icmpv6" : "icmp"); break;
            case NFT_REJECT_TCP_RST: s.params.emplace_back("type", "tcp-reset"); break;
            case NFT_REJECT_ICMPX_UNREACH: s.params.emplace_back("type", "icmpx"); break;
            default: s.params.emplace_back("type", std::to_string(type));
        }
        if (e.has(NFTA_REJECT_ICMP_CODE)) s.params.emplace_back("code", std::to_string(e.u8(NFTA_REJECT_ICMP_CODE)));
        statement(std::move(s));
    }

    Family family_;
    const std::vector<SetInfo>& sets_;
    const std::unordered_map<std::string, size_t>& set_index_;
    Rule& out_;
    Where where_;
    std::vector<PendingLookup>& pending_;
    bool deferred_ = false;
    std::array<RegState, 16> regs_{};
    bool verdict_seen_ = false;
    bool unknown_seen_ = false;  // an expression plumb does not decode may have written registers
    std::string opaque_;
};

// The comment of a rule's userdata: TLVs of type (1 byte), length (1 byte), value.
std::string comment_of(std::span<const uint8_t> data) {
    for (size_t off = 0; off + 2 <= data.size();) {
        const uint8_t type = data[off], vlen = data[off + 1];
        if (off + 2 + vlen > data.size()) break;
        if (type == NFTNL_UDATA_RULE_COMMENT) {
            auto* v = reinterpret_cast<const char*>(data.data() + off + 2);
            return std::string(v, strnlen(v, vlen));
        }
        off += 2u + vlen;
    }
    return {};
}

// nft records the key byte order of a set in its userdata (NFTNL_UDATA_SET_KEYBYTEORDER: 1 host, 2 big endian).
std::optional<uint32_t> set_key_byteorder(const nftnl_set* s) {
    if (!nftnl_set_is_set(s, NFTNL_SET_USERDATA)) return std::nullopt;
    uint32_t len = 0;
    auto* data = static_cast<const uint8_t*>(nftnl_set_get_data(s, NFTNL_SET_USERDATA, &len));
    for (uint32_t off = 0; data && off + 2 <= len;) {
        const uint8_t type = data[off], vlen = data[off + 1];
        if (off + 2 + vlen > len) break;
        if (type == NFTNL_UDATA_SET_KEYBYTEORDER && vlen == 4) {
            uint32_t v;
            std::memcpy(&v, data + off + 2, 4);
            return v;
        }
        off += 2u + vlen;
    }
    return std::nullopt;
}

class Reader {
public:
    explicit Reader(Socket& s) : sock_(s) {}

    Result<uint32_t> generation() {
        auto* nlh = header(NFT_MSG_GETGEN, NFPROTO_UNSPEC, NLM_F_ACK);
        std::optional<uint32_t> gen;
        auto r = sock_.talk(nlh, "NFT_MSG_GETGEN", [&](const nlmsghdr* m) -> Result<void> {
            if (m->nlmsg_type != nft_type(NFT_MSG_NEWGEN)) return {};
            auto* a = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(m, sizeof(nfgenmsg)));
            auto* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(m));
            for (; mnl_attr_ok(a, static_cast<int>(tail - reinterpret_cast<const char*>(a))); a = mnl_attr_next(a))
                if (mnl_attr_get_type(a) == NFTA_GEN_ID && mnl_attr_get_payload_len(a) == 4) gen = be32toh(mnl_attr_get_u32(a));
            return {};
        });
        if (!r) return std::unexpected(r.error());
        if (!gen) return fail(EPROTO, "NFT_MSG_GETGEN: the kernel's answer has no generation");
        return *gen;
    }

    Result<Ruleset> read() {
        if (auto r = tables(); !r) return std::unexpected(r.error());
        if (auto r = chains(); !r) return std::unexpected(r.error());
        if (auto r = sets(); !r) return std::unexpected(r.error());
        // The bulk, in one pipeline: every rule of every table, then the elements of each set.
        std::vector<std::vector<char>> requests;
        requests.reserve(1 + sets_.size());
        requests.push_back(copy(header(NFT_MSG_GETRULE, NFPROTO_UNSPEC, NLM_F_DUMP)));
        for (auto& r : set_element_requests()) requests.push_back(std::move(r));
        std::vector<std::vector<RawElement>> raw(sets_.size());
        auto r = sock_.pipelined(requests, "NFT_MSG_GETRULE / NFT_MSG_GETSETELEM dumps", [&](size_t i, const nlmsghdr* m) {
            return i == 0 ? rule(m) : elements(raw[i - 1], m);
        });
        if (!r) return std::unexpected(r.error());
        for (size_t i = 0; i < sets_.size(); ++i) finish_set(sets_[i], raw[i]);
        resolve_pending();
        return std::move(rs_);
    }

    // Tables, chains and sets as read() gets them, then the rules of the chains `hooks` reaches, in waves: the base
    // chains of type filter on those hooks, then the chains their rules jump or goto that were not dumped yet, and so
    // on. Each wave is one pipeline of per-chain dumps (the first also carries the set element dumps). Returns the
    // chains whose rules were read.
    Result<std::vector<ChainRef>> read_scoped(const std::vector<std::string>& hooks) {
        if (auto r = tables(); !r) return std::unexpected(r.error());
        if (auto r = chains(); !r) return std::unexpected(r.error());
        if (auto r = sets(); !r) return std::unexpected(r.error());
        using Where = std::pair<size_t, size_t>;  // table, chain indexes
        std::vector<Where> wave;
        std::vector<std::vector<bool>> queued(rs_.tables.size());
        for (size_t ti = 0; ti < rs_.tables.size(); ++ti) {
            const Table& tab = rs_.tables[ti];
            queued[ti].assign(tab.chains.size(), false);
            for (size_t ci = 0; ci < tab.chains.size(); ++ci) {
                const auto& h = tab.chains[ci].hook;
                if (h && h->type == "filter" && std::find(hooks.begin(), hooks.end(), h->hook) != hooks.end()) {
                    wave.emplace_back(ti, ci);
                    queued[ti][ci] = true;
                }
            }
        }
        std::vector<std::vector<char>> element_requests = set_element_requests();
        std::vector<std::vector<RawElement>> raw(sets_.size());
        std::vector<ChainRef> read;
        while (!wave.empty() || !element_requests.empty()) {
            std::vector<std::vector<char>> requests;
            requests.reserve(wave.size() + element_requests.size());
            for (auto [ti, ci] : wave) {
                const Table& tab = rs_.tables[ti];
                RulePtr req(checked(nftnl_rule_alloc()));
                nftnl_rule_set_str(req.get(), NFTNL_RULE_TABLE, tab.name.c_str());
                nftnl_rule_set_str(req.get(), NFTNL_RULE_CHAIN, tab.chains[ci].name.c_str());
                auto* nlh = header(NFT_MSG_GETRULE, static_cast<uint16_t>(tab.family), NLM_F_DUMP);
                nftnl_rule_nlmsg_build_payload(nlh, req.get());
                requests.push_back(copy(nlh));
            }
            const size_t rule_dumps = requests.size();
            for (auto& r : element_requests) requests.push_back(std::move(r));
            element_requests.clear();
            auto r = sock_.pipelined(requests, "NFT_MSG_GETRULE (per chain) / NFT_MSG_GETSETELEM dumps", [&](size_t i, const nlmsghdr* m) {
                return i < rule_dumps ? rule(m) : elements(raw[i - rule_dumps], m);
            });
            if (!r) return std::unexpected(r.error());
            std::vector<Where> next;
            for (auto [ti, ci] : wave) {
                const Table& tab = rs_.tables[ti];
                read.push_back({tab.family, tab.name, tab.chains[ci].name});
                for (const Rule& rule : tab.chains[ci].rules) {
                    if (rule.verdict.chain.empty()) continue;
                    auto it = chain_index_.find(key(static_cast<uint32_t>(tab.family), tab.name, rule.verdict.chain));
                    if (it == chain_index_.end()) return fail(EINTR, "a jump to a chain that was not listed");
                    auto [tj, cj] = it->second;
                    if (!queued[tj][cj]) {
                        queued[tj][cj] = true;
                        next.emplace_back(tj, cj);
                    }
                }
            }
            wave = std::move(next);
        }
        for (size_t i = 0; i < sets_.size(); ++i) finish_set(sets_[i], raw[i]);
        resolve_pending();
        std::sort(read.begin(), read.end());
        return read;
    }

    Ruleset take() { return std::move(rs_); }

private:
    std::vector<std::vector<char>> set_element_requests() {
        std::vector<std::vector<char>> requests;
        requests.reserve(sets_.size());
        for (const auto& info : sets_) {
            const Table& tab = rs_.tables[info.table];
            SetPtr req(checked(nftnl_set_alloc()));
            nftnl_set_set_str(req.get(), NFTNL_SET_TABLE, tab.name.c_str());
            nftnl_set_set_str(req.get(), NFTNL_SET_NAME, info.name.c_str());
            auto* nlh = header(NFT_MSG_GETSETELEM, static_cast<uint16_t>(tab.family), NLM_F_DUMP);
            nftnl_set_elems_nlmsg_build_payload(nlh, req.get());
            requests.push_back(copy(nlh));
        }
        return requests;
    }

    nlmsghdr* header(uint16_t type, uint16_t family, uint16_t flags) {
        return nftnl_nlmsg_build_hdr(tx_.data(), type, family, flags, sock_.next_seq());
    }
    static std::vector<char> copy(const nlmsghdr* nlh) {
        auto* p = reinterpret_cast<const char*>(nlh);
        return std::vector<char>(p, p + nlh->nlmsg_len);
    }

    static std::string key(uint32_t family, std::string_view table, std::string_view name = {}) {
        std::string k;
        k.reserve(2 + table.size() + name.size());
        k += static_cast<char>(family);
        k += table;
        k += '\0';
        k += name;
        return k;
    }

    Result<void> tables() {
        auto* nlh = header(NFT_MSG_GETTABLE, NFPROTO_UNSPEC, NLM_F_DUMP);
        return sock_.talk(nlh, "NFT_MSG_GETTABLE dump", [&](const nlmsghdr* m) -> Result<void> {
            TablePtr t(checked(nftnl_table_alloc()));
            if (nftnl_table_nlmsg_parse(m, t.get()) < 0) return fail_errno(errno ? errno : EPROTO, "parsing a table");
            const uint32_t fam = nftnl_table_get_u32(t.get(), NFTNL_TABLE_FAMILY);
            if (!known_family(fam)) return {};
            Table& tab = rs_.tables.emplace_back();
            tab.family = static_cast<Family>(fam);
            tab.name = str(nftnl_table_get_str(t.get(), NFTNL_TABLE_NAME));
            tab.flags = nftnl_table_get_u32(t.get(), NFTNL_TABLE_FLAGS);
            tab.handle = nftnl_table_get_u64(t.get(), NFTNL_TABLE_HANDLE);
            table_index_.emplace(key(fam, tab.name), rs_.tables.size() - 1);
            set_index_.emplace_back();
            return {};
        });
    }

    std::optional<size_t> table_of(uint32_t fam, const char* name) const {
        auto it = table_index_.find(key(fam, str(name)));
        if (it == table_index_.end()) return std::nullopt;
        return it->second;
    }

    Result<void> chains() {
        auto* nlh = header(NFT_MSG_GETCHAIN, NFPROTO_UNSPEC, NLM_F_DUMP);
        return sock_.talk(nlh, "NFT_MSG_GETCHAIN dump", [&](const nlmsghdr* m) -> Result<void> {
            ChainPtr c(checked(nftnl_chain_alloc()));
            if (nftnl_chain_nlmsg_parse(m, c.get()) < 0) return fail_errno(errno ? errno : EPROTO, "parsing a chain");
            const uint32_t fam = nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_FAMILY);
            auto ti = table_of(fam, nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE));
            if (!ti) return fail(EINTR, "a chain of a table that was not listed");
            Table& tab = rs_.tables[*ti];
            Chain& ch = tab.chains.emplace_back();
            ch.name = str(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME));
            ch.handle = nftnl_chain_get_u64(c.get(), NFTNL_CHAIN_HANDLE);
            if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_HOOKNUM)) {
                Hook h;
                h.type = str(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TYPE));
                h.hook = std::string(hook_name(tab.family, nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_HOOKNUM)));
                h.priority = nftnl_chain_get_s32(c.get(), NFTNL_CHAIN_PRIO);
                if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_DEV)) {
                    h.device = str(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_DEV));
                } else if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_DEVICES)) {
                    for (auto* d = static_cast<const char* const*>(nftnl_chain_get(c.get(), NFTNL_CHAIN_DEVICES)); d && *d; ++d)
                        h.device += (h.device.empty() ? "" : ",") + std::string(*d);
                }
                ch.hook = std::move(h);
                ch.policy = nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_POLICY) == NF_DROP ? VerdictKind::drop : VerdictKind::accept;
            }
            chain_index_.emplace(key(fam, tab.name, ch.name), std::pair{*ti, tab.chains.size() - 1});
            return {};
        });
    }

    Result<void> sets() {
        auto* nlh = header(NFT_MSG_GETSET, NFPROTO_UNSPEC, NLM_F_DUMP);
        return sock_.talk(nlh, "NFT_MSG_GETSET dump", [&](const nlmsghdr* m) -> Result<void> {
            SetPtr s(checked(nftnl_set_alloc()));
            if (nftnl_set_nlmsg_parse(m, s.get()) < 0) return fail_errno(errno ? errno : EPROTO, "parsing a set");
            const uint32_t fam = nftnl_set_get_u32(s.get(), NFTNL_SET_FAMILY);
            auto ti = table_of(fam, nftnl_set_get_str(s.get(), NFTNL_SET_TABLE));
            if (!ti) return fail(EINTR, "a set of a table that was not listed");
            SetInfo info;
            info.table = *ti;
            info.name = str(nftnl_set_get_str(s.get(), NFTNL_SET_NAME));
            info.flags = nftnl_set_get_u32(s.get(), NFTNL_SET_FLAGS);
            info.key_len = nftnl_set_get_u32(s.get(), NFTNL_SET_KEY_LEN);
            info.key_type = nftnl_set_get_u32(s.get(), NFTNL_SET_KEY_TYPE);
            auto order = set_key_byteorder(s.get());
            info.host_keys = order ? *order == 1 : host_order_datatype(info.key_type);
            if (!(info.flags & NFT_SET_ANONYMOUS)) {
                Table& tab = rs_.tables[*ti];
                Set& set = tab.sets.emplace_back();
                set.name = info.name;
                set.key_type = datatype_name(info.key_type);
                set.key_len = info.key_len;
                set.flags = info.flags;
                set.handle = nftnl_set_get_u64(s.get(), NFTNL_SET_HANDLE);
                info.named = static_cast<int>(tab.sets.size() - 1);
            }
            set_index_[*ti].emplace(info.name, sets_.size());
            sets_.push_back(std::move(info));
            return {};
        });
    }

    // One NEWSETELEM message of a set's element dump.
    static Result<void> elements(std::vector<RawElement>& raw, const nlmsghdr* m) {
        SetPtr s(checked(nftnl_set_alloc()));
        if (nftnl_set_elems_nlmsg_parse(m, s.get()) < 0) return fail_errno(errno ? errno : EPROTO, "parsing set elements");
        ElemIterPtr it(checked(nftnl_set_elems_iter_create(s.get())));
        for (nftnl_set_elem* e = nftnl_set_elems_iter_next(it.get()); e; e = nftnl_set_elems_iter_next(it.get())) {
            RawElement re;
            uint32_t len = 0;
            const void* k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
            re.key = bytes_of(k, len);
            if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY_END)) {
                const void* ke = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &len);
                re.key_end = bytes_of(ke, len);
            }
            re.end = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) && (nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) & NFT_SET_ELEM_INTERVAL_END);
            raw.push_back(std::move(re));
        }
        return {};
    }

    void finish_set(SetInfo& info, std::vector<RawElement>& raw) {
        auto elements = intervals_from(raw, info.flags & NFT_SET_INTERVAL);
        if (info.named < 0) {
            info.elements = std::move(elements);
            return;
        }
        // Interval sets of host-order keys hold big-endian keys (nft converts them); the model keeps host order.
        if ((info.flags & NFT_SET_INTERVAL) && info.host_keys && (info.key_len == 2 || info.key_len == 4 || info.key_len == 8))
            swap_intervals(elements, info.key_len);
        rs_.tables[info.table].sets[static_cast<size_t>(info.named)].elements = std::move(elements);
    }

    // Inlines the anonymous sets into the matches that look them up, then canonicalizes those rules.
    void resolve_pending() {
        for (size_t i = 0; i < pending_.size();) {
            const PendingLookup& first = pending_[i];
            Rule& rule = rs_.tables[first.table].chains[first.chain].rules[first.rule];
            auto same_rule = [&](const PendingLookup& p) { return p.table == first.table && p.chain == first.chain && p.rule == first.rule; };
            for (; i < pending_.size() && same_rule(pending_[i]); ++i) {
                Match& m = rule.matches[pending_[i].match];
                m.elements = sets_[pending_[i].set].elements;
                if (pending_[i].swap) swap_intervals(m.elements, pending_[i].swap);
            }
            canonicalize(rule);
        }
    }

    // One NEWRULE message of the rule dump. Rules arrive grouped by table and chain: the last chain is remembered
    // instead of looked up.
    Result<void> rule(const nlmsghdr* m) {
        if (m->nlmsg_type != nft_type(NFT_MSG_NEWRULE) || mnl_nlmsg_get_payload_len(m) < sizeof(nfgenmsg)) return {};
        const uint32_t fam = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(m))->nfgen_family;
        if (!known_family(fam)) return {};
        Attrs a;
        a.parse(mnl_nlmsg_get_payload_offset(m, sizeof(nfgenmsg)), mnl_nlmsg_get_payload_len(m) - sizeof(nfgenmsg));
        key_.clear();
        key_ += static_cast<char>(fam);
        key_ += a.str(NFTA_RULE_TABLE);
        key_ += '\0';
        key_ += a.str(NFTA_RULE_CHAIN);
        if (!chain_ || key_ != last_key_) {
            auto it = chain_index_.find(key_);
            if (it == chain_index_.end()) return fail(EINTR, "a rule of a chain that was not listed");
            where_ = it->second;
            chain_ = &rs_.tables[where_.first].chains[where_.second];
            last_key_ = key_;
        }
        Rule& rule = chain_->rules.emplace_back();
        rule.handle = a.u64(NFTA_RULE_HANDLE);
        if (a.has(NFTA_RULE_USERDATA)) rule.comment = comment_of(a.bytes(NFTA_RULE_USERDATA));
        const RuleDecoder::Where at{where_.first, where_.second, chain_->rules.size() - 1};
        RuleDecoder dec(static_cast<Family>(fam), sets_, set_index_[where_.first], rule, at, pending_);
        if (const nlattr* list = a.get(NFTA_RULE_EXPRESSIONS)) {
            auto* const begin = static_cast<const char*>(mnl_attr_get_payload(list));
            auto* const end = begin + mnl_attr_get_payload_len(list);
            auto each = [&](auto&& fn) {
                for (auto* p = begin; static_cast<size_t>(end - p) >= sizeof(nlattr);) {
                    auto* elem = reinterpret_cast<const nlattr*>(p);
                    if (elem->nla_len < sizeof(nlattr) || elem->nla_len > end - p) break;
                    if ((elem->nla_type & NLA_TYPE_MASK) == NFTA_LIST_ELEM) fn(elem);
                    p += NLA_ALIGN(elem->nla_len);
                }
            };
            // A match takes at least two expressions (a load and a comparison): one allocation for the matches.
            size_t n = 0;
            each([&](const nlattr*) { ++n; });
            rule.matches.reserve(n / 2);
            each([&](const nlattr* elem) { dec.expr(elem); });
        }
        dec.finish();
        return {};
    }

    Socket& sock_;
    std::array<char, kRequestBuffer> tx_{};
    Ruleset rs_;
    std::vector<SetInfo> sets_;
    std::unordered_map<std::string, size_t> table_index_;
    std::unordered_map<std::string, std::pair<size_t, size_t>> chain_index_;
    std::vector<std::unordered_map<std::string, size_t>> set_index_;  // per table: set name -> sets_ index
    std::vector<PendingLookup> pending_;
    // rule(): the chain the previous rule went to
    std::string key_, last_key_;
    Chain* chain_ = nullptr;
    std::pair<size_t, size_t> where_{};
};

// ---- committing

std::string_view kind_name(Change::Kind k) {
    switch (k) {
        case Change::Kind::add_table: return "add_table";
        case Change::Kind::add_chain: return "add_chain";
        case Change::Kind::set_policy: return "set_policy";
        case Change::Kind::add_rule: return "add_rule";
        case Change::Kind::insert_rule: return "insert_rule";
        case Change::Kind::delete_rule: return "delete_rule";
        case Change::Kind::delete_chain: return "delete_chain";
        case Change::Kind::delete_table: return "delete_table";
    }
    return "?";
}

const std::string& chain_name(const Change& c) { return c.chain_def.name.empty() ? c.chain : c.chain_def.name; }

// The messages of a batch, in one contiguous buffer: nfnetlink only treats what arrives in one datagram as a batch.
class Batch {
public:
    enum class Part : uint8_t { change, anon_set, anon_elements };
    struct Msg {
        size_t change;
        Part part;
        bool rule;  // NEWRULE: its echo carries the handle
    };

    explicit Batch(uint32_t first_seq, uint32_t generation = 0) : begin_seq_(first_seq), seq_(first_seq) {
        grow(NLMSG_HDRLEN + 64);
        nlmsghdr* begin = nftnl_batch_begin(buf_.data() + used_, seq_++);
        if (generation) mnl_attr_put_u32(begin, NFNL_BATCH_GENID, htobe32(generation));
        finish(begin);
    }

    // Starts a message of at most max_len bytes; valid until the next call.
    nlmsghdr* start(uint16_t type, Family family, uint16_t flags, size_t max_len, Msg msg) {
        grow(max_len);
        msgs_.push_back(msg);
        return nftnl_nlmsg_build_hdr(buf_.data() + used_, type, static_cast<uint16_t>(family), static_cast<uint16_t>(flags | NLM_F_ACK), seq_++);
    }
    void finish(nlmsghdr* nlh) { used_ += NLMSG_ALIGN(nlh->nlmsg_len); }

    void close() {
        end_seq_ = seq_;
        grow(NLMSG_HDRLEN + 64);
        nftnl_batch_end(buf_.data() + used_, seq_++);
        finish(reinterpret_cast<nlmsghdr*>(buf_.data() + used_));
    }

    const char* data() const { return buf_.data(); }
    size_t size() const { return used_; }
    uint32_t begin_seq() const { return begin_seq_; }
    uint32_t end_seq() const { return end_seq_; }
    const std::vector<Msg>& msgs() const { return msgs_; }
    // The message with sequence number `seq`, if it is one of the batch's changes.
    const Msg* msg(uint32_t seq, size_t* index) const {
        uint32_t i = seq - begin_seq_ - 1;
        if (i >= msgs_.size()) return nullptr;
        *index = i;
        return &msgs_[i];
    }

private:
    void grow(size_t extra) {
        if (buf_.size() < used_ + extra) buf_.resize(std::max(buf_.size() * 2, used_ + extra + 4096));
    }

    std::vector<char> buf_;
    size_t used_ = 0;
    uint32_t begin_seq_, end_seq_ = 0, seq_;
    std::vector<Msg> msgs_;
};

// An anonymous set a rule needs, created in the same batch.
struct AnonSet {
    uint32_t id = 0;
    uint32_t flags = 0;
    uint32_t key_type = 0;
    uint32_t key_len = 0;
    struct Elem {
        Bytes key;
        bool end = false;
        bool open = false;  // a start element without an end (runs to the maximum)
    };
    std::vector<Elem> elems;
};

Result<uint64_t> parse_number(const std::string& s, std::string_view what) {
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return fail_invalid(std::string(what) + ": not a number: \"" + s + "\"");
    return v;
}

// Whether the named set `set` of a table is an interval set; asked only when encoding a lookup needs to know.
using IntervalQuery = std::function<Result<bool>(Family, const std::string& table, const std::string& set)>;

class RuleEncoder {
public:
    RuleEncoder(Family family, const std::string& table, nftnl_rule* r, uint32_t& next_set_id, const IntervalQuery& query)
        : family_(family), table_(table), r_(r), next_set_id_(next_set_id), query_(query) {}

    Result<void> encode(const Rule& rule) {
        if (!rule.opaque.empty()) return fail_invalid("the rule holds expressions plumb does not model (" + rule.opaque + ")");
        for (size_t i = 0; i < rule.matches.size(); ++i) {
            if (auto m = match(rule.matches[i]); !m) return fail_invalid("match " + std::to_string(i + 1) + ": " + m.error().message);
            note_protocol(rule.matches[i]);
        }
        for (const auto& s : rule.statements)
            if (auto st = statement(s); !st) return st;
        if (auto v = verdict(rule.verdict); !v) return v;
        if (!rule.comment.empty()) {
            UdataPtr ud(checked(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN)));
            if (!nftnl_udata_put_strz(ud.get(), NFTNL_UDATA_RULE_COMMENT, rule.comment.c_str()))
                return fail_invalid("comment longer than the kernel keeps (" + std::to_string(rule.comment.size()) + " bytes)");
            nftnl_rule_set_data(r_, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud.get()), nftnl_udata_buf_len(ud.get()));
        }
        return {};
    }

    std::vector<AnonSet>& anon_sets() { return anon_; }
    size_t payload_estimate() const { return estimate_; }

private:
    // The transport protocol earlier matches established: it names transport fields (icmpv6 type, not icmp type)
    // and so the datatype of an anonymous set's key.
    void note_protocol(const Match& m) {
        if (m.sel.kind != SelectorKind::meta || m.sel.key != NFT_META_L4PROTO || m.op != Op::eq || m.value.size() != 1) return;
        switch (m.value[0]) {
            case 1: implied_ = Proto::icmp; break;
            case 6: implied_ = Proto::tcp; break;
            case 17: implied_ = Proto::udp; break;
            case 58: implied_ = Proto::icmpv6; break;
            default: implied_ = Proto::none;
        }
    }

    nftnl_expr* add(const char* name) {
        nftnl_expr* e = checked(nftnl_expr_alloc(name));
        nftnl_rule_add_expr(r_, e);  // the rule owns it from here
        estimate_ += 128;
        return e;
    }
    void data(nftnl_expr* e, uint16_t attr, const Bytes& b) {
        nftnl_expr_set(e, attr, b.data(), static_cast<uint32_t>(b.size()));
        estimate_ += b.size() + 16;
    }

    void load(const Selector& s, uint32_t len) {
        nftnl_expr* e;
        switch (s.kind) {
            case SelectorKind::meta:
                e = add("meta");
                nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, s.key);
                nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
                break;
            case SelectorKind::ct:
                e = add("ct");
                nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, s.key);
                nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
                break;
            case SelectorKind::payload:
                e = add("payload");
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, s.key);
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, s.offset);
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
                break;
        }
    }

    void cmp(uint32_t op, const Bytes& value) {
        nftnl_expr* e = add("cmp");
        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
        data(e, NFTNL_EXPR_CMP_DATA, value);
    }

    static uint32_t cmp_op(Op op) {
        switch (op) {
            case Op::eq: return NFT_CMP_EQ;
            case Op::neq: return NFT_CMP_NEQ;
            case Op::lt: return NFT_CMP_LT;
            case Op::lte: return NFT_CMP_LTE;
            case Op::gt: return NFT_CMP_GT;
            default: return NFT_CMP_GTE;
        }
    }

    // Bytes of a mask of the form ff..ff 00..00 (a byte-aligned prefix), or 0.
    static size_t prefix_bytes(const Bytes& mask) {
        size_t k = 0;
        while (k < mask.size() && mask[k] == 0xff) ++k;
        for (size_t i = k; i < mask.size(); ++i)
            if (mask[i] != 0) return 0;
        return k;
    }

    Result<void> match(const Match& m) {
        const Selector& s = m.sel;
        if (s.len == 0 || s.len > 64) return fail_invalid("selector of " + std::to_string(s.len) + " bytes");
        if (!m.mask.empty() && m.mask.size() != s.len) return fail_invalid("mask of another width than the selector");
        const bool set_op = m.op == Op::in_set || m.op == Op::not_in_set;
        if (!set_op && m.value.size() != s.len)
            return fail_invalid("value of " + std::to_string(m.value.size()) + " bytes for a " + std::to_string(s.len) + "-byte selector");
        if ((m.op == Op::range || m.op == Op::not_range) && m.value_hi.size() != s.len)
            return fail_invalid("range bound of another width than the selector");

        // nft's own form of a byte-aligned prefix: a shorter payload load, or a shorter compare of an interface name.
        if ((m.op == Op::eq || m.op == Op::neq) && !m.mask.empty() && (s.kind == SelectorKind::payload || string_meta(s))) {
            if (size_t k = prefix_bytes(m.mask); k > 0) {
                load(s, s.kind == SelectorKind::payload ? static_cast<uint32_t>(k) : s.len);
                cmp(cmp_op(m.op), Bytes(m.value.begin(), m.value.begin() + static_cast<std::ptrdiff_t>(k)));
                return {};
            }
        }

        bool interval = false;
        if (set_op && m.set.empty()) {
            interval = std::any_of(m.elements.begin(), m.elements.end(), [](const Interval& iv) { return !iv.hi.empty() && iv.hi != iv.lo; });
        } else if (set_op && host_order(s)) {
            auto q = query_(family_, table_, m.set);
            if (!q) return std::unexpected(q.error());
            interval = *q;
        }
        const bool ordered = m.op == Op::lt || m.op == Op::lte || m.op == Op::gt || m.op == Op::gte || m.op == Op::range || m.op == Op::not_range;
        const uint32_t swap = (ordered || interval) && host_order(s) ? s.len : 0;

        load(s, s.len);
        if (!m.mask.empty()) {
            nftnl_expr* e = add("bitwise");
            nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
            nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
            nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, s.len);
            data(e, NFTNL_EXPR_BITWISE_MASK, m.mask);
            data(e, NFTNL_EXPR_BITWISE_XOR, Bytes(s.len, 0));
        }
        if (swap) {
            nftnl_expr* e = add("byteorder");
            nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SREG, NFT_REG_1);
            nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_DREG, NFT_REG_1);
            nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
            nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_LEN, s.len);
            nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SIZE, s.len);
        }
        auto swapped = [&](const Bytes& b) {
            Bytes c = b;
            swap_chunks(c, swap);
            return c;
        };
        switch (m.op) {
            case Op::eq: case Op::neq: case Op::lt: case Op::lte: case Op::gt: case Op::gte:
                cmp(cmp_op(m.op), swapped(m.value));
                break;
            case Op::range:  // as nft writes it
                cmp(NFT_CMP_GTE, swapped(m.value));
                cmp(NFT_CMP_LTE, swapped(m.value_hi));
                break;
            case Op::not_range: {
                nftnl_expr* e = add("range");
                nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_SREG, NFT_REG_1);
                nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_OP, NFT_RANGE_NEQ);
                data(e, NFTNL_EXPR_RANGE_FROM_DATA, swapped(m.value));
                data(e, NFTNL_EXPR_RANGE_TO_DATA, swapped(m.value_hi));
                break;
            }
            case Op::in_set: case Op::not_in_set: {
                nftnl_expr* e = add("lookup");
                nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
                if (m.op == Op::not_in_set) nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
                if (!m.set.empty()) {
                    nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, m.set.c_str());
                    estimate_ += m.set.size();
                } else {
                    auto set = anonymous_set(m, interval, swap);
                    if (!set) return std::unexpected(set.error());
                    nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, "__set%d");
                    nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, *set);
                }
                break;
            }
        }
        return {};
    }

    // Elements as nft 1.0.6 writes them: interval sets get a start element per interval and an end element one past
    // its upper bound (none when that would overflow: the start is then flagged open), plus a leading end at 0.
    Result<uint32_t> anonymous_set(const Match& m, bool interval, uint32_t swap) {
        if (m.elements.empty()) return fail_invalid("an anonymous set without elements");
        AnonSet set;
        set.id = next_set_id_++;
        set.flags = NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | (interval ? NFT_SET_INTERVAL : 0);
        set.key_len = m.sel.len;
        const Field* f = field_for(m.sel, implied_);
        set.key_type = f ? datatype_of(f->type) : kTypeInteger;
        std::vector<Interval> ivs = m.elements;
        for (auto& iv : ivs) {
            if (iv.lo.size() != m.sel.len || (!iv.hi.empty() && iv.hi.size() != m.sel.len))
                return fail_invalid("set element of another width than the selector");
            swap_chunks(iv.lo, swap);
            swap_chunks(iv.hi, swap);
            if (iv.hi.empty()) iv.hi = iv.lo;
        }
        std::sort(ivs.begin(), ivs.end());
        if (!interval) {
            ivs.erase(std::unique(ivs.begin(), ivs.end()), ivs.end());
            for (auto& iv : ivs) set.elems.push_back({std::move(iv.lo), false, false});
        } else {
            // The kernel refuses overlapping intervals; nft merges overlapping and adjacent ones, and so do we.
            std::vector<Interval> merged;
            for (auto& iv : ivs) {
                if (iv.hi < iv.lo) return fail_invalid("set interval with its bounds reversed");
                if (!merged.empty()) {
                    Bytes after = merged.back().hi;
                    if (!increment(after) || key_compare(iv.lo, after) <= 0) {
                        if (key_compare(iv.hi, merged.back().hi) > 0) merged.back().hi = std::move(iv.hi);
                        continue;
                    }
                }
                merged.push_back(std::move(iv));
            }
            ivs = std::move(merged);
            if (!all_bytes(ivs.front().lo, 0)) set.elems.push_back({Bytes(m.sel.len, 0), true, false});
            for (auto& iv : ivs) {
                Bytes end = iv.hi;
                const bool open = !increment(end);
                set.elems.push_back({std::move(iv.lo), false, open});
                if (!open) set.elems.push_back({std::move(end), true, false});
            }
        }
        anon_.push_back(std::move(set));
        return anon_.back().id;
    }

    Result<void> statement(const Statement& s) {
        auto param = [&](std::string_view name) -> const std::string* {
            for (const auto& [k, v] : s.params)
                if (k == name) return &v;
            return nullptr;
        };
        auto number = [&](std::string_view name, uint64_t fallback) -> Result<uint64_t> {
            const std::string* v = param(name);
            return v ? parse_number(*v, name) : Result<uint64_t>(fallback);
        };
        auto known = [&](std::initializer_list<std::string_view> names, std::string_view what) -> Result<void> {
            for (const auto& [k, v] : s.params)
                if (std::find(names.begin(), names.end(), k) == names.end()) return fail_invalid(std::string(what) + ": unknown parameter " + k);
            return {};
        };
        switch (s.kind) {
            case Statement::Kind::counter:
                add("counter");
                return {};
            case Statement::Kind::notrack:
                add("notrack");
                return {};
            case Statement::Kind::log: {
                if (auto k = known({"prefix", "level", "group", "snaplen", "queue-threshold", "flags"}, "log"); !k) return k;
                nftnl_expr* e = add("log");
                if (const std::string* p = param("prefix")) {
                    nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, p->c_str());
                    estimate_ += p->size();
                }
                if (param("group")) {
                    auto g = number("group", 0);
                    auto snap = number("snaplen", 0);
                    auto qt = number("queue-threshold", 0);
                    if (!g || !snap || !qt) return fail_invalid("log: " + (!g ? g.error() : !snap ? snap.error() : qt.error()).message);
                    nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_GROUP, static_cast<uint16_t>(*g));
                    if (*snap) nftnl_expr_set_u32(e, NFTNL_EXPR_LOG_SNAPLEN, static_cast<uint32_t>(*snap));
                    if (*qt) nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_QTHRESHOLD, static_cast<uint16_t>(*qt));
                } else {
                    auto level = number("level", 4);
                    auto flags = number("flags", 0);
                    if (!level || !flags) return fail_invalid("log: " + (!level ? level.error() : flags.error()).message);
                    nftnl_expr_set_u32(e, NFTNL_EXPR_LOG_LEVEL, static_cast<uint32_t>(*level));
                    if (*flags) nftnl_expr_set_u32(e, NFTNL_EXPR_LOG_FLAGS, static_cast<uint32_t>(*flags));
                }
                return {};
            }
            case Statement::Kind::limit: {
                if (auto k = known({"rate", "unit", "burst", "type", "over"}, "limit"); !k) return k;
                auto rate = number("rate", 0);
                auto burst = number("burst", 0);
                if (!rate || !burst) return fail_invalid("limit: " + (!rate ? rate.error() : burst.error()).message);
                const std::string* unit = param("unit");
                uint64_t seconds = 1;
                if (unit) {
                    if (auto known = unit_seconds(*unit)) seconds = *known;
                    else if (auto n = parse_number(*unit, "limit unit")) seconds = *n;
                    else return std::unexpected(n.error());
                }
                const std::string* type = param("type");
                if (type && *type != "packets" && *type != "bytes") return fail_invalid("limit: type " + *type);
                const std::string* over = param("over");
                nftnl_expr* e = add("limit");
                nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_RATE, *rate);
                nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_UNIT, seconds);
                nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_BURST, static_cast<uint32_t>(*burst));
                nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_TYPE, type && *type == "bytes" ? NFT_LIMIT_PKT_BYTES : NFT_LIMIT_PKTS);
                nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_FLAGS, over && *over == "1" ? NFT_LIMIT_F_INV : 0);
                return {};
            }
            case Statement::Kind::reject: {
                if (auto k = known({"type", "code"}, "reject"); !k) return k;
                const std::string* type = param("type");
                // Without a type, what nft picks for a bare `reject` in the table's family.
                const std::string t = type ? *type : family_ == Family::ip ? "icmp" : family_ == Family::ip6 ? "icmpv6" : "icmpx";
                uint32_t kt;
                uint64_t code_default;
                if (t == "icmp") kt = NFT_REJECT_ICMP_UNREACH, code_default = 3;          // port unreachable
                else if (t == "icmpv6") kt = NFT_REJECT_ICMP_UNREACH, code_default = 4;   // port unreachable
                else if (t == "icmpx") kt = NFT_REJECT_ICMPX_UNREACH, code_default = NFT_REJECT_ICMPX_PORT_UNREACH;
                else if (t == "tcp-reset") kt = NFT_REJECT_TCP_RST, code_default = 0;
                else return fail_invalid("reject: type " + t);
                auto code = number("code", code_default);
                if (!code) return fail_invalid("reject: " + code.error().message);
                nftnl_expr* e = add("reject");
                nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, kt);
                nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, static_cast<uint8_t>(*code));
                return {};
            }
            case Statement::Kind::other: {
                std::string what;
                for (const auto& [k, v] : s.params) what += (what.empty() ? "" : " ") + v;
                return fail_invalid("a statement plumb does not model (" + what + ")");
            }
        }
        return {};
    }

    Result<void> verdict(const Verdict& v) {
        int32_t code;
        switch (v.kind) {
            case VerdictKind::none: return {};
            case VerdictKind::accept: code = NF_ACCEPT; break;
            case VerdictKind::drop: code = NF_DROP; break;
            case VerdictKind::queue: code = NF_QUEUE; break;
            case VerdictKind::continue_: code = NFT_CONTINUE; break;
            case VerdictKind::return_: code = NFT_RETURN; break;
            case VerdictKind::jump: code = NFT_JUMP; break;
            case VerdictKind::goto_: code = NFT_GOTO; break;
            default: return fail_invalid("unknown verdict");
        }
        if ((v.kind == VerdictKind::jump || v.kind == VerdictKind::goto_) && v.chain.empty())
            return fail_invalid(std::string(verdict_name(v.kind)) + " without a chain");
        nftnl_expr* e = add("immediate");
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, static_cast<uint32_t>(code));
        if (!v.chain.empty() && (v.kind == VerdictKind::jump || v.kind == VerdictKind::goto_)) {
            nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, v.chain.c_str());
            estimate_ += v.chain.size();
        }
        return {};
    }

    Family family_;
    const std::string& table_;
    nftnl_rule* r_;
    uint32_t& next_set_id_;
    const IntervalQuery& query_;
    std::vector<AnonSet> anon_;
    Proto implied_ = Proto::none;
    size_t estimate_ = 512;
};

// Room for a message's attributes: names are at most 256 bytes each, plus headers.
constexpr size_t kNameRoom = 1024;

Result<void> add_anon_set(Batch& batch, size_t change, Family family, const std::string& table, const AnonSet& a) {
    SetPtr s(checked(nftnl_set_alloc()));
    nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, table.c_str());
    nftnl_set_set_str(s.get(), NFTNL_SET_NAME, "__set%d");
    nftnl_set_set_u32(s.get(), NFTNL_SET_ID, a.id);
    nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, static_cast<uint32_t>(family));
    nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS, a.flags);
    nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, a.key_type);
    nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, a.key_len);
    nftnl_set_set_u32(s.get(), NFTNL_SET_DESC_SIZE, static_cast<uint32_t>(a.elems.size()));
    nlmsghdr* nlh = batch.start(NFT_MSG_NEWSET, family, NLM_F_CREATE, kNameRoom + 256, {change, Batch::Part::anon_set, false});
    nftnl_set_nlmsg_build_payload(nlh, s.get());
    batch.finish(nlh);

    // Elements in messages of at most ~48 KiB each.
    const size_t per_elem = 2 * a.key_len + 64;
    const size_t chunk = std::max<size_t>(1, 48 * 1024 / per_elem);
    for (size_t i = 0; i < a.elems.size(); i += chunk) {
        SetPtr es(checked(nftnl_set_alloc()));
        nftnl_set_set_str(es.get(), NFTNL_SET_TABLE, table.c_str());
        nftnl_set_set_str(es.get(), NFTNL_SET_NAME, "__set%d");
        nftnl_set_set_u32(es.get(), NFTNL_SET_ID, a.id);
        const size_t n = std::min(chunk, a.elems.size() - i);
        for (size_t j = i; j < i + n; ++j) {
            const auto& el = a.elems[j];
            nftnl_set_elem* e = checked(nftnl_set_elem_alloc());
            nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, el.key.data(), static_cast<uint32_t>(el.key.size()));
            if (el.end) nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
            if (el.open) {
                UdataPtr ud(checked(nftnl_udata_buf_alloc(16)));
                nftnl_udata_put_u32(ud.get(), NFTNL_UDATA_SET_ELEM_FLAGS, NFTNL_SET_ELEM_F_INTERVAL_OPEN);
                nftnl_set_elem_set(e, NFTNL_SET_ELEM_USERDATA, nftnl_udata_buf_data(ud.get()), nftnl_udata_buf_len(ud.get()));
            }
            nftnl_set_elem_add(es.get(), e);
        }
        nlmsghdr* m = batch.start(NFT_MSG_NEWSETELEM, family, NLM_F_CREATE, kNameRoom + n * per_elem, {change, Batch::Part::anon_elements, false});
        nftnl_set_elems_nlmsg_build_payload(m, es.get());
        batch.finish(m);
    }
    return {};
}

Result<void> add_change(Batch& batch, size_t index, const Change& c, uint32_t& next_set_id, const IntervalQuery& query) {
    const Batch::Msg msg{index, Batch::Part::change, false};
    if (c.table.empty() || c.table.size() > 255) return fail_invalid("no table name, or one longer than 255 bytes");
    switch (c.kind) {
        case Change::Kind::add_table:
        case Change::Kind::delete_table: {
            TablePtr t(checked(nftnl_table_alloc()));
            nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, c.table.c_str());
            const bool add = c.kind == Change::Kind::add_table;
            nlmsghdr* nlh = batch.start(add ? NFT_MSG_NEWTABLE : NFT_MSG_DELTABLE, c.family, add ? NLM_F_CREATE : 0, kNameRoom, msg);
            nftnl_table_nlmsg_build_payload(nlh, t.get());
            batch.finish(nlh);
            return {};
        }
        case Change::Kind::add_chain:
        case Change::Kind::set_policy:
        case Change::Kind::delete_chain: {
            const std::string& name = c.kind == Change::Kind::add_chain ? chain_name(c) : c.chain;
            if (name.empty() || name.size() > 255) return fail_invalid("no chain name, or one longer than 255 bytes");
            ChainPtr ch(checked(nftnl_chain_alloc()));
            nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_TABLE, c.table.c_str());
            nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_NAME, name.c_str());
            auto policy = [&](VerdictKind p) -> Result<void> {
                if (p != VerdictKind::accept && p != VerdictKind::drop) return fail_invalid("a chain policy must be accept or drop");
                nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_POLICY, p == VerdictKind::drop ? NF_DROP : NF_ACCEPT);
                return {};
            };
            uint16_t type = NFT_MSG_NEWCHAIN, flags = NLM_F_CREATE;
            if (c.kind == Change::Kind::add_chain && c.chain_def.hook) {
                const Hook& h = *c.chain_def.hook;
                auto num = hook_number(c.family, h.hook);
                if (!num) return fail_invalid("hook \"" + h.hook + "\" does not exist in family " + std::string(family_name(c.family)));
                nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_HOOKNUM, *num);
                nftnl_chain_set_s32(ch.get(), NFTNL_CHAIN_PRIO, h.priority);
                nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_TYPE, h.type.empty() ? "filter" : h.type.c_str());
                if (!h.device.empty()) nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_DEV, h.device.c_str());
                if (auto p = policy(c.chain_def.policy); !p) return p;
            } else if (c.kind == Change::Kind::set_policy) {
                if (auto p = policy(c.policy); !p) return p;
                flags = 0;  // only an existing chain's policy changes
            } else if (c.kind == Change::Kind::delete_chain) {
                type = NFT_MSG_DELCHAIN;
                flags = 0;
            }
            nlmsghdr* nlh = batch.start(type, c.family, flags, kNameRoom, msg);
            nftnl_chain_nlmsg_build_payload(nlh, ch.get());
            batch.finish(nlh);
            return {};
        }
        case Change::Kind::add_rule:
        case Change::Kind::insert_rule:
        case Change::Kind::delete_rule: {
            if (c.chain.empty() || c.chain.size() > 255) return fail_invalid("no chain name, or one longer than 255 bytes");
            RulePtr r(checked(nftnl_rule_alloc()));
            nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, c.table.c_str());
            nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, c.chain.c_str());
            if (c.kind == Change::Kind::delete_rule) {
                if (!c.handle) return fail_invalid("no rule handle");
                nftnl_rule_set_u64(r.get(), NFTNL_RULE_HANDLE, c.handle);
                nlmsghdr* nlh = batch.start(NFT_MSG_DELRULE, c.family, 0, kNameRoom, msg);
                nftnl_rule_nlmsg_build_payload(nlh, r.get());
                batch.finish(nlh);
                return {};
            }
            RuleEncoder enc(c.family, c.table, r.get(), next_set_id, query);
            if (auto e = enc.encode(c.rule); !e) return e;
            if (c.position) nftnl_rule_set_u64(r.get(), NFTNL_RULE_POSITION, c.position);
            // Anonymous sets must exist before the rule that looks them up.
            for (const auto& a : enc.anon_sets())
                if (auto s = add_anon_set(batch, index, c.family, c.table, a); !s) return s;
            const uint16_t flags = NLM_F_CREATE | NLM_F_ECHO | (c.kind == Change::Kind::add_rule ? NLM_F_APPEND : 0);
            nlmsghdr* nlh = batch.start(NFT_MSG_NEWRULE, c.family, flags, kNameRoom + enc.payload_estimate() + c.rule.comment.size(),
                                        {index, Batch::Part::change, true});
            nftnl_rule_nlmsg_build_payload(nlh, r.get());
            batch.finish(nlh);
            return {};
        }
    }
    return fail_invalid("unknown change");
}

// Asks the kernel whether a named set is an interval set (one NFT_MSG_GETSET).
Result<bool> named_set_is_interval(Socket& sock, Family family, const std::string& table, const std::string& name) {
    std::array<char, kRequestBuffer> buf{};
    SetPtr s(checked(nftnl_set_alloc()));
    nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, table.c_str());
    nftnl_set_set_str(s.get(), NFTNL_SET_NAME, name.c_str());
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETSET, static_cast<uint16_t>(family), NLM_F_ACK, sock.next_seq());
    nftnl_set_nlmsg_build_payload(nlh, s.get());
    std::optional<uint32_t> flags;
    auto r = sock.talk(nlh, "NFT_MSG_GETSET " + name, [&](const nlmsghdr* m) -> Result<void> {
        SetPtr got(checked(nftnl_set_alloc()));
        if (nftnl_set_nlmsg_parse(m, got.get()) >= 0) flags = nftnl_set_get_u32(got.get(), NFTNL_SET_FLAGS);
        return {};
    });
    if (!r) return fail(r.error().code, "set @" + name + " of table " + table + ": " + r.error().message);
    return flags && (*flags & NFT_SET_INTERVAL);
}

std::string nlerr_message(const nlmsghdr* nlh) {
    // With NETLINK_EXT_ACK the kernel may append NLMSGERR_ATTR_MSG after the (capped) original header.
    if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) return {};
    auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
    size_t off = sizeof(nlmsgerr);
    if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) off += e->msg.nlmsg_len - sizeof(nlmsghdr);
    if (NLMSG_HDRLEN + off >= nlh->nlmsg_len) return {};
    auto* p = reinterpret_cast<const char*>(e) + off;
    size_t left = nlh->nlmsg_len - NLMSG_HDRLEN - off;
    while (left >= sizeof(nlattr)) {
        auto* a = reinterpret_cast<const nlattr*>(p);
        if (a->nla_len < sizeof(nlattr) || a->nla_len > left) break;
        if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
            auto* s = reinterpret_cast<const char*>(a) + NLA_HDRLEN;
            return std::string(s, strnlen(s, a->nla_len - NLA_HDRLEN));
        }
        size_t step = NLA_ALIGN(a->nla_len);
        if (step >= left) break;
        p += step;
        left -= step;
    }
    return {};
}

}  // namespace

std::string describe(const Change& c) {
    std::string s = std::string(kind_name(c.kind)) + " " + std::string(family_name(c.family)) + " " + c.table;
    switch (c.kind) {
        case Change::Kind::add_table: case Change::Kind::delete_table: break;
        case Change::Kind::add_chain: s += " " + chain_name(c); break;
        case Change::Kind::set_policy: s += " " + c.chain + " " + std::string(verdict_name(c.policy)); break;
        case Change::Kind::delete_chain: s += " " + c.chain; break;
        case Change::Kind::add_rule:
        case Change::Kind::insert_rule:
            s += " " + c.chain;
            if (c.position) s += (c.kind == Change::Kind::add_rule ? " after handle " : " before handle ") + std::to_string(c.position);
            break;
        case Change::Kind::delete_rule: s += " " + c.chain + " handle " + std::to_string(c.handle); break;
    }
    return s;
}

namespace {

void set_generation(Ruleset& rs, uint32_t g) { rs.generation = g; }
void set_generation(ScopedRuleset& rs, uint32_t g) { rs.ruleset.generation = g; }

// Runs `read(reader)` on a fresh socket between two NFT_MSG_GETGEN, until both give the same generation.
template <class F>
auto consistent_read(F&& read) -> decltype(read(std::declval<Reader&>())) {
    auto failed = [](const Error& e) { return fail(e.code, "reading the nftables ruleset over netlink: " + e.message); };
    constexpr int kAttempts = 5;
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
        // A socket per attempt: a failed attempt may leave a dump unfinished on its socket.
        auto sock = Socket::open();
        if (!sock) return failed(sock.error());
        Reader reader(*sock);
        auto before = reader.generation();
        if (!before) return failed(before.error());
        auto rs = read(reader);
        auto after = reader.generation();
        if (!after) return failed(after.error());
        if (*after != *before) continue;  // the ruleset changed under the dumps (a vanished set fails its dump)
        if (!rs && rs.error().code == EINTR) continue;
        if (!rs) return failed(rs.error());
        set_generation(*rs, *before);
        return rs;
    }
    return fail(EAGAIN, "reading the nftables ruleset over netlink: it kept changing while it was read (" + std::to_string(kAttempts) + " attempts)");
}

}  // namespace

Result<Ruleset> read_ruleset() {
    return consistent_read([](Reader& reader) { return reader.read(); });
}

bool ScopedRuleset::rules_read(Family family, std::string_view table, std::string_view chain) const {
    return std::binary_search(chains_read.begin(), chains_read.end(), ChainRef{family, std::string(table), std::string(chain)});
}

Result<ScopedRuleset> read_ruleset(const ReadScope& scope) {
    return consistent_read([&](Reader& reader) -> Result<ScopedRuleset> {
        auto chains = reader.read_scoped(scope.hooks);
        if (!chains) return std::unexpected(chains.error());
        return ScopedRuleset{reader.take(), std::move(*chains)};
    });
}

Result<CommitResult> commit(const std::vector<Change>& changes, uint32_t expected_generation) {
    CommitResult result;
    if (changes.empty()) return result;
    auto sock = Socket::open();
    if (!sock) return std::unexpected(sock.error());

    std::map<std::tuple<Family, std::string, std::string>, bool> interval_cache;
    IntervalQuery query = [&](Family f, const std::string& table, const std::string& set) -> Result<bool> {
        auto key = std::tuple{f, table, set};
        if (auto it = interval_cache.find(key); it != interval_cache.end()) return it->second;
        auto r = named_set_is_interval(*sock, f, table, set);
        if (r) interval_cache.emplace(key, *r);
        return r;
    };

    Batch batch(sock->next_seq(), expected_generation);
    uint32_t next_set_id = 1;
    size_t rules = 0;
    std::vector<size_t> handle_slot(changes.size(), SIZE_MAX);
    for (size_t i = 0; i < changes.size(); ++i) {
        if (auto a = add_change(batch, i, changes[i], next_set_id, query); !a)
            return fail(a.error().code, "change " + std::to_string(i) + " (" + describe(changes[i]) + "): " + a.error().message);
        if (changes[i].kind == Change::Kind::add_rule || changes[i].kind == Change::Kind::insert_rule) handle_slot[i] = rules++;
    }
    batch.close();

    result.rule_handles.assign(rules, 0);
    sock->size_buffers(batch.size() + 64 * 1024, 256 * 1024 + batch.msgs().size() * 1024 + rules * 4096);
    if (auto s = sock->send(batch.data(), batch.size(), "nf_tables batch"); !s) {
        if (s.error().code == EMSGSIZE) return fail(EMSGSIZE, "the batch (" + std::to_string(batch.size()) + " bytes) is larger than the socket allows");
        return std::unexpected(s.error());
    }

    // The kernel processes the batch inside sendmsg, so every ack and echo is queued by now; the wait is a safeguard.
    const size_t expected = batch.msgs().size();
    size_t acked = 0;
    struct Refusal {
        size_t msg = SIZE_MAX;
        int err = 0;
        std::string ext;
    };
    Refusal first;
    int batch_err = 0;
    std::string batch_ext;
    while (acked < expected) {
        auto got = sock->receive(batch_err == 0, "nf_tables batch");
        if (!got) {
            if (got.error().code == ENOBUFS)
                return fail(ENOBUFS, "acknowledgements of the nf_tables batch were lost (receive buffer full); whether it was applied is unknown");
            return std::unexpected(got.error());
        }
        if (got->empty()) {
            if (batch_err) break;
            return fail(ETIMEDOUT, "the kernel acknowledged " + std::to_string(acked) + " of " + std::to_string(expected) +
                                       " messages of the batch");
        }
        int len = static_cast<int>(got->size());
        for (auto* nlh = reinterpret_cast<const nlmsghdr*>(got->data()); mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
            if (nlh->nlmsg_pid != sock->portid() && nlh->nlmsg_pid != 0) continue;
            size_t idx = 0;
            const Batch::Msg* msg = batch.msg(nlh->nlmsg_seq, &idx);
            if (nlh->nlmsg_type == NLMSG_ERROR) {
                if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nlmsgerr)) continue;
                const int err = -static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh))->error;
                if (!msg) {
                    if (err && (nlh->nlmsg_seq == batch.begin_seq() || nlh->nlmsg_seq == batch.end_seq())) {
                        batch_err = err;
                        batch_ext = nlerr_message(nlh);
                    }
                    continue;
                }
                ++acked;
                if (err && idx < first.msg) first = Refusal{idx, err, nlerr_message(nlh)};
            } else if (nlh->nlmsg_type == nft_type(NFT_MSG_NEWRULE) && msg && msg->rule) {
                RulePtr r(checked(nftnl_rule_alloc()));
                if (nftnl_rule_nlmsg_parse(nlh, r.get()) >= 0 && handle_slot[msg->change] != SIZE_MAX)
                    result.rule_handles[handle_slot[msg->change]] = nftnl_rule_get_u64(r.get(), NFTNL_RULE_HANDLE);
            }
        }
    }

    if (first.err) {
        const Batch::Msg& m = batch.msgs()[first.msg];
        const Change& c = changes[m.change];
        std::string what = "change " + std::to_string(m.change) + " (" + describe(c) + ")";
        if (m.part != Batch::Part::change) what += " (its anonymous set)";
        what += " was refused by the kernel, nothing was applied";
        if (!first.ext.empty()) what += " (" + first.ext + ")";
        return fail_errno(first.err, what);
    }
    if (batch_err) {
        std::string what = "the kernel refused the nf_tables batch as a whole, nothing was applied";
        if (!batch_ext.empty()) what += " (" + batch_ext + ")";
        return fail_errno(batch_err, what);
    }
    for (size_t i = 0; i < changes.size(); ++i)
        if (handle_slot[i] != SIZE_MAX && result.rule_handles[handle_slot[i]] == 0)
            return fail(EPROTO, "the batch was applied but the kernel did not echo the rule of change " + std::to_string(i) + " (" +
                                    describe(changes[i]) + ")");
    return result;
}

}  // namespace plumb::firewall::nft
