// Fault-injection harness for the transaction layer (built for tests only).
//   plumb_txn_harness setup ROOT        create the scenario's original state
//   plumb_txn_harness run ROOT N        prepare + apply + commit the scenario, SIGKILL at step N (0: never)
//   plumb_txn_harness recover ROOT N    Journal::recover, SIGKILL at step N (0: never)
// Without a kill it prints "steps <count>" (and "recovered <n>" for recover) and exits 0; on error it prints the
// error and exits 1.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "plumb/transaction.hpp"
#include "txn_scenario.hpp"

using namespace plumb;

namespace {

int steps = 0;

int fail(const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.message.c_str());
    return 1;
}


}  // namespace

int main(int argc, char** argv) {
    if (argc != 3 && argc != 4) {
        std::fprintf(stderr, "usage: %s setup|run|recover ROOT [KILL_AT_STEP]\n", argv[0]);
        return 2;
    }
    std::string mode = argv[1], root_path = argv[2];
    int kill_at = argc == 4 ? std::atoi(argv[3]) : 0;
    if (mode == "setup") {
        txn_test::create_original(root_path);
        return 0;
    }
    auto root = SafeRoot::open(root_path);
    if (!root) return fail(root.error());
    auto journal = remediation::Journal::open(*root);
    if (!journal) return fail(journal.error());
    remediation::set_step_hook([kill_at](int step) {
        steps = step;
        if (step == kill_at) raise(SIGKILL);
    });
    if (mode == "run") {
        auto id = journal->prepare(txn_test::changes(), {{"rules", {"harness"}}});
        if (!id) return fail(id.error());
        if (auto a = journal->apply(*id); !a) return fail(a.error());
        if (auto c = journal->commit(*id); !c) return fail(c.error());
    } else if (mode == "recover") {
        auto ids = journal->recover();
        if (!ids) return fail(ids.error());
        std::printf("recovered %zu\n", ids->size());
    } else {
        std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
        return 2;
    }
    std::printf("steps %d\n", steps);
    return 0;
}
